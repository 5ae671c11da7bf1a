"""Events owned by the evaluation context."""

from __future__ import annotations

from llmops_common.events.envelope import EventPayload


class EvaluationRunRequested(EventPayload, event_type="llmops.evaluation.run.requested"):
    model_uri: str
    dataset_version: str
    metrics: list[str] = []


class EvaluationRunCompleted(EventPayload, event_type="llmops.evaluation.run.completed"):
    evaluation_run_id: str
    model_name: str
    model_version: int
    metrics: dict[str, float]
    report_uri: str | None = None


class EvaluationRunFailed(EventPayload, event_type="llmops.evaluation.run.failed"):
    evaluation_run_id: str
    reason: str
