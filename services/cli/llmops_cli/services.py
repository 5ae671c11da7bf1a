"""The services ``llmops up`` runs: each its own process, started from its entry module."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmops_common.settings import CommonSettings

if TYPE_CHECKING:  # psycopg is not imported by commands that do not migrate
    from llmops_common.db import Migration


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str  # runs with ``python -m``
    settings: str  # "module:Class"
    bootstrap: str  # module holding ``migrations()`` (light: the migrate job's image has no service extras)
    http: bool = False  # also serves a REST API on its settings' ``http_port``

    def settings_class(self) -> type[CommonSettings]:
        module, cls = self.settings.split(":")
        return getattr(importlib.import_module(module), cls)

    def migrations(self) -> list[Migration]:
        return importlib.import_module(self.bootstrap).migrations()

    def grpc_port(self) -> int:
        """The port the service listens on, as its settings read it from the environment."""
        return self.settings_class()().grpc_port

    def default_grpc_port(self) -> int:
        """The port its settings class defaults to (no environment read)."""
        return self.settings_class().model_fields["grpc_port"].default

    def http_port(self) -> int | None:
        """The REST port as its settings read it from the environment; None for a gRPC-only service."""
        return self.settings_class()().http_port if self.http else None

    def default_http_port(self) -> int | None:
        """The REST port its settings class defaults to (no environment read); None for a gRPC-only service."""
        return self.settings_class().model_fields["http_port"].default if self.http else None


def rest_url(port: int) -> str:
    """The base URL of a local service's REST API (serving's is OpenAI-compatible; monitoring's takes
    ``POST /v1/feedback``)."""
    return f"http://127.0.0.1:{port}/v1"


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec("ingestion", "llmops_ingestion.main", "llmops_ingestion.settings:IngestionSettings",
                    "llmops_ingestion.schema"),
        ServiceSpec("prompts", "llmops_prompts.main", "llmops_prompts.settings:PromptsSettings",
                    "llmops_prompts.bootstrap"),
        ServiceSpec("registry", "llmops_registry.main", "llmops_registry.settings:RegistrySettings",
                    "llmops_registry.bootstrap"),
        ServiceSpec("training", "llmops_training.main", "llmops_training.settings:TrainingSettings",
                    "llmops_training.bootstrap"),
        ServiceSpec("serving", "llmops_serving.main", "llmops_serving.settings:ServingSettings",
                    "llmops_serving.schema", http=True),
        ServiceSpec("evaluation", "llmops_evaluation.main", "llmops_evaluation.settings:EvaluationSettings",
                    "llmops_evaluation.schema"),
        ServiceSpec("monitoring", "llmops_monitoring.main", "llmops_monitoring.settings:MonitoringSettings",
                    "llmops_monitoring.schema", http=True),
        ServiceSpec("pipelines", "llmops_pipelines.main", "llmops_pipelines.settings:PipelinesSettings",
                    "llmops_pipelines.schema"),
    )
}
