"""The prompt store's settings: ``LLMOPS_PROMPTS_*``, falling back to the shared ``LLMOPS_*``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from llmops_common.settings import CommonSettings, service_settings_config

DEFAULT_GRPC_PORT = 50052
DEFAULT_METRICS_PORT = 9102


class PromptsSettings(CommonSettings):
    model_config = service_settings_config("prompts")
    service_name: ClassVar[str] = "prompts"

    grpc_port: int = Field(default=DEFAULT_GRPC_PORT, ge=0, le=65535)
    metrics_port: int = Field(default=DEFAULT_METRICS_PORT, ge=0, le=65535)
    # The label policy: moving or deleting these labels needs the approver role, and is audited.
    protected_labels: list[str] = ["production"]
    # RenderPrompt renders in worker processes: how many at once, each one's address-space limit, and
    # the deadline after which a render's worker is killed and replaced.
    render_workers: int = Field(default=2, ge=1, le=64)
    render_memory_mb: int = Field(default=512, ge=128)
    render_timeout_seconds: float = Field(default=5.0, gt=0)
