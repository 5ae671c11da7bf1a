"""The training service's use cases: submit, read, list, cancel and follow runs; submit and read
sweeps; and what the tracker does with a job's events (apply them once, register the output, fail
a run that cannot go on). Each takes its dependencies as arguments; state changes and the events
they emit commit together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.auth import Principal
from llmops_common.errors import AlreadyExists, DomainError, InvalidArgument, NotFound, Unavailable
from llmops_common.events import Envelope
from llmops_common.events.training import (
    TrainingRunCheckpointed,
    TrainingRunCompleted,
    TrainingRunFailed,
    TrainingRunProgressed,
    TrainingRunStarted,
)
from llmops_common.pagination import Page
from llmops_common.validation import check_request_id, check_text, parse_uuid, quote
from llmops_training.domain.registration import registration_for
from llmops_training.domain.resolution import Resolution, check_against
from llmops_training.domain.run import ProgressPoint, Run, RunError, RunStatus, apply_events
from llmops_training.domain.spec import RunSpec, config_hash
from llmops_training.domain.sweep import (
    Prices,
    Sweep,
    SweepSpec,
    Trial,
    sweep_spec_to_dict,
    trial_run_id,
    update_trial,
)
from llmops_training.jobs.protocol import JobEvent
from llmops_training.launcher import JobLauncher
from llmops_training.planning import stored_plan, sweep_plan, train_plan
from llmops_training.references import References
from llmops_training.settings import TrainingSettings
from llmops_training.store import RunQuery, TrainingUnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

REQUEST_CONSUMER = "training-run-requests"
MAX_NAME = 200
STREAM_BATCH = 500


@dataclass(frozen=True)
class SubmitRun:
    spec: RunSpec
    name: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class SubmitSweep:
    spec: SweepSpec
    name: str = ""
    request_id: str = ""


class ProgressHub:
    """Wakes StreamProgress followers in this process when a run gets new points (they also poll, for
    points another replica stored)."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)


def _now() -> datetime:
    return datetime.now(UTC)


def parse_id(value: str, field: str, what: str = "run") -> str:
    return parse_uuid(value, field, what)


async def resolve(refs: References, spec: RunSpec) -> Resolution:
    """Base, dataset, then prompt: the first that does not exist is the error (naming its field)."""
    base = await refs.resolve_base(spec.base_model)
    dataset = await refs.resolve_dataset(spec.dataset_version)
    prompt = await refs.resolve_prompt(spec.prompt_version) if spec.prompt_version else None
    return Resolution(base, dataset, prompt)


def _check_command(name: str, request_id: str) -> None:
    check_text(name, "name", max_len=MAX_NAME)
    check_request_id(request_id)


# -- runs ------------------------------------------------------------------------------------------


async def submit_run(uow: UnitOfWorkFactory, refs: References, settings: TrainingSettings, cmd: SubmitRun, *,
                     actor: Principal, correlation_id: str | None = None,
                     wake: Callable[[], None] | None = None) -> Run:
    """Validate the spec, resolve its references and check it against them, then store the run PENDING
    for the tracker; nothing reaches Ray before all of that passed. A repeated ``request_id`` returns
    the run it created."""
    _check_command(cmd.name, cmd.request_id)
    if cmd.request_id:
        async with uow(readonly=True) as tx:
            existing = await tx.find_run_by_request(cmd.request_id)
        if existing is not None:
            return existing
    spec = cmd.spec.validate()
    resolution = await resolve(refs, spec)
    spec = check_against(spec, resolution)
    run_id = str(uuid.uuid4())
    lineage = resolution.lineage()
    run = Run(run_id, cmd.name, spec, actor.name, config_hash(spec, lineage), request_id=cmd.request_id,
              correlation_id=correlation_id or "", resolved=lineage,
              plan=stored_plan(train_plan(run_id, spec, resolution, settings)))
    async with uow() as tx:
        try:
            stored = await tx.add_run(run)
        except AlreadyExists:
            found = await tx.find_run_by_request(cmd.request_id)
            if found is None:
                raise
            return found  # a concurrent retry won
        await tx.add_points(run_id, [ProgressPoint("status", RunStatus.PENDING, message="accepted")])
        tx.audits.append(AuditEntry(actor.name, "run.submitted", run_id, correlation_id=correlation_id,
                                    detail={"config_hash": run.config_hash, **lineage}))
        await tx.commit()
    if wake:
        wake()
    return stored


async def get_run(uow: UnitOfWorkFactory, run_id: str) -> Run:
    key = parse_id(run_id, "run_id")
    async with uow(readonly=True) as tx:
        run = await tx.get_run(key)
    if run is None:
        raise NotFound(f"run {quote(run_id)} not found", field="run_id")
    return run


async def list_runs(uow: UnitOfWorkFactory, query: RunQuery, page: Page) -> tuple[list[Run], tuple | None]:
    check_text(query.base_model, "base_model", max_len=1024)
    check_text(query.dataset_version, "dataset_version", max_len=300)
    if query.sweep_id:
        try:
            query = replace(query, sweep_id=str(uuid.UUID(query.sweep_id)))
        except ValueError:
            raise InvalidArgument(f"{quote(query.sweep_id)} is not a sweep id", field="sweep_id") from None
    async with uow(readonly=True) as tx:
        rows = await tx.list_runs(query, page)
    return rows, page.next_key(rows, lambda r: (r.created_at, uuid.UUID(r.run_id)))


async def cancel_run(uow: UnitOfWorkFactory, launcher: JobLauncher, run_id: str, *, actor: Principal,
                     reason: str = "", correlation_id: str | None = None) -> Run:
    """A run not yet on Ray ends CANCELLED at once; one on Ray goes CANCELLING, its job is asked to stop
    (the tracker asks again while the cluster is away), and its ``cancelled`` event ends it. Cancelling
    an ended run returns it unchanged."""
    check_text(reason, "reason", max_len=2000)
    key = parse_id(run_id, "run_id")
    async with uow() as tx:
        run = await tx.get_run(key, lock=True)
        if run is None:
            raise NotFound(f"run {quote(run_id)} not found", field="run_id")
        if run.sweep_id:
            raise InvalidArgument("a sweep trial stops with its sweep", field="run_id")
        if run.status.terminal or run.status is RunStatus.CANCELLING:
            return run
        run.move(RunStatus.CANCELLING if run.submitted else RunStatus.CANCELLED, _now())
        await tx.save_run(run)
        await tx.add_points(key, [ProgressPoint("status", run.status, run.progress.step,
                                                message=f"cancel requested by {actor.name}"
                                                        + (f": {reason}" if reason else ""))])
        tx.audits.append(AuditEntry(actor.name, "run.cancelled", key, reason=reason, correlation_id=correlation_id))
        await tx.commit()
    if run.status is RunStatus.CANCELLING:
        await send_cancel(uow, launcher, run)
    return run


async def send_cancel(uow: UnitOfWorkFactory, launcher: JobLauncher, run: Run) -> None:
    """Ask the launcher to stop the run's job; remember that it was asked (an unreachable cluster is
    asked again by the tracker)."""
    try:
        await launcher.cancel(run.run_id)
    except Unavailable:
        log.warning("cannot reach the cluster to cancel run %s; will retry", run.run_id)
        return
    async with uow() as tx:
        current = await tx.get_run(run.run_id, lock=True)
        if current is not None and not current.cancel_sent:
            current.cancel_sent = True
            await tx.save_run(current)
            await tx.commit()
    run.cancel_sent = True


async def stream_progress(uow: UnitOfWorkFactory, run_id: str, *, from_start: bool, hub: ProgressHub,
                          poll_seconds: float) -> AsyncIterator[ProgressPoint]:
    """The run's stored points (all of them with ``from_start``, else from now on), then each new one,
    until the run has ended and every point is out."""
    run = await get_run(uow, run_id)
    cursor = 0
    if not from_start and not run.status.terminal:  # an ended run has nothing live to follow: replay it
        async with uow(readonly=True) as tx:
            cursor = await tx.last_point_seq(run.run_id)
    while True:
        async with uow(readonly=True) as tx:
            points = await tx.points_after(run.run_id, cursor, STREAM_BATCH)
            current = await tx.get_run(run.run_id) if not points else None
        for point in points:
            cursor = point.seq
            yield point
        if points:
            continue
        if current is None or current.status.terminal:
            return
        await hub.wait(poll_seconds)


# -- what the tracker does -------------------------------------------------------------------------


async def mark_queued(uow: UnitOfWorkFactory, run_id: str, *, submitted: bool, message: str) -> Run | None:
    """PENDING -> QUEUED (and ``submitted`` once the launcher took it); None if the run moved on."""
    async with uow() as tx:
        run = await tx.get_run(run_id, lock=True)
        if run is None or run.status not in (RunStatus.PENDING, RunStatus.QUEUED):
            return run
        changed = run.status is RunStatus.PENDING or (submitted and not run.submitted)
        run.move(RunStatus.QUEUED, _now())
        run.submitted = run.submitted or submitted
        if changed:
            await tx.save_run(run)
            await tx.add_points(run_id, [ProgressPoint("status", run.status, message=message)])
            await tx.commit()
        return run


async def fail_run(uow: UnitOfWorkFactory, run_id: str, reason: str, *, code: str = "unavailable",
                   hub: ProgressHub | None = None) -> Run | None:
    """End an active run FAILED with ``reason``, and say so with ``run.failed``."""
    async with uow() as tx:
        run = await tx.get_run(run_id, lock=True)
        if run is None or run.status.terminal:
            return run
        if run.status is RunStatus.CANCELLING:  # the job is gone: nothing is left to cancel
            run.move(RunStatus.CANCELLED, _now())
            await tx.add_points(run_id, [ProgressPoint("cancelled", run.status, run.progress.step, message=reason)])
        else:
            run.fail(reason, _now(), code=code, step=run.progress.step)
            await tx.add_points(run_id, [ProgressPoint("failed", run.status, run.progress.step, message=reason)])
            tx.emit(TrainingRunFailed(run_id=run_id, reason=run.error.message, step=run.progress.step, code=code),
                    run.correlation_id or None)
        await tx.save_run(run)
        await tx.commit()
    if hub:
        hub.notify()
    return run


async def record_job_events(uow: UnitOfWorkFactory, run_id: str, events: list[JobEvent], *,
                            emit_progress: Callable[[str], bool] = lambda _: True,
                            hub: ProgressHub | None = None) -> Run | None:
    """Apply a job's events to its run, each once (by ``seq``): store every point and checkpoint, and
    emit started, checkpointed, failed and (when ``emit_progress`` allows) progress events."""
    async with uow() as tx:
        run = await tx.get_run(run_id, lock=True)
        if run is None:
            return None
        applied = apply_events(run, events)
        if applied.rewind_to is not None:
            await tx.rewind_points(run_id, applied.rewind_to)
        await tx.add_points(run_id, applied.points)
        await tx.add_checkpoints(run_id, applied.checkpoints)
        await tx.save_run(run)
        _emit_run_events(tx, run, applied.points, applied.started, emit_progress)
        await tx.commit()
    if hub and applied.points:
        hub.notify()
    return run


def _emit_run_events(tx: TrainingUnitOfWork, run: Run, points: list[ProgressPoint], started: bool,
                     emit_progress: Callable[[str], bool]) -> None:
    corr = run.correlation_id or None
    if started:
        tx.emit(TrainingRunStarted(run_id=run.run_id), corr)
    for point in points:
        if point.kind == "checkpoint":
            tx.emit(TrainingRunCheckpointed(run_id=run.run_id, step=point.step, checkpoint_uri=point.checkpoint_uri),
                    corr)
        elif point.kind == "failed" and run.error:
            tx.emit(TrainingRunFailed(run_id=run.run_id, reason=run.error.message, step=run.error.step,
                                      code=run.error.code), corr)
    latest = next((p for p in reversed(points) if p.kind == "progress"), None)
    if latest is not None and emit_progress(run.run_id):
        tx.emit(TrainingRunProgressed(run_id=run.run_id, step=latest.step, total_steps=latest.total_steps,
                                      metrics=latest.metrics, epoch=latest.epoch), corr)


async def complete_run(uow: UnitOfWorkFactory, refs: References, run_id: str, *, code_version: str = "",
                       hub: ProgressHub | None = None) -> Run | None:
    """Register a run whose job succeeded (once: the request id is the run id), then mark it SUCCEEDED
    and emit ``run.completed`` with the model version. ``code_version`` is recorded when the spec names
    none. A registry that cannot be reached leaves the run as it is, for the next pass."""
    async with uow(readonly=True) as tx:
        run = await tx.get_run(run_id)
    if run is None or not run.output_ready or run.status.terminal:
        return run
    model_version = await refs.register(registration_for(run, code_version))
    async with uow() as tx:
        run = await tx.get_run(run_id, lock=True)
        if run is None or run.status.terminal:
            return run
        if run.status is RunStatus.QUEUED:
            run.move(RunStatus.RUNNING, _now())
        run.model_version = model_version
        run.move(RunStatus.SUCCEEDED, _now())
        await tx.add_points(run_id, [ProgressPoint("status", run.status, run.progress.step, run.progress.total_steps,
                                                   run.progress.epoch, run.metrics,
                                                   f"registered as {model_version}")])
        await tx.save_run(run)
        tx.emit(TrainingRunCompleted(
            run_id=run_id, adapter_uri=run.output_uri, metrics=run.metrics, model_version=model_version,
            method=run.spec.method.value, base_model_version=run.resolved.get("base_model_version", ""),
            dataset_version=run.resolved.get("dataset_version", ""),
            prompt_version=run.resolved.get("prompt_version", ""), config_hash=run.config_hash),
            run.correlation_id or None)
        await tx.commit()
    if hub:
        hub.notify()
    return run


# -- sweeps ----------------------------------------------------------------------------------------


async def submit_sweep(uow: UnitOfWorkFactory, refs: References, settings: TrainingSettings, cmd: SubmitSweep, *,
                       actor: Principal, correlation_id: str | None = None,
                       wake: Callable[[], None] | None = None) -> Sweep:
    """Validate the sweep and its base spec against what its references resolve to, and store it
    PENDING; its trials become runs as the job reports them."""
    _check_command(cmd.name, cmd.request_id)
    if cmd.request_id:
        async with uow(readonly=True) as tx:
            existing = await tx.find_sweep_by_request(cmd.request_id)
        if existing is not None:
            return existing
    spec = cmd.spec.validate()
    resolution = await resolve(refs, spec.base)
    spec = replace(spec, base=check_against(spec.base, resolution))
    for dim in spec.dimensions:  # every value a trial may take must pass the checks of a run
        for value in dim.choices or (dim.low, dim.high):
            trial = spec.base.with_path(dim.path, type(spec.base.get_path(dim.path))(value))
            check_against(trial.validate(), resolution)
    sweep_id = str(uuid.uuid4())
    lineage = resolution.lineage()
    sweep = Sweep(sweep_id, cmd.name, spec, actor.name, config_hash(spec.base, {**lineage, "sweep":
                                                                                  sweep_spec_to_dict(spec)}),
                  request_id=cmd.request_id, correlation_id=correlation_id or "", resolved=lineage,
                  plan=stored_plan(sweep_plan(sweep_id, spec, resolution, settings)))
    async with uow() as tx:
        try:
            stored = await tx.add_sweep(sweep)
        except AlreadyExists:
            found = await tx.find_sweep_by_request(cmd.request_id)
            if found is None:
                raise
            return found
        tx.audits.append(AuditEntry(actor.name, "sweep.submitted", sweep_id, correlation_id=correlation_id,
                                    detail={"config_hash": sweep.config_hash, **lineage}))
        await tx.commit()
    if wake:
        wake()
    return stored


async def get_sweep(uow: UnitOfWorkFactory, sweep_id: str) -> Sweep:
    key = parse_id(sweep_id, "sweep_id", "sweep")
    async with uow(readonly=True) as tx:
        sweep = await tx.get_sweep(key)
    if sweep is None:
        raise NotFound(f"sweep {quote(sweep_id)} not found", field="sweep_id")
    return sweep


async def mark_sweep(uow: UnitOfWorkFactory, sweep_id: str, *, submitted: bool = False,
                     fail: str = "") -> Sweep | None:
    """PENDING -> QUEUED (``submitted`` once the launcher took it), or with ``fail``, FAILED."""
    async with uow() as tx:
        sweep = await tx.get_sweep(sweep_id, lock=True)
        if sweep is None or sweep.status.terminal:
            return sweep
        now = _now()
        if fail:
            sweep.status, sweep.finished_at = RunStatus.FAILED, now
            sweep.error = _sweep_error(fail)
        else:
            if sweep.status is RunStatus.PENDING:
                sweep.status, sweep.queued_at = RunStatus.QUEUED, now
            sweep.submitted = sweep.submitted or submitted
        await tx.save_sweep(sweep)
        await tx.commit()
    return sweep


def _sweep_error(message: str) -> RunError:
    """A sweep's failure, as a run's."""
    return RunError("unavailable", message[:2000])


async def record_sweep_events(uow: UnitOfWorkFactory, sweep_id: str, events: list[JobEvent],
                              prices: Prices) -> Sweep | None:
    """Apply a sweep job's events once each: trials become (or update) their runs, with their cost;
    the end names the best trial and the cheapest within the quality margin."""
    async with uow() as tx:
        sweep = await tx.get_sweep(sweep_id, lock=True)
        if sweep is None:
            return None
        now = _now()
        for event in sorted(events, key=lambda e: e.seq):
            if event.seq <= sweep.job_cursor:
                continue
            sweep.job_cursor = event.seq
            if sweep.status.terminal:
                continue
            if event.kind in ("started", "trial") and sweep.status is RunStatus.QUEUED:
                sweep.status = RunStatus.RUNNING
            if event.kind == "trial":
                await _record_trial(tx, sweep, event, prices, now)
            elif event.kind == "succeeded":
                sweep.status, sweep.finished_at = RunStatus.SUCCEEDED, now
            elif event.kind == "failed":
                sweep.status, sweep.finished_at = RunStatus.FAILED, now
                sweep.error = _sweep_error(f"{event.message or 'the sweep failed'} (at step {event.step})")
            elif event.kind == "cancelled":
                sweep.status, sweep.finished_at = RunStatus.CANCELLED, now
        sweep.rank()
        await tx.save_sweep(sweep)
        await tx.commit()
    return sweep


async def _record_trial(tx: TrainingUnitOfWork, sweep: Sweep, event: JobEvent, prices: Prices,
                        now: datetime) -> None:
    try:
        index = int(event.data.get("trial", -1))
    except (TypeError, ValueError):
        return
    if not 0 <= index < sweep.spec.max_trials:
        return
    trial = next((t for t in sweep.trials if t.index == index), None)
    if trial is None:
        trial = Trial(trial_run_id(sweep.sweep_id, index), index)
        sweep.trials.append(trial)
    update_trial(trial, event.data, {k: v for k, v in event.metrics.items()}, sweep.spec.objective, prices,
                 sweep.spec.base.distributed.use_gpu)
    run = await tx.get_run(trial.run_id, lock=True)
    if run is None:
        spec = sweep.spec.base
        for path, value in trial.parameters.items():
            if isinstance(path, str) and path.count(".") == 1:
                with contextlib.suppress(TypeError, ValueError, AttributeError):
                    spec = spec.with_path(path, type(spec.get_path(path))(value))
        run = await tx.add_run(Run(trial.run_id, f"{sweep.name or 'sweep'} trial {index}", spec, sweep.created_by,
                                   sweep.config_hash, RunStatus.RUNNING, sweep_id=sweep.sweep_id,
                                   correlation_id=sweep.correlation_id, resolved=dict(sweep.resolved),
                                   submitted=True, started_at=now))
    run.progress = replace(run.progress, step=trial.steps, updated_at=now)
    run.metrics = {"compute_seconds": trial.compute_seconds, "tokens": float(trial.tokens),
                   "peak_memory_bytes": float(trial.peak_memory_bytes), "estimated_cost": trial.estimated_cost,
                   **({"objective": trial.objective} if trial.objective is not None else {})}
    if trial.status.terminal and not run.status.terminal:
        run.status, run.finished_at = trial.status, now
    await tx.save_run(run)
    await tx.add_points(run.run_id, [ProgressPoint("trial", run.status, trial.steps, metrics=run.metrics,
                                                   message=str(event.data.get("status", "")))])


async def reject_request(uow: UnitOfWorkFactory, envelope: Envelope[Any], exc: DomainError) -> bool:
    """Answer a ``run.requested`` event that can never become a run with ``run.failed`` (through the
    outbox), once per event; False when it was answered already."""
    async with uow() as tx:
        if not await tx.claim_event(REQUEST_CONSUMER, envelope.event_id):
            return False
        tx.follow(envelope)
        tx.emit(TrainingRunFailed(run_id="", reason=str(exc)[:2000], code=exc.code.value))
        await tx.commit()
    return True
