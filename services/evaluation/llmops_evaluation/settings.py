"""The evaluation service's settings: ``LLMOPS_EVALUATION_*``, falling back to the shared ``LLMOPS_*``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_common.settings import CallerSettings, local_endpoint, service_settings_config

DEFAULT_GRPC_PORT = 50054
DEFAULT_METRICS_PORT = 9104


class EvaluationSettings(CallerSettings):
    model_config = service_settings_config("evaluation")
    service_name: ClassVar[str] = "evaluation"

    grpc_port: int = Field(default=DEFAULT_GRPC_PORT, ge=0, le=65535)
    metrics_port: int = Field(default=DEFAULT_METRICS_PORT, ge=0, le=65535)
    # The services a run's references name (HOST:PORT), called with ``service_api_key``; judges are
    # served models, asked through serving's OpenAI-compatible REST API.
    registry_endpoint: str = Field(default_factory=lambda: local_endpoint("registry", 50055))
    ingestion_endpoint: str = Field(default_factory=lambda: local_endpoint("ingestion", 50051))
    prompts_endpoint: str = Field(default_factory=lambda: local_endpoint("prompts", 50052))
    serving_url: str = "http://127.0.0.1:8000/v1"
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Generation: one Ray task per shard of this many examples, each reserving this many CPUs.
    ray_connect_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    shard_size: int = Field(default=256, ge=1, le=100_000)
    task_cpus: float = Field(default=1.0, gt=0, le=512)
    max_batch: int = Field(default=64, ge=1, le=4096)
    cache_dir: str = ""  # where a Ray task keeps downloaded models ("" = the system's temp folder)
    # What a run may read: examples in the split, and bytes of its Parquet shards.
    max_examples: int = Field(default=100_000, ge=1)
    max_shard_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    # Runs: how many at once per replica, the lease a worker renews while running one, attempts
    # before a run whose worker keeps dying (or whose dependencies stay unreachable) fails.
    concurrent_runs: int = Field(default=1, ge=1, le=64)
    lease_seconds: float = Field(default=120.0, ge=5, le=3600)
    max_attempts: int = Field(default=3, ge=1, le=20)
    retry_backoff_seconds: float = Field(default=30.0, ge=0, le=86_400)  # after an outage; doubles each attempt
    poll_interval_seconds: float = Field(default=2.0, gt=0, le=600)
    # Statistics: resamples per interval, and the seed that makes intervals reproducible.
    bootstrap_samples: int = Field(default=1000, ge=100, le=100_000)
    statistics_seed: int = Field(default=12345, ge=0)
    # Cost per 1k tokens is derived from this price of the compute one generation task holds.
    price_per_hour: float = Field(default=0.05, ge=0, allow_inf_nan=False)
    # On llmops.training.run.completed: evaluate against the version holding this alias (the
    # champion) and against the base; empty disables the trigger.
    champion_alias: str = Field(default="production", pattern=r"^([A-Za-z0-9][A-Za-z0-9_-]{0,62})?$")
    trigger_split: str = "test"
    trigger_max_samples: int = Field(default=0, ge=0)
    trigger_max_tokens: int = Field(default=128, ge=1, le=4096)
    # Reports: where they go (a prefix in the artifacts bucket), how many samples GetReport returns.
    report_prefix: str = "evaluation"
    default_sample_limit: int = Field(default=20, ge=0, le=10_000)
