"""The worker's state machine on the in-memory store: a run is claimed, held under a lease, and finished
in one transaction with its event; permanent failures fail at once, outages are retried up to the
attempt limit, a run taken over by another worker keeps the other's result, and a run whose worker
died is failed when it used its attempts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from llmops_common.errors import FailedPrecondition, Unavailable
from llmops_evaluation.domain.run import EvaluationRun, Progress, RunStatus
from llmops_evaluation.domain.spec import Baseline, EvaluationSpec
from llmops_evaluation.evaluator import Evaluator, Finished
from llmops_evaluation.settings import EvaluationSettings
from llmops_evaluation.store.memory import InMemoryEvaluation
from llmops_evaluation.worker import RunWorker

SPEC = EvaluationSpec("models:/bot@staging", "boxes@abc", baselines=(Baseline("champion", "models:/bot/1"),))
FINISHED = Finished({"candidate": "models:/bot/2", "champion": "models:/bot/1"}, {"bleu": 12.5, "bleu_ci_low": 10.0},
                    "s3://a/evaluation/x/report.json", "s3://a/evaluation/x/report.html",
                    "s3://a/evaluation/x/outputs.jsonl")


class ScriptedEvaluator(Evaluator):
    """Answers each call with the next outcome: a Finished, or an exception to raise."""

    def __init__(self, *outcomes: object, hold: float = 0.0) -> None:
        self.outcomes, self.hold, self.calls = list(outcomes), hold, 0

    async def evaluate(self, run, progress):
        self.calls += 1
        progress(Progress("generating", 3, 10))
        await asyncio.sleep(self.hold)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def settings(**overrides) -> EvaluationSettings:
    return EvaluationSettings.model_validate({"poll_interval_seconds": 0.05, "lease_seconds": 5.0,
                                              "max_attempts": 2, "retry_backoff_seconds": 0.0, **overrides})


async def add_run(state: InMemoryEvaluation, **fields) -> EvaluationRun:
    async with state.unit_of_work() as tx:
        run = await tx.add_run(EvaluationRun(fields.pop("run_id", "6f1d1a52-1111-4c1e-9b1a-000000000001"), SPEC,
                                             "ann", correlation_id="corr-1", **fields))
        await tx.commit()
    return run


async def get(state: InMemoryEvaluation, run_id: str) -> EvaluationRun:
    async with state.unit_of_work(readonly=True) as tx:
        return await tx.get_run(run_id)


async def pass_once(worker: RunWorker, state: InMemoryEvaluation, run_id: str,
                    until: tuple[RunStatus, ...] = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.PENDING)) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(200):
            await asyncio.sleep(0.02)
            run = await get(state, run_id)
            if run.attempts and run.status in until:
                break
    finally:
        stop.set()
        await task


async def test_a_completed_run_stores_its_results_and_emits_completed_with_the_version():
    state = InMemoryEvaluation()
    run = await add_run(state)
    await pass_once(RunWorker(state.unit_of_work, ScriptedEvaluator(FINISHED), settings()), state, run.run_id)
    done = await get(state, run.run_id)
    assert done.status is RunStatus.COMPLETED and done.metrics == FINISHED.metrics
    assert done.report_uri == FINISHED.report_uri and done.resolved_models == FINISHED.resolved_models
    assert done.lease_owner == "" and done.completed_at is not None
    event = state.outbox[-1]
    assert event.type == "llmops.evaluation.run.completed" and event.correlation_id == "corr-1"
    assert (event.payload.model_name, event.payload.model_version) == ("bot", 2)
    assert event.payload.baselines == {"champion": "models:/bot/1"} and event.payload.dataset_version == "boxes@abc"


async def test_a_permanent_failure_fails_at_once_with_its_field():
    state = InMemoryEvaluation()
    run = await add_run(state)
    evaluator = ScriptedEvaluator(FailedPrecondition("the split is empty", field="spec.split"))
    await pass_once(RunWorker(state.unit_of_work, evaluator, settings(max_attempts=5)), state, run.run_id)
    failed = await get(state, run.run_id)
    assert failed.status is RunStatus.FAILED and evaluator.calls == 1
    assert (failed.error.code, failed.error.field) == ("failed_precondition", "spec.split")
    assert state.outbox[-1].type == "llmops.evaluation.run.failed"
    assert "split is empty" in state.outbox[-1].payload.reason


async def test_an_outage_is_retried_then_fails_after_the_attempt_limit():
    state = InMemoryEvaluation()
    run = await add_run(state)
    evaluator = ScriptedEvaluator(Unavailable("ray is down"), Unavailable("ray is still down"))
    worker = RunWorker(state.unit_of_work, evaluator, settings(max_attempts=2))
    await pass_once(worker, state, run.run_id, until=(RunStatus.FAILED,))
    failed = await get(state, run.run_id)
    assert evaluator.calls == 2 and failed.attempts == 2
    assert failed.status is RunStatus.FAILED and "gave up after 2 attempts" in failed.error.message


async def test_an_outage_then_success_completes_on_the_second_attempt():
    state = InMemoryEvaluation()
    run = await add_run(state)
    evaluator = ScriptedEvaluator(Unavailable("blip"), FINISHED)
    worker = RunWorker(state.unit_of_work, evaluator, settings())
    await pass_once(worker, state, run.run_id, until=(RunStatus.COMPLETED,))
    assert (await get(state, run.run_id)).status is RunStatus.COMPLETED and evaluator.calls == 2


async def test_an_outage_holds_the_run_until_its_backoff_ends():
    state = InMemoryEvaluation()
    run = await add_run(state)
    evaluator = ScriptedEvaluator(Unavailable("ray is down"), FINISHED)
    worker = RunWorker(state.unit_of_work, evaluator, settings(max_attempts=3, retry_backoff_seconds=60.0))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.6)  # a dozen passes: none takes the run again before the backoff ends
    stop.set()
    await task
    waiting = await get(state, run.run_id)
    assert evaluator.calls == 1 and waiting.status is RunStatus.RUNNING and waiting.lease_owner == ""
    assert waiting.progress.stage == "waiting to retry"
    assert waiting.lease_expires_at > datetime.now(UTC) + timedelta(seconds=55)
    assert not [e for e in state.outbox if e.type.startswith("llmops.evaluation.run.")]


async def test_a_run_taken_over_by_another_worker_keeps_the_other_workers_state():
    state = InMemoryEvaluation()
    run = await add_run(state)
    worker = RunWorker(state.unit_of_work, ScriptedEvaluator(FINISHED, hold=0.3), settings())
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.15)
    async with state.unit_of_work() as tx:  # the lease lapsed and another replica claimed it
        taken = await tx.get_run(run.run_id, lock=True)
        taken.lease_owner = "someone-else"
        await tx.save_run(taken)
        await tx.commit()
    await asyncio.sleep(0.4)
    stop.set()
    await task
    after = await get(state, run.run_id)
    assert after.status is RunStatus.RUNNING and after.lease_owner == "someone-else"
    assert not [e for e in state.outbox if e.type.startswith("llmops.evaluation.run.")]


async def test_progress_is_saved_while_the_run_holds_its_lease():
    state = InMemoryEvaluation()
    run = await add_run(state)
    worker = RunWorker(state.unit_of_work, ScriptedEvaluator(FINISHED, hold=2.5), settings(lease_seconds=5.0))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(2.0)
    running = await get(state, run.run_id)
    assert running.status is RunStatus.RUNNING and running.progress == Progress("generating", 3, 10)
    assert running.lease_expires_at > datetime.now(UTC) + timedelta(seconds=3)
    await asyncio.sleep(1.0)
    stop.set()
    await task
    assert (await get(state, run.run_id)).status is RunStatus.COMPLETED


async def test_a_run_whose_worker_died_on_its_last_attempt_is_failed():
    state = InMemoryEvaluation()
    run = await add_run(state, status=RunStatus.RUNNING, attempts=2, lease_owner="dead",
                        lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
    evaluator = ScriptedEvaluator()
    await pass_once(RunWorker(state.unit_of_work, evaluator, settings(max_attempts=2)), state, run.run_id,
                    until=(RunStatus.FAILED,))
    failed = await get(state, run.run_id)
    assert failed.status is RunStatus.FAILED and evaluator.calls == 0
    assert "stopped 2 times" in failed.error.message

