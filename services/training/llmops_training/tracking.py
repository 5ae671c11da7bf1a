"""The tracker: the service's background task that takes accepted runs and sweeps to the job
launcher and follows them to their end.

Each pass: submit PENDING (and not yet accepted QUEUED) work when the cluster answers, and fail what
waited longer than the queue timeout for it; poll every submitted job from its cursor and apply its
events once; register succeeded runs; ask again to cancel what could not be cancelled. Everything
it needs is in the store, so after a restart the next pass simply re-attaches to QUEUED, RUNNING and
CANCELLING work. A job the cluster lost fails its run with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from llmops_common.bus import is_permanent
from llmops_common.errors import DomainError, Unavailable
from llmops_training import handlers
from llmops_training.domain.run import Run, RunStatus
from llmops_training.domain.sweep import Prices, Sweep
from llmops_training.launcher import JobLauncher, JobLost
from llmops_training.planning import submittable
from llmops_training.references import References
from llmops_training.settings import TrainingSettings
from llmops_training.store import UnitOfWorkFactory

log = logging.getLogger(__name__)


@dataclass
class ProgressGate:
    """At most one progress event per run per ``interval`` seconds."""

    interval: float
    _last: dict[str, float] = field(default_factory=dict)

    def __call__(self, run_id: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(run_id, float("-inf")) < self.interval:
            return False
        self._last[run_id] = now
        return True

    def forget(self, run_id: str) -> None:
        self._last.pop(run_id, None)


@dataclass
class Tracker:
    uow: UnitOfWorkFactory
    launcher: JobLauncher
    references: References
    settings: TrainingSettings
    hub: handlers.ProgressHub = field(default_factory=handlers.ProgressHub)

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self.gate = ProgressGate(self.settings.progress_event_interval_seconds)
        self.prices = Prices(self.settings.price_per_cpu_hour, self.settings.price_per_gpu_hour)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop``; a failing pass is logged and retried on the next."""
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self.track_once()
                except Exception:
                    log.exception("training tracker pass failed")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(_first(self._wake.wait(), stop.wait()), self.settings.poll_interval_seconds)
        finally:
            with contextlib.suppress(Exception):
                await self.launcher.close()
            with contextlib.suppress(Exception):
                await self.references.close()

    async def track_once(self) -> None:
        async with self.uow(readonly=True) as tx:
            runs = await tx.active_runs(self.settings.max_active_runs)
            sweeps = await tx.active_sweeps(self.settings.max_active_runs)
        if not runs and not sweeps:
            return
        reachable = await self.launcher.reachable()
        for run in runs:
            try:
                await self._track_run(run, reachable)
            except DomainError as exc:
                log.warning("run %s: %s", run.run_id, exc)
        for sweep in sweeps:
            try:
                await self._track_sweep(sweep, reachable)
            except DomainError as exc:
                log.warning("sweep %s: %s", sweep.sweep_id, exc)

    # -- runs --------------------------------------------------------------------------------------

    async def _track_run(self, run: Run, reachable: bool) -> None:
        if not run.submitted:
            if run.status in (RunStatus.PENDING, RunStatus.QUEUED):
                await self._submit_run(run, reachable)
            return
        if run.status is RunStatus.CANCELLING and not run.cancel_sent and reachable:
            await handlers.send_cancel(self.uow, self.launcher, run)
        if run.output_ready:
            await self._complete(run.run_id)
            return
        try:
            events = await self.launcher.poll(run.run_id, run.job_cursor)
        except JobLost as exc:
            await handlers.fail_run(self.uow, run.run_id, f"the job was lost: {exc or 'its driver is gone'}",
                                    code="internal", hub=self.hub)
            return
        except Unavailable:
            return  # the cluster is away; the job may still be running
        if not events:
            return
        updated = await handlers.record_job_events(self.uow, run.run_id, events, emit_progress=self.gate,
                                                   hub=self.hub)
        if updated is not None and updated.output_ready and not updated.status.terminal:
            await self._complete(run.run_id)
        if updated is not None and updated.status.terminal:
            self.gate.forget(run.run_id)

    async def _complete(self, run_id: str) -> None:
        """Register the output; a registry that refuses it for good fails the run, one that is away
        is tried again on the next pass."""
        try:
            await handlers.complete_run(self.uow, self.references, run_id, code_version=self.settings.code_version,
                                        hub=self.hub)
        except DomainError as exc:
            if not is_permanent(exc):
                raise
            await handlers.fail_run(self.uow, run_id, f"the output could not be registered: {exc}",
                                    code=exc.code.value, hub=self.hub)

    async def _try_submit(self, job_id: str, plan: dict[str, Any], queued_at: datetime | None,
                          reachable: bool) -> bool | None:
        """True if the launcher took the job, False if it should wait, None if it waited too long."""
        if reachable:
            try:
                await self.launcher.submit(job_id, submittable(plan, self.settings))
                return True
            except Unavailable as exc:
                log.warning("%s not submitted: %s", job_id, exc)
        return None if self._waited_too_long(queued_at) else False

    async def _submit_run(self, run: Run, reachable: bool) -> None:
        submitted = await self._try_submit(run.run_id, run.plan, run.queued_at, reachable)
        if submitted is None:
            await handlers.fail_run(
                self.uow, run.run_id,
                f"the Ray cluster could not be reached for {self.settings.queue_timeout_seconds:g} s; the run never "
                "started", hub=self.hub)
            return
        message = "submitted to Ray" if submitted else "waiting for the Ray cluster to answer"
        current = await handlers.mark_queued(self.uow, run.run_id, submitted=submitted, message=message)
        if submitted and current is not None and current.status in (RunStatus.CANCELLED, RunStatus.CANCELLING):
            await handlers.send_cancel(self.uow, self.launcher, current)  # cancelled while it was being submitted
        self.hub.notify()

    def _waited_too_long(self, since: datetime | None) -> bool:
        return since is not None and \
            (datetime.now(UTC) - since).total_seconds() >= self.settings.queue_timeout_seconds

    # -- sweeps ------------------------------------------------------------------------------------

    async def _track_sweep(self, sweep: Sweep, reachable: bool) -> None:
        if not sweep.submitted:
            submitted = await self._try_submit(sweep.sweep_id, sweep.plan, sweep.queued_at, reachable)
            if submitted is None:
                await handlers.mark_sweep(self.uow, sweep.sweep_id, fail=(
                    f"the Ray cluster could not be reached for {self.settings.queue_timeout_seconds:g} s"))
                return
            await handlers.mark_sweep(self.uow, sweep.sweep_id, submitted=submitted)
            return
        try:
            events = await self.launcher.poll(sweep.sweep_id, sweep.job_cursor)
        except JobLost as exc:
            await handlers.mark_sweep(self.uow, sweep.sweep_id, fail=f"the job was lost: {exc or 'its driver is gone'}")
            return
        except Unavailable:
            return
        if events:
            await handlers.record_sweep_events(self.uow, sweep.sweep_id, events, self.prices)


async def _first(*waits: object) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]  # type: ignore[arg-type]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
