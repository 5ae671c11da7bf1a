"""The JSON forms the evaluation stores keep: the spec (round-trips exactly), progress, error and
metrics. JSON has no NaN or infinity (PostgreSQL's jsonb refuses them), so a non-finite metric is
kept as its name ("NaN", "Infinity", "-Infinity") and read back as the float."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from llmops_evaluation.domain.run import Progress, RunError
from llmops_evaluation.domain.spec import Baseline, EvaluationSpec, GenerationParams, JudgeSpec

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def spec_to_dict(spec: EvaluationSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["metrics"] = list(spec.metrics)
    data["sampling"] = spec.sampling.as_dict()
    data["baselines"] = [asdict(b) for b in spec.baselines]
    return data


def spec_from_dict(data: dict[str, Any]) -> EvaluationSpec:
    sampling = dict(data.get("sampling") or {})
    sampling["stop"] = tuple(sampling.get("stop", ()))
    judge = data.get("judge")
    return EvaluationSpec(**{
        **data,
        "metrics": tuple(data.get("metrics", ())),
        "sampling": GenerationParams(**sampling),
        "baselines": tuple(Baseline(**b) for b in data.get("baselines", ())),
        "judge": JudgeSpec(**judge) if judge is not None else None,
    })


def progress_to_dict(progress: Progress) -> dict[str, Any]:
    return asdict(progress)


def progress_from_dict(data: dict[str, Any]) -> Progress:
    return Progress(**data)


def error_to_dict(error: RunError | None) -> dict[str, Any] | None:
    return asdict(error) if error is not None else None


def error_from_dict(data: dict[str, Any] | None) -> RunError | None:
    return RunError(**data) if data is not None else None


def metrics_to_dict(metrics: dict[str, float]) -> dict[str, float | str]:
    return {k: float(v) if math.isfinite(v) else ("NaN" if math.isnan(v) else "Infinity" if v > 0 else "-Infinity")
            for k, v in metrics.items()}


def metrics_from_dict(data: dict[str, float | str]) -> dict[str, float]:
    return {k: _NON_FINITE[v] if isinstance(v, str) else float(v) for k, v in data.items()}
