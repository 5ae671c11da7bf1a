"""A finished evaluation as data: the JSON report (what ``render_html`` draws and ``GetReport`` serves)
and the per-example outputs as JSON Lines (what a blind review samples from).

Plain JSON throughout: NaN and infinities become ``null``, tuples lists, times ISO 8601 strings. A
failed generation or judge call is listed with its reason, never dropped.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from llmops_common.errors import InvalidArgument
from llmops_evaluation.domain.results import CANDIDATE, EvaluationOutcome, Interval, MetricValue
from llmops_evaluation.domain.run import EvaluationRun

FORMAT = 1
#: bins of the histogram of per-example differences on the worst-loss metric
DIFFERENCE_BINS = 30
CHAMPION = "champion"


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: non-finite floats as None, tuples as lists, numpy scalars as numbers,
    datetimes as ISO strings, enums as their values."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


def _interval(interval: Interval | None) -> dict[str, Any] | None:
    return None if interval is None else jsonable({"low": interval.low, "high": interval.high,
                                                    "confidence": interval.confidence})


def _metric(value: MetricValue) -> dict[str, Any]:
    return {"value": jsonable(value.value), "interval": _interval(value.interval), "count": value.count,
            "greater_is_better": value.greater_is_better, "signature": value.signature}


def _run(run: EvaluationRun) -> dict[str, Any]:
    # the report is written while the run is still RUNNING: its status and completion time are the run's own
    return jsonable({
        "run_id": run.run_id, "created_by": run.created_by,
        "model_version": run.spec.model_version, "dataset_version": run.spec.dataset_version,
        "split": run.spec.split, "prompt_version": run.spec.prompt_version,
        "training_run_id": run.spec.training_run_id, "resolved_models": dict(run.resolved_models),
        "spec": run.spec, "created_at": run.created_at, "started_at": run.started_at,
    })


def reference_role(outcome: EvaluationOutcome) -> str | None:
    """The baseline worst losses are measured against: the champion, else the first baseline."""
    baselines = [role for role in outcome.outputs if role != CANDIDATE]
    if not baselines:
        return None
    return CHAMPION if CHAMPION in baselines else baselines[0]


def _score(outcome: EvaluationOutcome, role: str, index: int, metric: str) -> float:
    rows = outcome.sample_scores.get(role, [])
    value = rows[index].get(metric, math.nan) if index < len(rows) else math.nan
    return float(value) if value is not None else math.nan


def _side(outcome: EvaluationOutcome, role: str, index: int, metric: str) -> dict[str, Any]:
    generation = outcome.outputs[role].generations[index]
    return {"role": role, "output": generation.output, "error": generation.error,
            "score": jsonable(_score(outcome, role, index, metric))}


def _worst_losses(outcome: EvaluationOutcome, metric: str, count: int) -> dict[str, Any] | None:
    baseline = reference_role(outcome)
    if baseline is None or CANDIDATE not in outcome.outputs:
        return None
    known = outcome.results.get(CANDIDATE)
    greater = known.metrics[metric].greater_is_better if known and metric in known.metrics else True
    n = len(outcome.examples)
    deltas = np.array([_score(outcome, CANDIDATE, i, metric) - _score(outcome, baseline, i, metric)
                       for i in range(n)], dtype=float)
    gains = deltas if greater else -deltas  # > 0: the candidate did better on this example
    finite = np.flatnonzero(np.isfinite(gains))
    losing = finite[gains[finite] < 0]
    worst = losing[np.argsort(gains[losing], kind="stable")][:max(count, 0)]
    histogram = None
    if finite.size:
        counts, edges = np.histogram(deltas[finite], bins=DIFFERENCE_BINS)
        histogram = {"counts": counts.tolist(), "edges": jsonable(edges)}
    return {
        "metric": metric, "baseline_role": baseline, "greater_is_better": greater,
        "compared": int(finite.size), "wins": int((gains[finite] > 0).sum()), "losses": int(losing.size),
        "ties": int((gains[finite] == 0).sum()), "differences": histogram,
        "examples": [{"record_id": outcome.examples[i].record_id, "prompt": outcome.examples[i].prompt,
                      "reference": outcome.examples[i].reference, "delta": jsonable(deltas[i]),
                      "candidate": _side(outcome, CANDIDATE, i, metric),
                      "baseline": _side(outcome, baseline, i, metric)} for i in worst.tolist()],
    }


def _example_row(outcome: EvaluationOutcome, index: int) -> dict[str, Any]:
    example = outcome.examples[index]
    models = {}
    for role, outputs in outcome.outputs.items():
        generation = outputs.generations[index]
        rows = outcome.sample_scores.get(role, [])
        models[role] = {"output": generation.output, "error": generation.error,
                        "scores": jsonable(rows[index] if index < len(rows) else {})}
    return {"record_id": example.record_id, "prompt": example.prompt, "reference": example.reference,
            "outputs": models}


def build_report(run: EvaluationRun, outcome: EvaluationOutcome, *, worst_metric: str = "rougeL",
                 worst_count: int = 10, sample_limit: int = 200) -> dict[str, Any]:
    """The run's report as JSON-able data. ``worst_losses`` is None without a baseline; ``samples``
    holds the first ``sample_limit`` examples with every model's output and scores."""
    signatures: dict[str, str] = {}
    for result in outcome.results.values():
        for name, value in result.metrics.items():
            if value.signature:
                signatures.setdefault(name, value.signature)
    return {
        "format": FORMAT,
        "run": _run(run),
        "generation_params": jsonable(outcome.generation_params),
        "examples": len(outcome.examples),
        "signatures": signatures,
        "models": {role: {"model_uri": outputs.model_uri, "wall_seconds": jsonable(outputs.wall_seconds),
                          "generation_failures": outputs.failures,
                          "judge_failures": len(outcome.judge_failures.get(role, ())),
                          "metrics": {name: _metric(value) for name, value in
                                      (outcome.results[role].metrics.items() if role in outcome.results else ())}}
                   for role, outputs in outcome.outputs.items()},
        "comparisons": [{"metric": c.metric, "baseline_role": c.baseline_role, "delta": jsonable(c.delta),
                         "interval": _interval(c.interval), "p_value": jsonable(c.p_value), "test": c.test,
                         "verdict": c.verdict} for c in outcome.comparisons],
        "failures": {
            "generation": [{"role": role, "record_id": g.record_id, "error": g.error}
                           for role, outputs in outcome.outputs.items() for g in outputs.generations if g.failed],
            "judge": [{"role": role, "record_id": f.record_id, "reason": f.reason}
                      for role, failures in outcome.judge_failures.items() for f in failures],
        },
        "worst_losses": _worst_losses(outcome, worst_metric, worst_count),
        "samples": [_example_row(outcome, i) for i in range(min(max(sample_limit, 0), len(outcome.examples)))],
    }


def outputs_jsonl(outcome: EvaluationOutcome) -> bytes:
    """One JSON line per example: ``record_id``, ``prompt``, ``reference`` and ``outputs`` (role ->
    ``output``, ``error``, ``scores``; a NaN score is ``null``)."""
    lines = [json.dumps(_example_row(outcome, i), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
             for i in range(len(outcome.examples))]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def read_outputs(data: bytes) -> list[dict[str, Any]]:
    """The rows ``outputs_jsonl`` wrote (``null`` scores back as NaN); a malformed line is an error
    naming it."""
    rows = []
    # split on "\n" only: JSON escapes it inside strings, but not U+2028 and the like, which splitlines() splits on
    for number, line in enumerate(data.decode("utf-8", errors="replace").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise InvalidArgument(f"line {number} is not JSON", field="outputs") from None
        if not (isinstance(row, dict) and isinstance(row.get("record_id"), str)
                and isinstance(row.get("outputs"), dict)
                and all(isinstance(v, dict) for v in row["outputs"].values())):
            raise InvalidArgument(f"line {number} is not an example row", field="outputs")
        for model in row["outputs"].values():
            scores = model.get("scores")
            if isinstance(scores, dict):
                model["scores"] = {k: math.nan if v is None else v for k, v in scores.items()}
        rows.append(row)
    return rows
