"""Runs evaluations: claims a PENDING run (or one whose worker's lease lapsed), holds it under a lease
it renews with the run's progress, and finishes it in one transaction with its event
(``evaluation.run.completed`` or ``.failed``, through the outbox). A run that fails for a reason a retry
cannot change fails at once; one that meets an unreachable dependency is retried after a backoff that
doubles each attempt, up to ``max_attempts``; a run whose worker died is taken again when its lease
lapses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from llmops_common.audit import AuditEntry
from llmops_common.bus import is_permanent
from llmops_common.errors import DomainError
from llmops_common.events.evaluation import EvaluationRunCompleted, EvaluationRunFailed
from llmops_evaluation.domain.run import EvaluationRun, Progress, RunError, RunStatus
from llmops_evaluation.domain.spec import MODEL_REF
from llmops_evaluation.evaluator import Evaluator, Finished
from llmops_evaluation.settings import EvaluationSettings
from llmops_evaluation.store import EvaluationUnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Held:
    run: EvaluationRun
    progress: Progress = field(default_factory=Progress)
    lost: bool = False


class RunWorker:
    def __init__(self, uow: UnitOfWorkFactory, evaluator: Evaluator, settings: EvaluationSettings) -> None:
        self.uow, self.evaluator, self.settings = uow, evaluator, settings
        self.owner = f"evaluation-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Up to ``concurrent_runs`` runs at once until ``stop``; a run still going then is left to its
        lease (another replica, or this one restarted, takes it again)."""
        running: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self._fail_exhausted()
                    while len(running) < self.settings.concurrent_runs:
                        run = await self._claim()
                        if run is None:
                            break
                        task = asyncio.create_task(self._execute(run), name=f"evaluation-{run.run_id}")
                        running.add(task)
                        task.add_done_callback(running.discard)
                except Exception:
                    log.exception("evaluation worker pass failed")
                waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED),
                                           self.settings.poll_interval_seconds)
                for waiter in waits:
                    waiter.cancel()
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _claim(self) -> EvaluationRun | None:
        now = _now()
        async with self.uow() as tx:
            run = await tx.claim_run(self.owner, now, now + timedelta(seconds=self.settings.lease_seconds),
                                     self.settings.max_attempts)
            await tx.commit()
        return run

    async def _fail_exhausted(self) -> None:
        async with self.uow() as tx:
            for run in await tx.exhausted_runs(_now(), self.settings.max_attempts, 50):
                self._fail(tx, run, RunError("unavailable", f"the run's worker stopped {run.attempts} times "
                                                            "before it finished"))
                await tx.save_run(run)
            await tx.commit()

    async def _execute(self, run: EvaluationRun) -> None:
        held = _Held(run)
        renewer = asyncio.create_task(self._renew(held))
        try:
            finished = await self.evaluator.evaluate(run, lambda p: setattr(held, "progress", p))
        except asyncio.CancelledError:
            raise
        except DomainError as exc:
            await self._finish(held, None, exc)
        except Exception as exc:  # any other crash is retried like an outage, then fails
            log.exception("evaluation run %s crashed", run.run_id)
            await self._finish(held, None, exc)
        else:
            await self._finish(held, finished, None)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew(self, held: _Held) -> None:
        """Every few seconds: the progress, and a lease extended; a lease another worker took is lost."""
        interval = min(5.0, self.settings.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            async with self.uow() as tx:
                current = await tx.get_run(held.run.run_id, lock=True)
                if current is None or current.lease_owner != self.owner or current.finished:
                    held.lost = True
                    return
                current.progress = held.progress
                current.lease_expires_at = _now() + timedelta(seconds=self.settings.lease_seconds)
                await tx.save_run(current)
                await tx.commit()

    async def _finish(self, held: _Held, finished: Finished | None, exc: BaseException | None) -> None:
        async with self.uow() as tx:
            run = await tx.get_run(held.run.run_id, lock=True)
            if run is None or run.lease_owner != self.owner or run.finished:
                log.warning("evaluation run %s was taken over; dropping this worker's result", held.run.run_id)
                return
            if finished is not None:
                self._complete(tx, run, finished)
            elif isinstance(exc, DomainError) and is_permanent(exc):
                self._fail(tx, run, RunError(exc.code.value, exc.message[:2000], exc.field or ""))
            elif run.attempts >= self.settings.max_attempts:
                self._fail(tx, run, RunError("unavailable", f"gave up after {run.attempts} attempts: {exc}"[:2000]))
            else:  # held by no one until the backoff ends, then claimed again like a lapsed lease
                backoff = self.settings.retry_backoff_seconds * 2 ** (run.attempts - 1)
                run.lease_owner, run.lease_expires_at = "", _now() + timedelta(seconds=backoff)
                run.progress = Progress("waiting to retry")
            await tx.save_run(run)
            await tx.commit()

    def _complete(self, tx: EvaluationUnitOfWork, run: EvaluationRun, finished: Finished) -> None:
        run.status, run.completed_at = RunStatus.COMPLETED, _now()
        run.resolved_models, run.metrics = finished.resolved_models, finished.metrics
        run.report_uri, run.html_report_uri = finished.report_uri, finished.html_report_uri
        run.progress, run.lease_owner, run.lease_expires_at = Progress("done"), "", None
        candidate = MODEL_REF.fullmatch(finished.resolved_models["candidate"])
        spec = run.spec
        tx.record(
            AuditEntry(run.created_by, "evaluation.completed", run.run_id, correlation_id=run.correlation_id,
                       detail={"metrics": len(run.metrics)}),
            EvaluationRunCompleted(
                evaluation_run_id=run.run_id, model_name=candidate["name"], model_version=int(candidate["version"]),
                metrics=run.metrics, report_uri=run.report_uri, html_report_uri=run.html_report_uri,
                dataset_version=spec.dataset_version, prompt_version=spec.prompt_version,
                training_run_id=spec.training_run_id,
                baselines={role: uri for role, uri in finished.resolved_models.items() if role != "candidate"}))

    def _fail(self, tx: EvaluationUnitOfWork, run: EvaluationRun, error: RunError) -> None:
        run.status, run.error, run.completed_at = RunStatus.FAILED, error, _now()
        run.lease_owner, run.lease_expires_at = "", None
        tx.record(
            AuditEntry(run.created_by, "evaluation.failed", run.run_id, correlation_id=run.correlation_id,
                       detail={"code": error.code}),
            EvaluationRunFailed(evaluation_run_id=run.run_id, reason=error.message,
                                model_version=run.spec.model_version, code=error.code))
