"""Registered models, versions and evaluation results, and the rules that validate them."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from llmops_common.errors import InvalidArgument
from llmops_common.validation import check_request_id, check_text, fullmatch_name, parse_s3_uri, quote

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
TAG_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
MAX_TAG_VALUE = 5000
MAX_DESCRIPTION = 10_000


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
    """Metrics of one evaluation run. ``reported_at`` is when the submitter says the run completed
    (informational only); ``recorded_at`` is the registry's own clock when it stored the result, the
    order results are ranked in. Only ``trusted`` results, those from the evaluation service, count
    toward gates; ``attached_by`` says who attached the result."""

    evaluation_run_id: str
    metrics: dict[str, float]
    report_uri: str = ""
    reported_at: datetime | None = None
    attached_by: str = ""
    trusted: bool = False
    recorded_at: datetime | None = None


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
        check_text(self.description, "description", max_len=MAX_DESCRIPTION)
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
        parse_s3_uri(self.artifact_uri, "artifact_uri", require_key=True)
        if self.kind in (ModelKind.ADAPTER, ModelKind.MERGED) and not self.base_model_version:
            raise InvalidArgument(f"a {self.kind.value} version needs its base model version",
                                  field="base_model_version")
        if self.kind is ModelKind.BASE and self.base_model_version:
            raise InvalidArgument("a base model has no base model version", field="base_model_version")
        validate_tags(self.tags)
        check_request_id(self.request_id)


def validate_model_name(name: str, *, field_name: str = "name") -> None:
    fullmatch_name(MODEL_NAME, name, field_name, "model name",
                   "model names are 1-255 letters, digits, '.', '_' or '-', starting with a letter or digit")


def validate_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        fullmatch_name(TAG_KEY, key, "tags", "tag key", "1-128 letters, digits, '.', '_', '/' or '-'")
        check_text(value, f"tags[{quote(key)}]", max_len=MAX_TAG_VALUE)
