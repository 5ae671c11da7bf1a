"""Finished runs and outcomes for the report and review tests, built by hand (no generation, no metrics
suite), so each test knows every value in them."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from llmops_evaluation.domain.results import (
    Comparison,
    EvaluationOutcome,
    Example,
    Generation,
    Interval,
    JudgeFailure,
    MetricValue,
    ModelOutputs,
    ModelResult,
)
from llmops_evaluation.domain.run import EvaluationRun, RunStatus
from llmops_evaluation.domain.spec import Baseline, EvaluationSpec

BLEU_SIGNATURE = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"


def make_run(baselines: tuple[str, ...] = ("champion",)) -> EvaluationRun:
    spec = EvaluationSpec("models:/m/2", "qa@v1", baselines=tuple(Baseline(r, "models:/m/1") for r in baselines))
    return EvaluationRun("run-1", spec, "ann", status=RunStatus.COMPLETED,
                         resolved_models={"candidate": "models:/m/2", **{r: "models:/m/1" for r in baselines}},
                         created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


def make_outcome(outputs: dict[str, list[str]], rouge: dict[str, list[float]], *, errors: dict[str, dict[int, str]]
                 | None = None, prompts: list[str] | None = None, references: list[str] | None = None,
                 model_uri: str = "models:/m/{n}") -> EvaluationOutcome:
    """Roles in ``outputs`` order (the candidate first); ``rouge[role][i]`` is example i's rougeL."""
    n = len(next(iter(outputs.values())))
    prompts = prompts or [f"question {i}" for i in range(n)]
    references = references or [f"answer {i}" for i in range(n)]
    errors = errors or {}
    examples = tuple(Example(f"r{i}", prompts[i], references[i]) for i in range(n))
    models = {role: ModelOutputs(role, model_uri.format(n=k), tuple(
        Generation(f"r{i}", "" if i in errors.get(role, {}) else text, errors.get(role, {}).get(i, ""))
        for i, text in enumerate(texts))) for k, (role, texts) in enumerate(outputs.items())}
    results = {role: ModelResult(role, models[role].model_uri, {
        "bleu": MetricValue("bleu", 30.0 - k, Interval(25.0 - k, 35.0 - k), n, signature=BLEU_SIGNATURE),
        "rougeL": MetricValue("rougeL", sum(rouge[role]) / n, Interval(0.1, 0.9), n),
        "judge_score": MetricValue("judge_score", math.nan, None, 0),
        "generation_failures": MetricValue("generation_failures", models[role].failures, None, n, False),
    }) for k, role in enumerate(outputs)}
    comparisons = tuple(Comparison("rougeL", role, -0.1, Interval(-0.2, 0.05), 0.3, "paired_bootstrap", "no change")
                        for role in list(outputs)[1:])
    sample_scores = {role: [{"rougeL": value, "judge_score": math.nan} for value in values]
                     for role, values in rouge.items()}
    return EvaluationOutcome(examples, models, results, comparisons, sample_scores,
                             {"max_tokens": 16, "temperature": 0.0, "stop": ["\n\n"]},
                             {"candidate": (JudgeFailure("r0", "no 'Score: N' line"),)})
