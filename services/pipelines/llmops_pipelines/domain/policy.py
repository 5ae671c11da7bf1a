"""A pipeline definition: the declarative lifecycle policy, read from YAML and validated.

    name: support-bot                # the pipeline
    model_name: support-bot-lora     # the registry model its training runs register under
    trigger:
      datasets: [support-tickets]    # a new version of any of these starts a run (trained on it)
      every: 24h                     # and on a schedule (s, m, h, d), on the newest version
      alerts: [drift]                # and on these monitoring alerts about the model's versions
    train:
      base_model: models:/tiny-base@latest
      prompt_version: support@production
      spec: {hyperparameters: {max_steps: 50, seed: 7}, distributed: {num_workers: 2}}
    evaluate:
      dataset: support-tickets       # name (its newest version) or name@version; default: the trained one
      metrics: [bleu, rouge_l]
      compare_with: [champion, base]
    promote:
      - {alias: staging, gates: [{metric: bleu_delta_base_ci_low, threshold: 0}]}
      - {alias: production, approvals: 1}
    retry: {max_attempts: 3, backoff_seconds: 30}

``train.spec`` and ``evaluate.spec`` are the other fields of the training service's ``TrainingSpec``
and the evaluation service's ``EvaluationSpec`` in their protobuf JSON form; the pipeline sets the
references itself. Anchors and aliases are refused (an alias bomb expands exponentially once the
definition is stored as JSON), and so are definitions nested deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from llmops_common.errors import InvalidArgument
from llmops_common.validation import check_data, quote

MAX_DEFINITION_BYTES = 64 * 1024
MAX_DEPTH = 16
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
ALIAS = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"
DATASET_REF = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,127})(?:@(?P<version>[A-Za-z0-9._-]{1,128}))?")
MODEL_REF = r"^models:/[A-Za-z0-9][A-Za-z0-9._-]{0,254}(?:/[1-9][0-9]{0,17}|@[A-Za-z0-9][A-Za-z0-9_-]{0,62})$"
PROMPT_REF = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}(?:@[A-Za-z0-9_-]{1,63}|/[1-9][0-9]{0,8})$"
ALERT_KINDS = ("drift", "abuse", "quality", "latency", "error_rate")
ROLES = ("champion", "base")
_DURATION = re.compile(r"(?P<n>[1-9][0-9]{0,6})(?P<unit>[smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Set by the pipeline, so a spec may not name them.
TRAIN_RESERVED = ("base_model", "dataset_version", "prompt_version", "output_model_name", "code_version")
EVALUATE_RESERVED = ("model_version", "dataset_version", "split", "metrics", "baselines", "training_run_id",
                     "max_samples", "prompt_version")

Seconds = Annotated[float, Field(gt=0, le=30 * 86400, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=1024)


class Trigger(_Strict):
    datasets: list[Annotated[str, Field(pattern=NAME)]] = Field(default=[], max_length=16)
    every: str = ""  # e.g. "6h"; "" for no schedule
    alerts: list[Literal["drift", "abuse", "quality", "latency", "error_rate"]] = Field(default=[], max_length=5)

    @field_validator("every")
    @classmethod
    def _duration(cls, value: str) -> str:
        if value and (_DURATION.fullmatch(value) is None or duration_seconds(value) < 60):
            raise ValueError("must be a duration of at least a minute: a number and s, m, h or d (e.g. 6h)")
        return value

    @property
    def every_seconds(self) -> int:
        return duration_seconds(self.every) if self.every else 0


class Train(_Strict):
    base_model: Annotated[str, Field(pattern=MODEL_REF)]
    dataset: Annotated[str, Field(pattern=NAME)] | Literal[""] = ""  # default: trigger.datasets[0]
    prompt_version: Annotated[str, Field(pattern=PROMPT_REF)] | Literal[""] = ""
    spec: dict[str, Any] = {}
    timeout_seconds: Seconds = 3600.0

    @field_validator("spec")
    @classmethod
    def _spec(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_spec(value, "TrainingSpec", TRAIN_RESERVED)


class Evaluate(_Strict):
    dataset: str = ""  # "name" (newest seen), "name@version", or "" (the trained version)
    split: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] = "test"
    metrics: list[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]] = Field(
        default=["bleu", "rouge_l"], min_length=1, max_length=32)
    compare_with: list[Literal["champion", "base"]] = Field(default=["champion", "base"], max_length=2)
    champion_alias: Annotated[str, Field(pattern=ALIAS)] = "production"
    max_samples: int = Field(default=0, ge=0, le=1_000_000)
    spec: dict[str, Any] = {}
    timeout_seconds: Seconds = 3600.0

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str) -> str:
        if value and DATASET_REF.fullmatch(value) is None:
            raise ValueError("must be a dataset name or name@version")
        return value

    @field_validator("spec")
    @classmethod
    def _spec(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_spec(value, "EvaluationSpec", EVALUATE_RESERVED)


class Gate(_Strict):
    metric: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
    threshold: float | None = None
    min_absolute_change: float | None = None
    min_relative_change: float | None = None
    greater_is_better: bool = True


class Promote(_Strict):
    alias: Annotated[str, Field(pattern=ALIAS)]
    gates: list[Gate] = Field(default=[], max_length=32)
    approvals: int = Field(default=0, ge=0, le=10)
    approver_role: Literal["approver", "admin"] = "approver"
    timeout_seconds: Seconds = 7 * 86400.0  # how long a promotion may wait for its approvals


class Retry(_Strict):
    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: float = Field(default=30.0, ge=0, le=86400)  # doubles each attempt


class PipelineDefinition(_Strict):
    name: Annotated[str, Field(pattern=NAME)]
    model_name: Annotated[str, Field(pattern=NAME)]
    description: str = ""
    trigger: Trigger = Trigger()
    train: Train
    evaluate: Evaluate = Evaluate()
    promote: list[Promote] = Field(default=[], max_length=8)
    retry: Retry = Retry()

    @model_validator(mode="after")
    def _consistent(self) -> PipelineDefinition:
        aliases = [p.alias for p in self.promote]
        if len(set(aliases)) != len(aliases):
            raise ValueError("promote: each alias at most once")
        if not (self.train.dataset or self.trigger.datasets) and (self.trigger.every or self.trigger.alerts):
            raise ValueError("a schedule or alert trigger needs a dataset: set train.dataset or trigger.datasets")
        return self

    @property
    def training_dataset(self) -> str:
        """The dataset whose newest version a run without a dataset of its own trains on ("" if none)."""
        return self.train.dataset or (self.trigger.datasets[0] if self.trigger.datasets else "")

    def steps(self, *, promote: bool = True) -> list[tuple[str, str]]:
        """(name, kind) of each step in order; a reproduction has no promote steps."""
        steps = [("train", "train"), ("evaluate", "evaluate")]
        if promote:
            steps += [(f"promote-{p.alias}", "promote") for p in self.promote]
        return steps

    def promotion(self, alias: str) -> Promote:
        return next(p for p in self.promote if p.alias == alias)

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.canonical(), sort_keys=True).encode()).hexdigest()


def duration_seconds(value: str) -> int:
    match = _DURATION.fullmatch(value)
    assert match is not None
    return int(match["n"]) * _UNIT_SECONDS[match["unit"]]


def parse_definition(text: str) -> PipelineDefinition:
    """The validated definition in ``text`` (YAML), or InvalidArgument naming the first bad field."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument("give the pipeline definition (YAML)", field="definition_yaml")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_DEFINITION_BYTES:
        raise InvalidArgument(f"is larger than {MAX_DEFINITION_BYTES // 1024} KiB", field="definition_yaml")
    if "\x00" in text:
        raise InvalidArgument("must not contain NUL characters", field="definition_yaml")
    data = _load_yaml(text)
    if not isinstance(data, dict):
        raise InvalidArgument("must be a YAML mapping (name, model_name, train, ...)", field="definition_yaml")
    check_data(data, "definition", max_depth=MAX_DEPTH, max_len=4096)
    return definition_from_dict(data)


def definition_from_dict(data: dict[str, Any]) -> PipelineDefinition:
    try:
        return PipelineDefinition.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InvalidArgument(err["msg"].removeprefix("Value error, "),
                              field=f"definition.{where}" if where else "definition") from None


def _load_yaml(text: str) -> Any:
    """safe_load, after one pass over the event stream that refuses aliases and deep nesting (the
    parser's recursion would otherwise meet Python's limit, and aliases multiply on serialisation)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise InvalidArgument("YAML anchors and aliases are not accepted", field="definition_yaml")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InvalidArgument(f"nests deeper than {MAX_DEPTH} levels", field="definition_yaml")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InvalidArgument(f"{problem}{where}", field="definition_yaml") from None


def _check_spec(value: dict[str, Any], message: str, reserved: tuple[str, ...]) -> dict[str, Any]:
    """``value`` when it parses as the rest of the service's spec message (protobuf JSON)."""
    from google.protobuf import json_format

    from llmops.evaluation.v1 import evaluation_pb2
    from llmops.training.v1 import training_pb2

    for key in reserved:
        if key in value:
            raise ValueError(f"{key} is set by the pipeline; leave it out of spec")
    target = {"TrainingSpec": training_pb2.TrainingSpec, "EvaluationSpec": evaluation_pb2.EvaluationSpec}[message]
    try:
        json_format.ParseDict(value, target())
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise ValueError(f"not a {message}: {quote(str(exc), 160)}") from None
    return value
