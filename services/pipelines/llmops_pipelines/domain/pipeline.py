"""A stored pipeline: one version of a definition, as applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from llmops_pipelines.domain.policy import PipelineDefinition


@dataclass(frozen=True)
class StoredPipeline:
    definition: PipelineDefinition
    version: int = 0  # assigned by the store: the next one for the name
    definition_yaml: str = ""
    digest: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    next_scheduled_at: datetime | None = None  # when the schedule fires next (None without one)

    @property
    def name(self) -> str:
        return self.definition.name
