"""The training service's settings: ``LLMOPS_TRAINING_*``, falling back to the shared ``LLMOPS_*``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_common.settings import CallerSettings, local_endpoint, platform_version, service_settings_config

DEFAULT_GRPC_PORT = 50053
DEFAULT_METRICS_PORT = 9103


class TrainingSettings(CallerSettings):
    model_config = service_settings_config("training")
    service_name: ClassVar[str] = "training"

    grpc_port: int = Field(default=DEFAULT_GRPC_PORT, ge=0, le=65535)
    metrics_port: int = Field(default=DEFAULT_METRICS_PORT, ge=0, le=65535)
    # The services whose references a run names (HOST:PORT), and the key the service calls them with
    # (default: the bootstrap admin key).
    registry_endpoint: str = Field(default_factory=lambda: local_endpoint("registry", 50055))
    ingestion_endpoint: str = Field(default_factory=lambda: local_endpoint("ingestion", 50051))
    prompts_endpoint: str = Field(default_factory=lambda: local_endpoint("prompts", 50052))
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Ray: how long to wait for the cluster per attempt, and how long a run waits QUEUED for an
    # unreachable cluster before it fails.
    ray_connect_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    queue_timeout_seconds: float = Field(default=600.0, gt=0)
    # The tracker: how often it polls active jobs, and how many runs it follows per pass.
    poll_interval_seconds: float = Field(default=2.0, gt=0, le=600)
    max_active_runs: int = Field(default=500, ge=1, le=100_000)
    # llmops.training.run.progress events at most this often per run (every point is still stored).
    progress_event_interval_seconds: float = Field(default=5.0, ge=0)
    # How often jobs report progress to the service's log (seconds).
    job_progress_interval_seconds: float = Field(default=1.0, gt=0)
    # StreamProgress: how often a follower looks for new points when not woken.
    stream_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    # Cost estimates of sweep trials.
    price_per_cpu_hour: float = Field(default=0.05, ge=0, allow_inf_nan=False)
    price_per_gpu_hour: float = Field(default=3.0, ge=0, allow_inf_nan=False)
    # Passed to every job: worker-group restarts from the last checkpoint, and the loss above which
    # (or not finite) a run stops and fails.
    max_failures: int = Field(default=2, ge=0, le=100)
    loss_limit: float = Field(default=1e4, gt=0, allow_inf_nan=False)
    # The code version recorded in a registered model's lineage when the run's spec names none.
    code_version: str = Field(default_factory=platform_version, max_length=200)
    # Where outputs and Ray Train checkpoints go (prefixes in the models and artifacts buckets).
    output_prefix: str = "training"
