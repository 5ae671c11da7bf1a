"""The training store on real PostgreSQL: runs round-trip, request ids are unique, lists page newest
first with filters, progress points keep their order through a resume, and sweeps keep their trials."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest

from llmops_common.db import migrate, service_migrations
from llmops_common.errors import AlreadyExists
from llmops_common.pagination import Page
from llmops_training.domain.run import Checkpoint, Progress, ProgressPoint, Run, RunError, RunStatus
from llmops_training.domain.spec import Hyperparameters, LoraSpec, RunSpec
from llmops_training.domain.sweep import Dimension, Sweep, SweepSpec, Trial
from llmops_training.store import RunQuery
from llmops_training.store.postgres import PostgresUnitOfWork

pytestmark = pytest.mark.integration
SPEC = RunSpec("models:/tiny@prod", "qa@v1", "qa@latest", lora=LoraSpec(target_modules=("q_proj",)),
               hyperparameters=Hyperparameters(max_steps=10), tags={"team": "a"})


@pytest.fixture
async def uow(pg_pool, unique_name):
    async with pg_pool.connection() as conn:
        await migrate(conn, unique_name, service_migrations("llmops_training"))

    def factory(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(pg_pool, readonly=readonly)

    return factory


def new_run(**fields) -> Run:
    return Run(str(uuid.uuid4()), "r", SPEC, "ann", "h" * 64, resolved={"base_model_version": "models:/tiny/1",
                                                                     "dataset_version": "qa@v1"},
               plan={"run_id": "x"}, **fields)


async def test_a_run_round_trips_with_its_state_and_checkpoints(uow):
    run = new_run(request_id="req-1", correlation_id="c")
    async with uow() as tx:
        stored = await tx.add_run(run)
        await tx.commit()
    assert stored.created_at is not None and stored.spec == SPEC and stored.status is RunStatus.PENDING
    run = replace(stored, status=RunStatus.FAILED, job_cursor=7, submitted=True, output_uri="s3://m/x",
                  metrics={"loss": 1.5}, error=RunError("internal", "nan", 7),
                  progress=Progress(7, 10, 0.5, {"loss": 1.5}, stored.created_at))
    async with uow() as tx:
        await tx.save_run(run)
        await tx.add_checkpoints(run.run_id, [Checkpoint(5, "s3://a/c5", {"loss": 2.0})])
        await tx.add_checkpoints(run.run_id, [Checkpoint(5, "s3://a/c5b")])  # a resumed job saves it again
        await tx.commit()
    async with uow(readonly=True) as tx:
        got = await tx.get_run(run.run_id)
    assert replace(got, checkpoints=()) == replace(run, checkpoints=())
    assert [(c.step, c.uri) for c in got.checkpoints] == [(5, "s3://a/c5b")]


async def test_a_taken_request_id_is_already_exists_and_leaves_the_transaction_usable(uow):
    async with uow() as tx:
        await tx.add_run(new_run(request_id="same"))
        await tx.commit()
    async with uow() as tx:
        with pytest.raises(AlreadyExists):
            await tx.add_run(new_run(request_id="same"))
        assert (await tx.find_run_by_request("same")) is not None


async def test_lists_page_newest_first_and_filter(uow):
    runs = []
    for i in range(3):
        async with uow() as tx:
            runs.append(await tx.add_run(new_run(status=RunStatus.QUEUED if i else RunStatus.PENDING)))
            await tx.commit()
        await asyncio.sleep(0.01)
    async with uow(readonly=True) as tx:
        first = await tx.list_runs(RunQuery(), Page(2, None))
        key = (first[-1].created_at, uuid.UUID(first[-1].run_id))
        rest = await tx.list_runs(RunQuery(), Page(2, key))
        queued = await tx.list_runs(RunQuery(statuses=(RunStatus.QUEUED,)), Page(10, None))
        by_base = await tx.list_runs(RunQuery(base_model="models:/tiny/1"), Page(10, None))
        active = await tx.active_runs(10)
    assert [r.run_id for r in first + rest] == [r.run_id for r in reversed(runs)]
    assert len(queued) == 2 and len(by_base) == 3 and [r.run_id for r in active] == [r.run_id for r in runs]


async def test_points_are_numbered_per_run_and_a_rewind_drops_the_curve_past_the_checkpoint(uow):
    run = new_run()
    async with uow() as tx:
        await tx.add_run(run)
        await tx.add_points(run.run_id, [ProgressPoint("progress", RunStatus.RUNNING, step=s, metrics={"loss": 1.0})
                                         for s in (1, 2, 3)])
        await tx.add_points(run.run_id, [ProgressPoint("checkpoint", RunStatus.RUNNING, step=2, checkpoint_uri="u")])
        await tx.rewind_points(run.run_id, 2)
        await tx.add_points(run.run_id, [ProgressPoint("progress", RunStatus.RUNNING, step=3)])
        await tx.commit()
    async with uow(readonly=True) as tx:
        points = await tx.points_after(run.run_id, 0, 100)
        later = await tx.points_after(run.run_id, 2, 100)
    assert [(p.kind, p.step) for p in points] == [("progress", 1), ("progress", 2), ("checkpoint", 2),
                                                  ("progress", 3)]
    assert [p.seq for p in points] == [1, 2, 4, 5] and [p.seq for p in later] == [4, 5]


async def test_a_sweep_round_trips_with_its_trials(uow):
    spec = SweepSpec(SPEC, (Dimension("lora.r", (4, 8)), Dimension("hyperparameters.learning_rate", (), 1e-5, 1e-3,
                                                                     True))).validate()
    sweep = Sweep(str(uuid.uuid4()), "s", spec, "ann", "h" * 64, request_id="sw-1")
    async with uow() as tx:
        stored = await tx.add_sweep(sweep)
        await tx.commit()
    stored.trials = [Trial(str(uuid.uuid4()), 0, RunStatus.SUCCEEDED, {"lora.r": 4}, 1.1, 10.0, 100, 5, 0.01, True, 3)]
    stored.status, stored.best_run_id = RunStatus.SUCCEEDED, stored.trials[0].run_id
    async with uow() as tx:
        await tx.save_sweep(stored)
        await tx.commit()
    async with uow(readonly=True) as tx:
        got = await tx.get_sweep(sweep.sweep_id)
        active = await tx.active_sweeps(10)
    assert got == stored and got.spec == spec and active == []
