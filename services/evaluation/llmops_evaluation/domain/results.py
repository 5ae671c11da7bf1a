"""What an evaluation produces, stage by stage: the examples, each model's generations, metric values
with intervals, and the candidate's paired comparisons with each baseline. Plain data, no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

CANDIDATE = "candidate"

Verdict = Literal["better", "worse", "no change"]


@dataclass(frozen=True)
class Example:
    """One test record, rendered: the model's input and the reference answer."""

    record_id: str
    prompt: str
    reference: str


@dataclass(frozen=True)
class Generation:
    """One model's output for one example. ``error`` is non-empty when generation failed; the example
    is then scored with an empty output (counted, never dropped). ``reference_nll`` is the summed
    negative log-likelihood of the reference's ``reference_tokens`` given the prompt (None when not
    computed)."""

    record_id: str
    output: str = ""
    error: str = ""
    prompt_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    finish_reason: str = ""
    reference_nll: float | None = None
    reference_tokens: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.error)


@dataclass(frozen=True)
class ModelOutputs:
    """Every generation of one model, aligned with the examples, and the wall time generation took."""

    role: str
    model_uri: str  # models:/name/N
    generations: tuple[Generation, ...]
    wall_seconds: float = 0.0

    @property
    def failures(self) -> int:
        return sum(g.failed for g in self.generations)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float = 0.95

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class MetricValue:
    """One model's aggregate of one metric, with a bootstrap interval (None where one means nothing,
    e.g. a count)."""

    name: str
    value: float
    interval: Interval | None
    count: int
    greater_is_better: bool = True
    signature: str = ""  # e.g. sacrebleu's signature string


@dataclass(frozen=True)
class Comparison:
    """The candidate minus one baseline on one metric, paired on the same examples. ``verdict`` is "no
    change" when the interval of the difference holds 0, else "better" or "worse" in the metric's
    own direction."""

    metric: str
    baseline_role: str
    delta: float
    interval: Interval
    p_value: float
    test: Literal["paired_bootstrap", "approximate_randomization"]
    verdict: Verdict


def verdict(delta_interval: Interval, greater_is_better: bool) -> Verdict:
    if delta_interval.holds(0.0) or math.isnan(delta_interval.low) or math.isnan(delta_interval.high):
        return "no change"
    improved = delta_interval.low > 0 if greater_is_better else delta_interval.high < 0
    return "better" if improved else "worse"


@dataclass(frozen=True)
class ModelResult:
    """One model's metric values, by name."""

    role: str
    model_uri: str
    metrics: dict[str, MetricValue] = field(default_factory=dict)


@dataclass(frozen=True)
class JudgeFailure:
    record_id: str
    reason: str  # e.g. "no 'Score: N' line", "score 7 is outside 1..5", "the judge call failed: ..."


@dataclass(frozen=True)
class EvaluationOutcome:
    """Everything a finished evaluation knows, for the report, the stored metrics and the event.
    ``outputs``, ``results`` and ``sample_scores`` are keyed by role, the candidate first;
    ``sample_scores[role][i]`` holds example ``i``'s per-sample metric values."""

    examples: tuple[Example, ...]
    outputs: dict[str, ModelOutputs]
    results: dict[str, ModelResult]
    comparisons: tuple[Comparison, ...]
    sample_scores: dict[str, list[dict[str, float]]]
    generation_params: dict[str, object]
    judge_failures: dict[str, tuple[JudgeFailure, ...]] = field(default_factory=dict)
