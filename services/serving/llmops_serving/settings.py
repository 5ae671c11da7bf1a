"""The serving service's settings: ``LLMOPS_SERVING_*``, falling back to the shared ``LLMOPS_*``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_common.settings import CallerSettings, local_endpoint, service_settings_config

DEFAULT_GRPC_PORT = 50056
DEFAULT_METRICS_PORT = 9106
DEFAULT_HTTP_PORT = 8000


class ServingSettings(CallerSettings):
    model_config = service_settings_config("serving")
    service_name: ClassVar[str] = "serving"

    grpc_port: int = Field(default=DEFAULT_GRPC_PORT, ge=0, le=65535)
    metrics_port: int = Field(default=DEFAULT_METRICS_PORT, ge=0, le=65535)
    # The OpenAI-compatible REST API.
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=DEFAULT_HTTP_PORT, ge=0, le=65535)
    # The services a replica reads releases and prompts from, with ``service_api_key``.
    registry_endpoint: str = Field(default_factory=lambda: local_endpoint("registry", 50055))
    prompts_endpoint: str = Field(default_factory=lambda: local_endpoint("prompts", 50052))
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # What this replica serves: the aliases of these registry models (empty: of every model), and
    # local folders served without the registry ({"name": "/path"} or {"name": {"path": "/p", "base": "b"}}
    # for an adapter on local base b).
    models: list[str] = []
    max_bases: int = Field(default=4, ge=1, le=64)  # base models loaded at once
    local_models: dict[str, str | dict[str, str]] = {}
    cache_dir: str = ""  # where downloaded artifacts go ("" = a temporary folder)
    device: str = Field(default="auto", pattern="^(auto|cpu|cuda(:[0-9]+)?)$")
    # The engine.
    max_batch: int = Field(default=64, ge=1, le=4096)
    max_adapters: int = Field(default=16, ge=1, le=1024)  # LoRA adapters held in memory per base (LRU)
    max_queue: int = Field(default=1024, ge=1)  # requests waiting for a batch slot; beyond it, 429
    # Request limits.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_tokens_limit: int = Field(default=4096, ge=1)  # the largest max_tokens a request may ask
    default_max_tokens: int = Field(default=256, ge=1)
    rate_limit_per_minute: int = Field(default=600, ge=0)  # requests per API key; 0 = no limit
    rate_limit_burst: int = Field(default=60, ge=1)
    # Hot reload: the smoke test's prompt and budget.
    smoke_prompt: str = "Hello"
    smoke_max_tokens: int = Field(default=4, ge=1, le=256)
    # Inference log: prompts and outputs are logged unless redacted; the buffer that holds events
    # while NATS is unreachable.
    log_redact_text: bool = False
    log_buffer_events: int = Field(default=100_000, ge=100)
    # The block list of the monitoring service at this gRPC endpoint ("" = none), polled this often:
    # blocked API keys and users get 403.
    monitoring_endpoint: str = ""
    blocklist_refresh_seconds: float = Field(default=5.0, gt=0, le=3600)
