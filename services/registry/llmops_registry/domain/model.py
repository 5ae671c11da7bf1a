"""Registered models, versions and evaluation results, and the rules that validate them."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from llmops_common.errors import InvalidArgument

MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
TAG_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
MAX_TAG_VALUE = 5000


class ModelKind(enum.StrEnum):
    BASE = "base"
    ADAPTER = "adapter"
    MERGED = "merged"


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    latest_version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Lineage:
    dataset_versions: tuple[str, ...] = ()
    prompt_version: str = ""
    training_run_id: str = ""
    code_version: str = ""
    config_hash: str = ""


@dataclass(frozen=True)
class EvaluationResult:
    evaluation_run_id: str
    metrics: dict[str, float]
    report_uri: str
    completed_at: datetime


@dataclass(frozen=True)
class ModelVersion:
    model_name: str
    version: int
    artifact_uri: str
    kind: ModelKind
    base_model_version: str
    format: str
    size_bytes: int
    sha256: str
    tags: dict[str, str]
    lineage: Lineage
    created_by: str
    request_id: str = ""
    created_at: datetime | None = None
    evaluations: tuple[EvaluationResult, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"


# -- commands ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterModel:
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        validate_model_name(self.name)
        validate_tags(self.tags)


@dataclass(frozen=True)
class CreateModelVersion:
    model_name: str
    artifact_uri: str
    kind: ModelKind
    base_model_version: str = ""
    format: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    lineage: Lineage = Lineage()
    request_id: str = ""

    def validate(self) -> None:
        validate_model_name(self.model_name, field_name="model_name")
        if not self.artifact_uri.startswith("s3://"):
            raise InvalidArgument("must be an s3:// URI", field="artifact_uri")
        if self.kind in (ModelKind.ADAPTER, ModelKind.MERGED) and not self.base_model_version:
            raise InvalidArgument(f"a {self.kind.value} version needs its base model version", field="base_model_version")
        if self.kind is ModelKind.BASE and self.base_model_version:
            raise InvalidArgument("a base model has no base model version", field="base_model_version")
        validate_tags(self.tags)
        if len(self.request_id) > 200:
            raise InvalidArgument("at most 200 characters", field="request_id")


def validate_model_name(name: str, *, field_name: str = "name") -> None:
    if not MODEL_NAME.match(name or ""):
        raise InvalidArgument(
            "model names are 1-255 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field=field_name,
        )


def validate_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if not TAG_KEY.match(key):
            raise InvalidArgument(f"invalid tag key {key!r}", field="tags")
        if len(value) > MAX_TAG_VALUE:
            raise InvalidArgument(f"tag {key!r} is longer than {MAX_TAG_VALUE} characters", field="tags")
