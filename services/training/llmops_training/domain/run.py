"""A training run, its status machine, and how a job's events move it.

::

    PENDING ──> QUEUED ──> RUNNING ──> SUCCEEDED
       │          │   ╲        │  ╲
       │          │    ╲       │   ╲──> FAILED
       └──────────┴─────┴──> CANCELLING ──> CANCELLED

A run is PENDING when accepted, QUEUED once the tracker has taken it (``submitted`` says whether the
launcher accepted it), RUNNING from the job's ``started``. ``succeeded`` leaves it RUNNING with its
output ready; it becomes SUCCEEDED once the output is registered. Events are applied once each, in
``seq`` order: ``job_cursor`` is the last one applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from llmops_common.errors import FailedPrecondition
from llmops_training.domain.spec import RunSpec
from llmops_training.jobs.protocol import JobEvent


class RunStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
ACTIVE = (RunStatus.PENDING, RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.CANCELLING)
TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset({RunStatus.QUEUED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLING, RunStatus.CANCELLED}),
    RunStatus.RUNNING: frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLING}),
    RunStatus.CANCELLING: frozenset({RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.SUCCEEDED}),
    RunStatus.SUCCEEDED: frozenset(), RunStatus.FAILED: frozenset(), RunStatus.CANCELLED: frozenset(),
}


@dataclass(frozen=True)
class RunError:
    code: str  # an llmops_common.errors.ErrorCode value
    message: str
    step: int = 0


@dataclass(frozen=True)
class Progress:
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Checkpoint:
    step: int
    uri: str
    metrics: dict[str, float] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class ProgressPoint:
    """One stored update of a run: the loss curve (``kind == "progress"``) and the StreamProgress log."""

    kind: str  # a JobEvent kind, or "status" for a change the service made
    status: RunStatus
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    checkpoint_uri: str = ""
    occurred_at: datetime | None = None
    seq: int = 0  # assigned by the store, per run


@dataclass
class Run:
    run_id: str
    name: str
    spec: RunSpec
    created_by: str
    config_hash: str = ""
    status: RunStatus = RunStatus.PENDING
    request_id: str = ""
    correlation_id: str = ""
    sweep_id: str = ""
    resolved: dict[str, str] = field(default_factory=dict)  # Resolution.lineage()
    plan: dict[str, Any] = field(default_factory=dict)  # the TrainPlan, without storage credentials
    job_cursor: int = 0
    submitted: bool = False
    cancel_sent: bool = False
    progress: Progress = Progress()
    checkpoints: tuple[Checkpoint, ...] = ()
    output_uri: str = ""
    output_ready: bool = False  # the job succeeded; registration is next
    model_version: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    error: RunError | None = None
    created_at: datetime | None = None
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def move(self, status: RunStatus, now: datetime) -> None:
        if status is self.status:
            return
        if status not in TRANSITIONS[self.status]:
            raise FailedPrecondition(f"run {self.run_id} is {self.status.value}; it cannot become {status.value}",
                                     field="run_id")
        self.status = status
        if status is RunStatus.QUEUED:
            self.queued_at = now
        elif status is RunStatus.RUNNING and self.started_at is None:
            self.started_at = now
        elif status.terminal:
            self.finished_at = now

    def fail(self, message: str, now: datetime, *, code: str = "failed_precondition", step: int = 0) -> None:
        self.error = RunError(code, message[:2000], step)
        self.move(RunStatus.FAILED, now)


@dataclass
class Applied:
    """What applying a batch of events did, for the store and the events to emit."""

    points: list[ProgressPoint] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    rewind_to: int | None = None  # delete stored progress points after this step (a resume)
    started: bool = False
    ended: bool = False


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics as JSON and protobuf carry them: non-finite values (a NaN loss) are dropped."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and math.isfinite(v)}


def apply_events(run: Run, events: list[JobEvent], now: datetime | None = None) -> Applied:
    """Apply each event with ``seq`` past the cursor, in order; others are ignored (applied once)."""
    applied = Applied()
    for event in sorted(events, key=lambda e: e.seq):
        if event.seq <= run.job_cursor:
            continue
        run.job_cursor = event.seq
        if not run.status.terminal:
            _apply(run, event, now or datetime.now(UTC), applied)
    return applied


MAX_BATCHED_POINTS = 100_000
CURVE_METRICS = ("loss", "learning_rate", "val_loss")


def _earlier_points(event: JobEvent, after: int) -> list[tuple[int, dict[str, float]]]:
    """The steps a progress event carries from before its own (``data.points``), each strictly between
    the run's last step and the event's, in order; anything malformed is left out."""
    raw = event.data.get("points")
    if not isinstance(raw, list):
        return []
    points, last = [], after
    for item in raw[:MAX_BATCHED_POINTS]:
        if not isinstance(item, dict):
            continue
        step = item.get("step")
        if not isinstance(step, int | float) or isinstance(step, bool) or not last < step < event.step:
            continue
        figures = {k: float(item[k]) for k in CURVE_METRICS
                   if isinstance(item.get(k), int | float) and math.isfinite(item[k])}
        if figures:
            last = int(step)
            points.append((last, figures))
    return points


def _apply(run: Run, event: JobEvent, now: datetime, applied: Applied) -> None:
    at = datetime.fromtimestamp(event.at, UTC) if math.isfinite(event.at) and event.at > 0 else now
    metrics = _finite(event.metrics)
    if event.kind in ("started", "progress", "checkpoint", "resumed", "succeeded") and run.status is RunStatus.QUEUED:
        run.move(RunStatus.RUNNING, at)
        applied.started = True
    total = int(event.data.get("total_steps") or run.progress.total_steps or 0)
    if event.kind == "started":
        run.progress = replace(run.progress, total_steps=total, updated_at=at)
        applied.points.append(ProgressPoint("started", run.status, run.progress.step, total,
                                            message=f"started on {event.data.get('workers', '?')} workers",
                                            occurred_at=at))
    elif event.kind == "progress":
        for step, earlier in _earlier_points(event, run.progress.step):
            applied.points.append(ProgressPoint("progress", run.status, step, total, run.progress.epoch, earlier,
                                                occurred_at=at))
        run.progress = Progress(event.step, total, float(metrics.get("epoch", run.progress.epoch)), metrics, at)
        applied.points.append(ProgressPoint("progress", run.status, event.step, total, run.progress.epoch, metrics,
                                            occurred_at=at))
    elif event.kind == "checkpoint":
        checkpoint = Checkpoint(event.step, event.uri, metrics or dict(run.progress.metrics), at)
        run.checkpoints = (*run.checkpoints, checkpoint)
        applied.checkpoints.append(checkpoint)
        applied.points.append(ProgressPoint("checkpoint", run.status, event.step, total, run.progress.epoch,
                                            checkpoint.metrics, f"checkpoint at step {event.step}", event.uri, at))
    elif event.kind == "resumed":
        applied.rewind_to = event.step
        applied.points = [p for p in applied.points if p.kind != "progress" or p.step <= event.step]
        run.progress = replace(run.progress, step=event.step, updated_at=at)
        applied.points.append(ProgressPoint("resumed", run.status, event.step, total,
                                            message=f"a worker failed; resumed from the checkpoint at step "
                                                    f"{event.step}" + (f": {event.message}" if event.message else ""),
                                            occurred_at=at))
    elif event.kind == "succeeded":
        run.output_uri, run.output_ready = event.uri, True
        run.metrics = metrics
        applied.points.append(ProgressPoint("succeeded", run.status, run.progress.step, total, run.progress.epoch,
                                            metrics, "training finished; registering the output", occurred_at=at))
    elif event.kind == "failed":
        run.fail(f"{event.message or 'the job failed'} (at step {event.step})", at, code="internal", step=event.step)
        applied.ended = True
        applied.points.append(ProgressPoint("failed", run.status, event.step, total, message=run.error.message,
                                            occurred_at=at))
    elif event.kind == "cancelled":
        if run.status is not RunStatus.CANCELLING:
            run.move(RunStatus.CANCELLING, at)
        run.move(RunStatus.CANCELLED, at)
        applied.ended = True
        applied.points.append(ProgressPoint("cancelled", run.status, run.progress.step, total,
                                            message="cancelled", occurred_at=at))
