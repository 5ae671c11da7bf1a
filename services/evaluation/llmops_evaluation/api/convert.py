"""Between the protobuf messages and the domain: specs in, runs, reports, comparisons and reviews out."""

from __future__ import annotations

import math
from typing import Any

from llmops.common.v1 import common_pb2
from llmops.evaluation.v1 import evaluation_pb2 as pb
from llmops_common import proto_convert
from llmops_common.errors import InvalidArgument
from llmops_evaluation.domain.results import MetricValue
from llmops_evaluation.domain.review import Review, Verdict
from llmops_evaluation.domain.run import EvaluationRun, RunStatus
from llmops_evaluation.domain.spec import Baseline, EvaluationSpec, GenerationParams, JudgeSpec
from llmops_evaluation.handlers import MetricRow

STATUS = {RunStatus.PENDING: pb.EVALUATION_STATUS_PENDING, RunStatus.RUNNING: pb.EVALUATION_STATUS_RUNNING,
          RunStatus.COMPLETED: pb.EVALUATION_STATUS_COMPLETED, RunStatus.FAILED: pb.EVALUATION_STATUS_FAILED}
STATUS_FROM = {v: k for k, v in STATUS.items()}
_INTEGERS = ("max_tokens", "top_k", "seed")
_SAMPLING_FIELD = "spec.sampling_parameters"


def _sampling(values: dict[str, Any]) -> GenerationParams:
    known = GenerationParams().as_dict()
    fields: dict[str, Any] = {}
    for key, value in values.items():
        field = f"{_SAMPLING_FIELD}.{key[:40]}"
        if key not in known:
            raise InvalidArgument(f"unknown sampling parameter; known: {', '.join(known)}", field=field)
        if key == "stop":
            stops = [value] if isinstance(value, str) else value
            if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
                raise InvalidArgument("stop is a string or a list of strings", field=field)
            fields[key] = tuple(stops)
        elif not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise InvalidArgument("must be a finite number", field=field)
        elif key in _INTEGERS:
            if value != int(value) or abs(value) >= 2**63:
                raise InvalidArgument("must be a whole number", field=field)
            fields[key] = int(value)
        else:
            fields[key] = float(value)
    return GenerationParams(**fields)


def spec_from_pb(message: pb.EvaluationSpec, *, default_bootstrap: int = 1000) -> EvaluationSpec:
    """Shape checks belong to ``EvaluationSpec.validate``; this only maps fields and refuses what has no
    meaning (metric parameters, unknown sampling keys)."""
    for index, metric in enumerate(message.metrics):
        if metric.params.fields:
            raise InvalidArgument("metrics take no parameters", field=f"spec.metrics[{index}].params")
    judge = None
    if message.HasField("judge"):
        j = message.judge
        low, high = (j.min_score, j.max_score) if (j.min_score or j.max_score) else (1.0, 5.0)
        judge = JudgeSpec(j.model, j.prompt_version, low, high)
    return EvaluationSpec(
        model_version=message.model_version, dataset_version=message.dataset_version, split=message.split or "test",
        prompt_version=message.prompt_version, metrics=tuple(m.name for m in message.metrics),
        max_samples=message.max_samples,
        sampling=_sampling(proto_convert.from_struct(message.sampling_parameters)
                           if message.HasField("sampling_parameters") else {}),
        training_run_id=message.training_run_id,
        baselines=tuple(Baseline(b.role, b.model_version) for b in message.baselines), judge=judge,
        confidence=message.confidence or 0.95, bootstrap_samples=message.bootstrap_samples or default_bootstrap)


def spec_to_pb(spec: EvaluationSpec) -> pb.EvaluationSpec:
    message = pb.EvaluationSpec(
        model_version=spec.model_version, dataset_version=spec.dataset_version, split=spec.split,
        prompt_version=spec.prompt_version, metrics=[pb.MetricSpec(name=m) for m in spec.metrics],
        max_samples=spec.max_samples, sampling_parameters=proto_convert.struct(spec.sampling.as_dict()),
        training_run_id=spec.training_run_id,
        baselines=[pb.Baseline(role=b.role, model_version=b.model_version) for b in spec.baselines],
        confidence=spec.confidence, bootstrap_samples=spec.bootstrap_samples)
    if spec.judge is not None:
        message.judge.CopyFrom(pb.JudgeSpec(model=spec.judge.model, prompt_version=spec.judge.prompt_version,
                                            min_score=spec.judge.min_score, max_score=spec.judge.max_score))
    return message


def run(value: EvaluationRun) -> pb.EvaluationRun:
    message = pb.EvaluationRun(
        run_id=value.run_id, status=STATUS[value.status], spec=spec_to_pb(value.spec), metrics=value.metrics,
        report_uri=value.report_uri, html_report_uri=value.html_report_uri, correlation_id=value.correlation_id,
        created_by=value.created_by, resolved_models=value.resolved_models,
        progress=pb.Progress(stage=value.progress.stage, done=value.progress.done, total=value.progress.total))
    if value.error is not None:
        message.error.CopyFrom(common_pb2.ErrorDetail(code=value.error.code, message=value.error.message,
                                                      field=value.error.field))
    for name in ("created_at", "started_at", "completed_at"):
        stamp = proto_convert.timestamp(getattr(value, name))
        if stamp is not None:
            getattr(message, name).CopyFrom(stamp)
    return message


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def metric_result(role: str, name: str, entry: dict[str, Any]) -> pb.MetricResult:
    """One metric of the JSON report's table (a null value or bound is NaN)."""
    interval = entry.get("interval") or {}
    return pb.MetricResult(name=name, value=_number(entry.get("value")), ci_low=_number(interval.get("low")),
                           ci_high=_number(interval.get("high")), count=int(entry.get("count") or 0), model_role=role,
                           greater_is_better=bool(entry.get("greater_is_better", True)),
                           signature=entry.get("signature") or "", confidence=_number(interval.get("confidence")))


def report(run_message: pb.EvaluationRun, body: dict[str, Any], sample_limit: int) -> pb.EvaluationReport:
    """GetReport's answer from the stored JSON report: every role's metrics, the comparisons, and up to
    ``sample_limit`` examples with each role's output."""
    message = pb.EvaluationReport(run=run_message)
    for role, model in body.get("models", {}).items():
        message.metrics.extend(metric_result(role, name, entry) for name, entry in model.get("metrics", {}).items())
    for c in body.get("comparisons", []):
        interval = c.get("interval") or {}
        message.comparisons.append(pb.MetricComparisonResult(
            name=c["metric"], baseline_role=c["baseline_role"], delta=_number(c.get("delta")),
            ci_low=_number(interval.get("low")), ci_high=_number(interval.get("high")),
            p_value=_number(c.get("p_value")), test=c.get("test") or "", verdict=c.get("verdict") or ""))
    for row in body.get("samples", [])[:sample_limit]:
        for role, out in row.get("outputs", {}).items():
            scores = {k: float(v) for k, v in (out.get("scores") or {}).items() if isinstance(v, int | float)}
            message.samples.append(pb.SampleResult(
                record_id=row["record_id"], input=row.get("prompt", ""), reference=row.get("reference", ""),
                prediction=out.get("output", ""), scores=scores, model_role=role, error=out.get("error", "")))
    return message


def metric_value(value: MetricValue) -> pb.MetricResult:
    low, high, level = (value.interval.low, value.interval.high, value.interval.confidence) if value.interval \
        else (math.nan, math.nan, math.nan)
    return pb.MetricResult(name=value.name, value=value.value, count=value.count, ci_low=low, ci_high=high,
                           confidence=level, greater_is_better=value.greater_is_better, model_role="candidate")


def comparisons(rows: list[MetricRow], baseline_run_id: str) -> pb.CompareRunsResponse:
    return pb.CompareRunsResponse(baseline_run_id=baseline_run_id, comparisons=[
        pb.MetricComparison(metric_name=row.metric, best_run_id=row.best_run_id, values=[
            pb.RunMetricValue(run_id=v.run_id, value=v.value, delta=v.delta, relative_delta=v.relative_delta)
            for v in row.values]) for row in rows])


def review(value: Review) -> pb.Review:
    return pb.Review(review_id=value.review_id, run_id=value.run_id, baseline_role=value.baseline_role, uri=value.uri,
                     items=[pb.ReviewItem(item_id=i.item_id, input=i.input, reference=i.reference,
                                          output_a=i.output_a, output_b=i.output_b) for i in value.items])


def verdicts_from_pb(values: Any) -> list[Verdict]:
    return [Verdict(v.item_id, v.choice, v.rater) for v in values]  # type: ignore[arg-type] - checked by the handler
