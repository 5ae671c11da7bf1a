"""Events owned by the training context."""

from __future__ import annotations

from typing import Any

from llmops_common.events.envelope import EventPayload


class TrainingRunRequested(EventPayload, event_type="llmops.training.run.requested"):
    """Does what SubmitRun does. ``spec`` holds the rest of the run spec (the training service's
    ``RunSpec`` as JSON: method, lora, hyperparameters, distributed, ...); ``config`` is its older name."""

    base_model_uri: str
    dataset_version: str
    config: dict[str, object] = {}
    name: str = ""
    prompt_version: str = ""
    spec: dict[str, Any] = {}


class TrainingRunStarted(EventPayload, event_type="llmops.training.run.started"):
    run_id: str


class TrainingRunProgressed(EventPayload, event_type="llmops.training.run.progress"):
    run_id: str
    step: int
    total_steps: int
    metrics: dict[str, float] = {}
    epoch: float = 0.0


class TrainingRunCheckpointed(EventPayload, event_type="llmops.training.run.checkpointed"):
    run_id: str
    step: int
    checkpoint_uri: str


class TrainingRunCompleted(EventPayload, event_type="llmops.training.run.completed"):
    run_id: str
    adapter_uri: str  # the output folder: the adapter, or the full model
    metrics: dict[str, float] = {}
    model_version: str = ""  # models:/name/N
    method: str = "lora"
    base_model_version: str = ""
    dataset_version: str = ""
    prompt_version: str = ""
    config_hash: str = ""


class TrainingRunFailed(EventPayload, event_type="llmops.training.run.failed"):
    run_id: str  # empty when the request never became a run
    reason: str
    step: int = 0
    code: str = ""
