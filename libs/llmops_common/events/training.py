"""Events owned by the training context."""

from __future__ import annotations

from llmops_common.events.envelope import EventPayload


class TrainingRunRequested(EventPayload, event_type="llmops.training.run.requested"):
    base_model_uri: str
    dataset_version: str
    config: dict[str, object] = {}


class TrainingRunStarted(EventPayload, event_type="llmops.training.run.started"):
    run_id: str


class TrainingRunProgressed(EventPayload, event_type="llmops.training.run.progress"):
    run_id: str
    step: int
    total_steps: int
    metrics: dict[str, float] = {}


class TrainingRunCheckpointed(EventPayload, event_type="llmops.training.run.checkpointed"):
    run_id: str
    step: int
    checkpoint_uri: str


class TrainingRunCompleted(EventPayload, event_type="llmops.training.run.completed"):
    run_id: str
    adapter_uri: str
    metrics: dict[str, float] = {}


class TrainingRunFailed(EventPayload, event_type="llmops.training.run.failed"):
    run_id: str
    reason: str
