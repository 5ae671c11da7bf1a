"""Events owned by the pipelines context. A run's id is also the correlation id of everything it causes."""

from __future__ import annotations

from llmops_common.events.envelope import EventPayload


class PipelineRunStarted(EventPayload, event_type="llmops.pipelines.run.started"):
    run_id: str
    pipeline: str
    pipeline_version: int
    trigger: str  # dataset | schedule | alert | manual | reproduce
    trigger_detail: str = ""


class PipelineStepCompleted(EventPayload, event_type="llmops.pipelines.step.completed"):
    """A step finished: ``status`` is succeeded, failed, rejected or cancelled."""

    run_id: str
    pipeline: str
    step: str
    status: str
    outputs: dict[str, str] = {}
    metrics: dict[str, float] = {}
    error: str = ""


class PipelineRunCompleted(EventPayload, event_type="llmops.pipelines.run.completed"):
    """The run ended: ``status`` is succeeded, failed, rejected or cancelled."""

    run_id: str
    pipeline: str
    status: str
    model_version: str = ""  # what the run trained, models:/name/N
    promoted: list[str] = []  # the aliases it moved
    error: str = ""
