"""The pipelines service's settings: ``LLMOPS_PIPELINES_*``, falling back to the shared ``LLMOPS_*``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_common.settings import CallerSettings, local_endpoint, platform_version, service_settings_config

DEFAULT_GRPC_PORT = 50058
DEFAULT_METRICS_PORT = 9108


class PipelinesSettings(CallerSettings):
    model_config = service_settings_config("pipelines")
    service_name: ClassVar[str] = "pipelines"

    grpc_port: int = Field(default=DEFAULT_GRPC_PORT, ge=0, le=65535)
    metrics_port: int = Field(default=DEFAULT_METRICS_PORT, ge=0, le=65535)
    # The registry (HOST:PORT): policies, champions and promotions, called with ``service_api_key``.
    registry_endpoint: str = Field(default_factory=lambda: local_endpoint("registry", 50055))
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # The driver: how often it looks for due runs and schedules when nothing woke it, and how often a
    # promotion waiting for approvals is looked at again in the registry.
    poll_interval_seconds: float = Field(default=2.0, gt=0, le=600)
    promotion_recheck_seconds: float = Field(default=60.0, gt=0, le=86_400)
    # Recorded on every run and passed to training as the code version; reproductions compare it.
    code_version: str = Field(default_factory=platform_version, max_length=200)
