"""A pipeline run: a state machine over its steps, kept whole in one row so that any replica, or this
one restarted, picks it up where it was.

The run is *driven* two ways. Events (training and evaluation results, the registry's promotion
decisions) move the step they answer. The driver acts on runs whose ``due_at`` has come: it requests
a pending step (emitting ``training.run.requested`` or ``evaluation.run.requested``, or asking the
registry for a promotion), and treats a step still unanswered at its deadline as failed. A failed
step is retried after a backoff that doubles each attempt, up to ``retry.max_attempts``; a failure no
retry can change (a refused request) ends the run at once. ``due_at`` is None while the run waits
only for an event.

Every transition returns the events it causes; the caller commits them with the new state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from llmops_common.events import EventPayload
from llmops_common.events.pipelines import PipelineRunCompleted, PipelineRunStarted, PipelineStepCompleted
from llmops_pipelines.domain.policy import PipelineDefinition

MAX_ERROR = 2000
#: failure codes (``llmops_common.errors.ErrorCode`` values) no retry can change
PERMANENT_CODES = frozenset({"invalid", "not_found", "already_exists", "failed_precondition", "permission_denied",
                             "unauthenticated"})


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    WAITING_APPROVAL = "waiting_approval"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in (RunStatus.RUNNING, RunStatus.WAITING_APPROVAL)


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    REQUESTED = "requested"
    WAITING_APPROVAL = "waiting_approval"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Trigger(enum.StrEnum):
    DATASET = "dataset"
    SCHEDULE = "schedule"
    ALERT = "alert"
    MANUAL = "manual"
    REPRODUCE = "reproduce"


@dataclass
class Step:
    name: str
    kind: str  # train | evaluate | promote
    status: StepStatus = StepStatus.PENDING
    attempt: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    deadline: datetime | None = None

    @property
    def alias(self) -> str:
        return self.name.removeprefix("promote-")

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "status": self.status.value, "attempt": self.attempt,
                "outputs": self.outputs, "metrics": self.metrics, "error": self.error,
                "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
                "deadline": _iso(self.deadline)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(data["name"], data["kind"], StepStatus(data["status"]), data["attempt"], dict(data["outputs"]),
                   dict(data["metrics"]), data["error"], _time(data["started_at"]), _time(data["finished_at"]),
                   _time(data["deadline"]))


@dataclass
class PipelineRun:
    run_id: str  # also the correlation id of every event the run causes
    pipeline: str
    pipeline_version: int
    definition: PipelineDefinition  # the version's definition, kept with the run
    trigger: Trigger
    trigger_detail: str = ""
    inputs: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    status: RunStatus = RunStatus.RUNNING
    reproduces: str = ""
    comparison: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    created_by: str = ""
    request_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    due_at: datetime | None = None  # when the driver acts next; None while only an event can move it
    awaiting: str = ""  # the registry promotion a step waits on

    @property
    def correlation_id(self) -> str:
        return self.run_id

    @property
    def current(self) -> Step | None:
        """The step the run is on: the first one not succeeded, while the run is active."""
        if not self.status.active:
            return None
        return next((s for s in self.steps if s.status is not StepStatus.SUCCEEDED), None)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def output(self, step: str, key: str) -> str:
        return self.step(step).outputs.get(key, "")

    @property
    def promoted(self) -> list[str]:
        return [s.alias for s in self.steps if s.kind == "promote" and s.status is StepStatus.SUCCEEDED]


def start(run: PipelineRun, now: datetime) -> list[EventPayload]:
    """A new run: its steps pending, the first due now."""
    run.steps = [Step(name, kind) for name, kind in run.definition.steps(promote=run.trigger is not Trigger.REPRODUCE)]
    run.status, run.created_at, run.updated_at, run.due_at = RunStatus.RUNNING, now, now, now
    return [PipelineRunStarted(run_id=run.run_id, pipeline=run.pipeline, pipeline_version=run.pipeline_version,
                               trigger=run.trigger.value, trigger_detail=run.trigger_detail)]


def begin_attempt(step: Step) -> None:
    """The driver starts an attempt at ``step`` (before any call it makes, so an outage counts too)."""
    step.attempt += 1


def requested(run: PipelineRun, step: Step, now: datetime, timeout_seconds: float) -> None:
    """``step``'s request went out: wait for its answer until the deadline."""
    step.status, step.started_at, step.error = StepStatus.REQUESTED, now, ""
    step.deadline = now + timedelta(seconds=timeout_seconds)
    run.due_at, run.updated_at = step.deadline, now


def record(run: PipelineRun, step: Step, now: datetime, outputs: dict[str, str],
           metrics: dict[str, float] | None = None) -> None:
    """Keep what an answer brought without finishing the step (the evaluate step needs two answers)."""
    step.outputs.update(outputs)
    step.metrics.update(metrics or {})
    run.updated_at = now


def succeed(run: PipelineRun, step: Step, now: datetime) -> list[EventPayload]:
    """``step`` succeeded: the next one is due now, or the run succeeded."""
    step.status, step.finished_at, step.deadline, step.error = StepStatus.SUCCEEDED, now, None, ""
    run.status, run.awaiting, run.updated_at = RunStatus.RUNNING, "", now
    events: list[EventPayload] = [_step_event(run, step)]
    if run.current is None:
        return events + _finish(run, RunStatus.SUCCEEDED, now)
    run.due_at = now
    return events


def fail(run: PipelineRun, step: Step, now: datetime, error: str, *, permanent: bool) -> list[EventPayload]:
    """``step`` failed: due again after the backoff while attempts remain and a retry can help; else the
    run failed."""
    step.error = error[:MAX_ERROR]
    retry = run.definition.retry
    if not permanent and step.attempt < retry.max_attempts:
        step.status = StepStatus.PENDING
        step.deadline = now + timedelta(seconds=retry.backoff_seconds * 2 ** max(step.attempt - 1, 0))
        run.due_at, run.updated_at, run.awaiting, run.status = step.deadline, now, "", RunStatus.RUNNING
        return []
    return _end_step(run, step, StepStatus.FAILED, RunStatus.FAILED, now, f"{step.name}: {step.error}")


def reject(run: PipelineRun, step: Step, now: datetime, reason: str) -> list[EventPayload]:
    """The gates or an approver refused ``step``'s promotion: the run ends rejected."""
    step.error = reason[:MAX_ERROR]
    return _end_step(run, step, StepStatus.REJECTED, RunStatus.REJECTED, now, f"{step.name}: {step.error}")


def wait_for_approval(run: PipelineRun, step: Step, now: datetime, promotion_id: str, recheck_seconds: float) -> None:
    """The registry's promotion waits for approvals, until the step's deadline. The decision arrives as
    an event; the driver also looks again every ``recheck_seconds`` (an event that raced the promotion's
    request finds no run waiting yet)."""
    if step.status is not StepStatus.WAITING_APPROVAL:
        timeout = run.definition.promotion(step.alias).timeout_seconds
        step.status, step.deadline = StepStatus.WAITING_APPROVAL, now + timedelta(seconds=timeout)
    step.outputs["promotion_id"] = promotion_id
    run.status, run.awaiting, run.updated_at = RunStatus.WAITING_APPROVAL, promotion_id, now
    run.due_at = min(step.deadline, now + timedelta(seconds=recheck_seconds))


def cancel(run: PipelineRun, now: datetime, reason: str) -> list[EventPayload]:
    step = run.current
    reason = reason[:MAX_ERROR] or "cancelled"
    if step is None:
        return _finish(run, RunStatus.CANCELLED, now, reason)
    step.error = reason
    return _end_step(run, step, StepStatus.CANCELLED, RunStatus.CANCELLED, now, reason)


def is_permanent(code: str) -> bool:
    return code.lower() in PERMANENT_CODES


def _end_step(run: PipelineRun, step: Step, step_status: StepStatus, run_status: RunStatus, now: datetime,
              error: str) -> list[EventPayload]:
    step.status, step.finished_at, step.deadline = step_status, now, None
    return [_step_event(run, step), *_finish(run, run_status, now, error)]


def _finish(run: PipelineRun, status: RunStatus, now: datetime, error: str = "") -> list[EventPayload]:
    run.status, run.error, run.finished_at, run.updated_at = status, error[:MAX_ERROR], now, now
    run.due_at, run.awaiting = None, ""
    model_version = run.output("train", "model_version") if run.steps else ""
    return [PipelineRunCompleted(run_id=run.run_id, pipeline=run.pipeline, status=status.value,
                                 model_version=model_version, promoted=run.promoted, error=run.error)]


def _step_event(run: PipelineRun, step: Step) -> PipelineStepCompleted:
    return PipelineStepCompleted(run_id=run.run_id, pipeline=run.pipeline, step=step.name, status=step.status.value,
                                 outputs=dict(step.outputs), metrics=dict(step.metrics), error=step.error)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
