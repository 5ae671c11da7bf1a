"""The registry's settings: ``LLMOPS_REGISTRY_*``, falling back to the shared ``LLMOPS_*``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_common.settings import CommonSettings, service_settings_config

DEFAULT_GRPC_PORT = 50055
DEFAULT_METRICS_PORT = 9105


class RegistrySettings(CommonSettings):
    model_config = service_settings_config("registry")
    service_name: ClassVar[str] = "registry"

    grpc_port: int = Field(default=DEFAULT_GRPC_PORT, ge=0, le=65535)
    metrics_port: int = Field(default=DEFAULT_METRICS_PORT, ge=0, le=65535)
