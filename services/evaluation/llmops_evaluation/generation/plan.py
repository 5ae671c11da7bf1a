"""What one generation shard is asked to do: plain, validated data that crosses the Ray boundary as JSON
(nothing pickled from the service). Importable without Ray or torch."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from llmops_common.storage_access import StorageAccess


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ModelArtifacts(_Frozen):
    """One model under evaluation: a base or merged model is one folder; an adapter names its base's
    folder too. Every folder comes with the sha256 the registry recorded for it."""

    role: str = Field(min_length=1, max_length=32)
    model_uri: str
    kind: Literal["base", "adapter", "merged"]
    artifact_uri: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    base_artifact_uri: str = ""
    base_sha256: str = Field(default="", pattern=r"^(|[0-9a-f]{64})$")

    @model_validator(mode="after")
    def _base_only_for_adapters(self) -> ModelArtifacts:
        if self.kind == "adapter" and not (self.base_artifact_uri and self.base_sha256):
            raise ValueError("an adapter needs its base's artifact_uri and sha256")
        if self.kind != "adapter" and (self.base_artifact_uri or self.base_sha256):
            raise ValueError(f"a {self.kind} model has no separate base")
        return self

    @property
    def base_folder(self) -> tuple[str, str]:
        """(uri, sha256) of the folder the engine loads as its base."""
        if self.kind == "adapter":
            return self.base_artifact_uri, self.base_sha256
        return self.artifact_uri, self.sha256


class ShardPlan(_Frozen):
    """``examples``: (record_id, prompt, reference), in order; ``params``: ``GenerationParams.as_dict()``."""

    shard: int = Field(ge=0)
    examples: tuple[tuple[str, str, str], ...]
    models: tuple[ModelArtifacts, ...] = Field(min_length=1)
    params: dict[str, Any]
    perplexity: bool
    storage: StorageAccess
    cache_dir: str
    max_batch: int = Field(default=64, ge=1, le=4096)

    @model_validator(mode="after")
    def _roles_unique(self) -> ShardPlan:
        roles = [m.role for m in self.models]
        if len(set(roles)) != len(roles):
            raise ValueError("each model's role is named once")
        return self
