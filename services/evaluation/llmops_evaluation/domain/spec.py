"""What an evaluation run is asked to do, validated: the candidate, its baselines, the data, the prompt,
the metrics, generation parameters, an optional judge, and the statistics' settings."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote

MODEL_REF = re.compile(r"models:/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,254})"
                       r"(?:/(?P<version>[1-9][0-9]{0,17})|@(?P<alias>[A-Za-z0-9][A-Za-z0-9_-]{0,62}))")
DATASET_REF = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,127})@(?P<version>[A-Za-z0-9._-]{1,128})")
PROMPT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}(?:@[A-Za-z0-9_-]{1,63}|/[1-9][0-9]{0,8})")
ROLE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
SERVED_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}(?:@[A-Za-z0-9_-]{1,63}|/[1-9][0-9]{0,17})?")
SPLIT = re.compile(r"[a-z][a-z0-9_-]{0,31}")
METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
MODEL_FORM = "models:/<name>/<version> or models:/<name>@<alias>"
MAX_BASELINES = 8
MAX_METRICS = 32
MAX_STOP = 4
MAX_STOP_CHARS = 64
MAX_TOKENS = 4096
MAX_SAMPLES = 1_000_000
MAX_BOOTSTRAP = 100_000


@dataclass(frozen=True)
class Baseline:
    role: str
    model_version: str


@dataclass(frozen=True)
class JudgeSpec:
    model: str  # a served model name (serving's name@alias or name/3)
    prompt_version: str
    min_score: float = 1.0
    max_score: float = 5.0


@dataclass(frozen=True)
class GenerationParams:
    """Recorded with every run; greedy by default, so a rerun generates the same text."""

    max_tokens: int = 128
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    stop: tuple[str, ...] = ()

    def validate(self, field: str = "spec.sampling_parameters") -> None:
        if not 1 <= self.max_tokens <= MAX_TOKENS:
            raise InvalidArgument(f"max_tokens must be 1..{MAX_TOKENS}", field=f"{field}.max_tokens")
        for name, value, low, high in (("temperature", self.temperature, 0.0, 2.0), ("top_p", self.top_p, 0.0, 1.0)):
            if not (math.isfinite(value) and low <= value <= high) or (name == "top_p" and value == 0.0):
                raise InvalidArgument(f"{name} must be a number in ({low:g}, {high:g}]" if name == "top_p"
                                      else f"{name} must be a number in [{low:g}, {high:g}]", field=f"{field}.{name}")
        if not 0 <= self.top_k <= 1000:
            raise InvalidArgument("top_k must be 0..1000", field=f"{field}.top_k")
        if not 0 <= self.seed < 2**63:
            raise InvalidArgument("seed must be 0..2^63-1", field=f"{field}.seed")
        if len(self.stop) > MAX_STOP or any(not s or len(s) > MAX_STOP_CHARS or "\x00" in s for s in self.stop):
            raise InvalidArgument(f"at most {MAX_STOP} stop strings of 1..{MAX_STOP_CHARS} characters, no NUL",
                                  field=f"{field}.stop")

    def as_dict(self) -> dict[str, object]:
        return {"max_tokens": self.max_tokens, "temperature": self.temperature, "top_p": self.top_p,
                "top_k": self.top_k, "seed": self.seed, "stop": list(self.stop)}


@dataclass(frozen=True)
class EvaluationSpec:
    model_version: str
    dataset_version: str
    split: str = "test"
    prompt_version: str = ""
    metrics: tuple[str, ...] = ()  # empty: the default set
    max_samples: int = 0  # 0: all
    sampling: GenerationParams = field(default_factory=GenerationParams)
    training_run_id: str = ""
    baselines: tuple[Baseline, ...] = ()
    judge: JudgeSpec | None = None
    confidence: float = 0.95
    bootstrap_samples: int = 1000

    def validate(self) -> None:
        """Shape only; whether the references exist is the resolver's question (FAILED_PRECONDITION)."""
        _match(MODEL_REF, self.model_version, "spec.model_version", MODEL_FORM)
        _match(DATASET_REF, self.dataset_version, "spec.dataset_version", "<dataset>@<version>")
        _match(SPLIT, self.split, "spec.split", "a split name such as test")
        if self.prompt_version:
            _match(PROMPT_REF, self.prompt_version, "spec.prompt_version", "<prompt>/<version> or <prompt>@<label>")
        if len(self.metrics) > MAX_METRICS or len(set(self.metrics)) != len(self.metrics):
            raise InvalidArgument(f"at most {MAX_METRICS} metrics, each named once", field="spec.metrics")
        for index, name in enumerate(self.metrics):
            _match(METRIC_NAME, name, f"spec.metrics[{index}].name", "a metric name")
        if not 0 <= self.max_samples <= MAX_SAMPLES:
            raise InvalidArgument(f"max_samples must be 0..{MAX_SAMPLES:,}", field="spec.max_samples")
        self.sampling.validate()
        if len(self.baselines) > MAX_BASELINES:
            raise InvalidArgument(f"at most {MAX_BASELINES} baselines", field="spec.baselines")
        roles = set()
        for index, baseline in enumerate(self.baselines):
            _match(ROLE, baseline.role, f"spec.baselines[{index}].role", "a lowercase role name such as champion")
            _match(MODEL_REF, baseline.model_version, f"spec.baselines[{index}].model_version", MODEL_FORM)
            if baseline.role in roles or baseline.role == "candidate":
                raise InvalidArgument(f"role {quote(baseline.role)} is taken", field=f"spec.baselines[{index}].role")
            roles.add(baseline.role)
        if self.judge is not None:
            _match(SERVED_MODEL, self.judge.model, "spec.judge.model", "a served model name such as judge@production")
            _match(PROMPT_REF, self.judge.prompt_version, "spec.judge.prompt_version",
                   "<prompt>/<version> or <prompt>@<label>")
            low, high = self.judge.min_score, self.judge.max_score
            if not (math.isfinite(low) and math.isfinite(high) and low < high and abs(low) <= 1e6 and abs(high) <= 1e6):
                raise InvalidArgument("the judge's score range needs finite min_score < max_score",
                                      field="spec.judge.max_score")
        if not (math.isfinite(self.confidence) and 0.5 < self.confidence < 1.0):
            raise InvalidArgument("confidence must be in (0.5, 1)", field="spec.confidence")
        if not 100 <= self.bootstrap_samples <= MAX_BOOTSTRAP:
            raise InvalidArgument(f"bootstrap_samples must be 100..{MAX_BOOTSTRAP:,}", field="spec.bootstrap_samples")


def _match(pattern: re.Pattern[str], value: str, field: str, expected: str) -> None:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise InvalidArgument(f"{quote(value, 80)} is not {expected}", field=field)
