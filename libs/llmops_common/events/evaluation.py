"""Events owned by the evaluation context."""

from __future__ import annotations

from typing import Any

from llmops_common.events.envelope import EventPayload


class EvaluationRunRequested(EventPayload, event_type="llmops.evaluation.run.requested"):
    """Does what RunEvaluation does. ``spec`` holds the rest of an ``EvaluationSpec`` in its protobuf
    JSON form (baselines, prompt_version, judge, sampling_parameters, ...)."""

    model_uri: str
    dataset_version: str
    metrics: list[str] = []
    spec: dict[str, Any] = {}


class EvaluationRunCompleted(EventPayload, event_type="llmops.evaluation.run.completed"):
    evaluation_run_id: str
    model_name: str
    model_version: int
    metrics: dict[str, float]
    report_uri: str | None = None
    html_report_uri: str = ""
    dataset_version: str = ""
    prompt_version: str = ""
    training_run_id: str = ""
    baselines: dict[str, str] = {}  # role -> models:/name/N


class EvaluationRunFailed(EventPayload, event_type="llmops.evaluation.run.failed"):
    evaluation_run_id: str
    reason: str
    model_version: str = ""
    code: str = ""
