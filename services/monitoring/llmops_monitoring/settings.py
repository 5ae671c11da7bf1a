"""The monitoring service's settings: ``LLMOPS_MONITORING_*``, falling back to the shared ``LLMOPS_*``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_common.settings import CallerSettings, local_endpoint, service_settings_config

DEFAULT_GRPC_PORT = 50057
DEFAULT_METRICS_PORT = 9107
DEFAULT_HTTP_PORT = 8001


class MonitoringSettings(CallerSettings):
    model_config = service_settings_config("monitoring")
    service_name: ClassVar[str] = "monitoring"

    grpc_port: int = Field(default=DEFAULT_GRPC_PORT, ge=0, le=65535)
    metrics_port: int = Field(default=DEFAULT_METRICS_PORT, ge=0, le=65535)
    # REST: POST /v1/feedback.
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=DEFAULT_HTTP_PORT, ge=0, le=65535)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # Curation reads a model version's training data through the registry's lineage and ingestion.
    registry_endpoint: str = Field(default_factory=lambda: local_endpoint("registry", 50055))
    ingestion_endpoint: str = Field(default_factory=lambda: local_endpoint("ingestion", 50051))
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Feedback per API key: a token bucket (a flood from one key is 429 / RESOURCE_EXHAUSTED).
    feedback_per_minute: int = Field(default=120, ge=1)
    feedback_burst: int = Field(default=30, ge=1)
    # The inference log: days kept (older days' partitions are dropped), and the injection detector
    # (embedding similarity needs the MiniLM model; without it only the patterns score).
    retention_days: int = Field(default=30, ge=1, le=3650)
    embeddings: bool = True
    # Detectors run every ``detect_interval_seconds`` over the last ``window_minutes`` (drift against
    # the ``reference_window_minutes`` before it).
    detect_interval_seconds: float = Field(default=30.0, gt=0, le=86_400)
    window_minutes: float = Field(default=60.0, gt=0, le=10_080)
    reference_window_minutes: float = Field(default=1440.0, gt=0, le=100_800)
    min_window: int = Field(default=30, ge=5, le=100_000)  # inferences a drift test needs on each side
    # Malicious users: injection score counted as an attack, attacks and share of a subject's requests
    # that make it malicious, and a request spike against the window's median subject.
    injection_threshold: float = Field(default=0.5, gt=0, le=1)
    min_attacks: int = Field(default=3, ge=1)
    attack_share: float = Field(default=0.3, gt=0, le=1)
    spike_factor: float = Field(default=20.0, gt=1)
    # The block list serving enforces (403) for keys and users of malicious-user alerts, until resolved.
    enforce_blocklist: bool = False
    # Alert sinks: the log always; a webhook (HMAC-SHA256 signed with the secret) when a URL is set.
    webhook_url: str = ""
    webhook_secret: str = ""
    # Curated feedback: where exports go (a prefix in the artifacts bucket).
    export_prefix: str = "monitoring/exports"
    report_prefix: str = "monitoring/reports"
