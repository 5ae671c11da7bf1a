"""The pipelines store's contract, run against the PostgreSQL adapter on the real database and against the
in-memory fake: definitions get per-name versions with the latest current, triggers and schedules read the
latest version only, runs round-trip whole, page newest first, and concurrent drivers never take the same
schedule or run; the newest dataset version is the one seen at the latest time."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from llmops_common.db import migrate, service_migrations
from llmops_common.errors import AlreadyExists
from llmops_common.pagination import Page, PageTokens
from llmops_pipelines.domain import policy
from llmops_pipelines.domain.pipeline import StoredPipeline
from llmops_pipelines.domain.run import PipelineRun, RunStatus, Step, StepStatus, Trigger
from llmops_pipelines.store import PIPELINES_PAGE, RUNS_PAGE, RunQuery
from llmops_pipelines.store.memory import InMemoryPipelines
from llmops_pipelines.store.postgres import PostgresUnitOfWork

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
TOKENS = PageTokens(b"k")


@pytest.fixture
async def pg_uow(pg_pool, unique_name):
    async with pg_pool.connection() as conn:
        await migrate(conn, unique_name, service_migrations("llmops_pipelines"))

    def factory(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(pg_pool, readonly=readonly)

    return factory


@pytest.fixture(params=["postgres", "memory"])
def uow(request, pg_uow):
    return pg_uow if request.param == "postgres" else InMemoryPipelines().unit_of_work


def definition(name: str = "qa", *, datasets: tuple[str, ...] = ("qa-data",), alerts: tuple[str, ...] = (),
               model: str = "qa-lora", every: str = "") -> policy.PipelineDefinition:
    return policy.PipelineDefinition(
        name=name, model_name=model, trigger=policy.Trigger(datasets=list(datasets), alerts=list(alerts), every=every),
        train=policy.Train(base_model="models:/tiny@latest", spec={"hyperparameters": {"seed": 7}}),
        promote=[policy.Promote(alias="staging", gates=[policy.Gate(metric="bleu", threshold=0.5)])])


def new_pipeline(name: str = "qa", next_at: datetime | None = None, **trigger) -> StoredPipeline:
    d = definition(name, **trigger)
    return StoredPipeline(d, 0, f"name: {name}\n", d.digest(), "ann", next_scheduled_at=next_at)


async def add_pipelines(uow, *pipelines: StoredPipeline) -> list[StoredPipeline]:
    stored = []
    for pipeline in pipelines:
        async with uow() as tx:
            stored.append(await tx.add_pipeline(pipeline))
            await tx.commit()
    return stored


def new_run(pipeline: str = "qa", status: RunStatus = RunStatus.RUNNING, created_at: datetime = T0,
            **fields) -> PipelineRun:
    return PipelineRun(str(uuid.uuid4()), pipeline, 1, definition(pipeline), Trigger.MANUAL, status=status,
                       created_by="ann", created_at=created_at, updated_at=created_at, **fields)


async def add_runs(uow, *runs: PipelineRun) -> list[PipelineRun]:
    async with uow() as tx:
        stored = [await tx.add_run(run) for run in runs]
        await tx.commit()
    return stored


# -- pipelines ----------------------------------------------------------------------------------------


async def test_versions_count_up_per_name_and_the_latest_is_current(uow):
    first, second, other = new_pipeline(next_at=T0), new_pipeline(datasets=("qa-v2",), next_at=T0 + timedelta(1)), \
        new_pipeline("other")
    v1, v2, o1 = await add_pipelines(uow, first, second, other)
    assert (v1.version, v2.version, o1.version) == (1, 2, 1)
    for stored, given in ((v1, first), (v2, second), (o1, other)):
        assert stored.created_at is not None and stored == replace(given, version=stored.version,
                                                                   created_at=stored.created_at)
    async with uow(readonly=True) as tx:
        assert await tx.get_pipeline("qa") == v2
        assert await tx.get_pipeline("qa", 2) == v2
        assert await tx.get_pipeline("qa", 1) == replace(v1, next_scheduled_at=None)  # the schedule is the head's
        assert await tx.get_pipeline("other") == o1
        assert await tx.get_pipeline("qa", 3) is None
        assert await tx.get_pipeline("nope") is None
        assert await tx.get_pipeline("nope", 1) is None


async def test_a_pipeline_left_uncommitted_is_discarded(uow):
    async with uow() as tx:
        await tx.add_pipeline(new_pipeline())
    async with uow(readonly=True) as tx:
        assert await tx.get_pipeline("qa") is None
    [stored] = await add_pipelines(uow, new_pipeline())
    assert stored.version == 1


async def test_pipelines_list_by_name_a_page_at_a_time_at_their_latest_version(uow):
    await add_pipelines(uow, *(new_pipeline(n) for n in ("c", "a", "b", "e", "d")), new_pipeline("a", datasets=("x",)))
    async with uow(readonly=True) as tx:
        pages, token = [], ""
        while True:
            page = TOKENS.page(2, token, PIPELINES_PAGE)
            rows = await tx.list_pipelines(page)
            pages.append([(p.name, p.version) for p in rows])
            token = TOKENS.token(page.next_key(rows, lambda p: (p.name,)), PIPELINES_PAGE)
            if not token:
                break
    assert pages == [[("a", 2), ("b", 1)], [("c", 1), ("d", 1)], [("e", 1)]]


async def test_dataset_and_alert_triggers_read_the_latest_version_only(uow):
    await add_pipelines(uow, new_pipeline("alpha", datasets=("ds1",), alerts=("drift",), model="m1"),
                        new_pipeline("beta", datasets=("ds1", "ds2"), alerts=("drift", "latency"), model="m1"),
                        new_pipeline("alpha", datasets=("ds2",), alerts=("quality",), model="m2"))
    async with uow(readonly=True) as tx:
        async def on_dataset(name: str) -> list[tuple[str, int]]:
            return [(p.name, p.version) for p in await tx.pipelines_on_dataset(name)]

        async def on_alert(kind: str, model: str) -> list[tuple[str, int]]:
            return [(p.name, p.version) for p in await tx.pipelines_on_alert(kind, model)]

        assert await on_dataset("ds1") == [("beta", 1)]  # alpha's first version named it; its latest does not
        assert await on_dataset("ds2") == [("alpha", 2), ("beta", 1)]
        assert await on_dataset("ds") == []
        assert await on_alert("drift", "m1") == [("beta", 1)]
        assert await on_alert("quality", "m2") == [("alpha", 2)]
        assert await on_alert("quality", "m1") == []  # the kind matches, the model does not
        assert await on_alert("drift", "m2") == []
        assert await on_alert("latency", "m1") == [("beta", 1)]


async def test_due_schedules_are_taken_earliest_first_and_rescheduled(uow):
    now = T0
    await add_pipelines(uow, new_pipeline("later", now + timedelta(hours=1)), new_pipeline("none"),
                        new_pipeline("old", now - timedelta(hours=3)), new_pipeline("old"),  # v2 has no schedule
                        new_pipeline("due", now - timedelta(hours=1)), new_pipeline("edge", now))
    async with uow() as tx:
        due = await tx.due_schedule(now)
        assert (due.name, due.version, due.next_scheduled_at) == ("due", 1, now - timedelta(hours=1))
        await tx.set_next_schedule("due", now + timedelta(hours=2))
        await tx.set_next_schedule("nope", now)  # an unknown name changes nothing
        await tx.commit()
    async with uow() as tx:
        assert (await tx.due_schedule(now)).name == "edge"  # due at exactly now
        await tx.set_next_schedule("edge", None)
        await tx.commit()
    async with uow() as tx:
        assert await tx.due_schedule(now) is None
        assert (await tx.due_schedule(now + timedelta(hours=1))).name == "later"
        assert (await tx.get_pipeline("due")).next_scheduled_at == now + timedelta(hours=2)
        assert (await tx.get_pipeline("due", 1)).next_scheduled_at == now + timedelta(hours=2)
        assert (await tx.get_pipeline("edge")).next_scheduled_at is None
        assert await tx.get_pipeline("nope") is None


async def test_concurrent_drivers_never_take_the_same_schedule(pg_uow):
    now = T0
    await add_pipelines(pg_uow, new_pipeline("a", now - timedelta(minutes=2)), new_pipeline("b", now))
    async with pg_uow() as a, pg_uow() as b, pg_uow() as c:  # three open transactions at once
        taken_a = await a.due_schedule(now)
        taken_b = await asyncio.wait_for(b.due_schedule(now), 10)  # skips a's row, no wait
        assert await asyncio.wait_for(c.due_schedule(now), 10) is None
        assert (taken_a.name, taken_b.name) == ("a", "b")


# -- runs ---------------------------------------------------------------------------------------------


def full_run() -> PipelineRun:
    """Every field set, times at microseconds in an offset other than UTC."""
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    steps = [Step("train", "train", StepStatus.SUCCEEDED, 2, {"model_version": "models:/qa-lora/3"},
                  {"loss": 0.25, "steps": 50.0}, "", at, at + timedelta(minutes=5), None),
             Step("evaluate", "evaluate", StepStatus.SUCCEEDED, 1, {"evaluation_run_id": "e1"},
                  {"bleu": 31.5, "bleu_ci_low": 30.0}, "", at, at + timedelta(minutes=9), None),
             Step("promote-staging", "promote", StepStatus.WAITING_APPROVAL, 1, {"promotion_id": "p-1"}, {},
                  "slow", at + timedelta(minutes=10), None, at + timedelta(days=7))]
    return PipelineRun(str(uuid.uuid4()), "qa", 3, definition(every="6h"), Trigger.DATASET, "qa-data@v7",
                       {"dataset_version": "qa-data@v7", "base_model": "models:/tiny/1"}, steps,
                       RunStatus.WAITING_APPROVAL, str(uuid.uuid4()),
                       [{"metric": "bleu", "original": 31.5, "reproduced": 31.0, "delta": -0.5,
                         "within_interval": True}],
                       "an earlier error", "ann", "req-1", at, at + timedelta(minutes=10), at + timedelta(hours=1),
                       at + timedelta(minutes=11), "p-1")


async def test_a_run_round_trips_every_field_and_is_found_by_id_and_request(uow):
    run = full_run()
    assert await add_runs(uow, run) == [run]
    async with uow(readonly=True) as tx:
        assert await tx.get_run(run.run_id) == run
        assert await tx.get_run(run.run_id, lock=True) == run
        assert await tx.get_run(run.run_id.upper()) == run
        assert await tx.find_run_by_request("req-1") == run
        assert await tx.find_run_by_request("req-2") is None
        assert await tx.get_run(str(uuid.uuid4())) is None
        for malformed in ("not-a-uuid", "", "x" * 40, run.run_id + "0", "\x00"):
            assert await tx.get_run(malformed) is None
            assert await tx.get_run(malformed, lock=True) is None


async def test_a_run_left_uncommitted_is_discarded(uow):
    run = new_run()
    async with uow() as tx:
        await tx.add_run(run)
    async with uow(readonly=True) as tx:
        assert await tx.get_run(run.run_id) is None


async def test_a_taken_request_id_is_already_exists_and_leaves_the_transaction_usable(uow):
    await add_runs(uow, new_run(request_id="same"))
    other = new_run()
    async with uow() as tx:
        with pytest.raises(AlreadyExists) as caught:
            await tx.add_run(new_run(request_id="same"))
        assert caught.value.field == "request_id"
        await tx.add_run(other)
        await tx.add_run(new_run())  # runs without a request id never clash
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert await tx.get_run(other.run_id) == other


async def test_save_run_writes_the_mutable_state_and_keeps_the_rest(uow):
    [stored] = await add_runs(uow, new_run(request_id="r"))
    later = T0 + timedelta(hours=1)
    changed = replace(full_run(), run_id=stored.run_id, pipeline=stored.pipeline,
                      pipeline_version=stored.pipeline_version, definition=stored.definition, trigger=stored.trigger,
                      trigger_detail="", reproduces="", created_by="ann", request_id="r", created_at=T0)
    async with uow() as tx:
        await tx.save_run(replace(changed, pipeline="other", pipeline_version=9, definition=definition("other"),
                                  trigger=Trigger.ALERT, trigger_detail="drift", reproduces=str(uuid.uuid4()),
                                  created_by="mallory", request_id="r2", created_at=later))
        await tx.save_run(new_run())  # an unknown run is not created
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert await tx.get_run(stored.run_id) == changed
        assert await tx.find_run_by_request("r2") is None
        assert [r.run_id for r in await tx.list_runs(RunQuery(), Page(10, None))] == [stored.run_id]


async def test_a_promotion_finds_the_active_run_waiting_on_it_only(uow):
    waiting, running = new_run(status=RunStatus.WAITING_APPROVAL, awaiting="p1"), new_run(awaiting="p2")
    await add_runs(uow, waiting, running, new_run(status=RunStatus.SUCCEEDED, awaiting="p3"),
                   new_run(status=RunStatus.CANCELLED, awaiting="p1"), new_run())
    async with uow() as tx:
        assert await tx.run_awaiting("p1") == waiting
        assert await tx.run_awaiting("p2") == running
        assert await tx.run_awaiting("p3") is None  # that run has finished
        assert await tx.run_awaiting("p4") is None
        assert await tx.run_awaiting("") is None  # a run awaiting nothing waits on no promotion


async def test_runs_list_newest_first_a_page_at_a_time_and_filter(uow):
    ids = sorted(str(uuid.uuid4()) for _ in range(2))
    runs = [new_run("a", created_at=T0),
            replace(new_run("b", RunStatus.FAILED, created_at=T0 + timedelta(seconds=1)), run_id=ids[0]),
            replace(new_run("a", RunStatus.WAITING_APPROVAL, created_at=T0 + timedelta(seconds=1)), run_id=ids[1]),
            new_run("a", RunStatus.SUCCEEDED, created_at=T0 + timedelta(seconds=2)),
            new_run("b", created_at=T0 + timedelta(seconds=3))]
    await add_runs(uow, *runs)
    newest = [runs[i].run_id for i in (4, 3, 2, 1, 0)]  # equal times: the greater run id first
    async with uow(readonly=True) as tx:
        pages, token = [], ""
        while True:
            page = TOKENS.page(2, token, RUNS_PAGE)
            rows = await tx.list_runs(RunQuery(), page)
            pages.append([r.run_id for r in rows])
            token = TOKENS.token(page.next_key(rows, lambda r: (r.created_at, uuid.UUID(r.run_id))), RUNS_PAGE)
            if not token:
                break

        async def listed(size: int = 10, **query) -> list[str]:
            return [r.run_id for r in await tx.list_runs(RunQuery(**query), Page(size, None))]

        assert pages == [newest[:2], newest[2:4], newest[4:]]
        assert await listed(pipeline="a") == [newest[1], newest[2], newest[4]]
        assert await listed(statuses=(RunStatus.RUNNING, RunStatus.FAILED)) == [newest[0], newest[3], newest[4]]
        assert await listed(pipeline="b", statuses=(RunStatus.RUNNING,)) == [newest[0]]
        assert await listed(pipeline="c") == []
        assert await listed(1, pipeline="a") == [newest[1]]


async def test_active_runs_count_running_and_waiting_for_approval_only(uow):
    await add_runs(uow, *(new_run("a", status) for status in RunStatus), new_run("a"), new_run("b"))
    async with uow(readonly=True) as tx:
        assert [await tx.active_runs(p) for p in ("a", "b", "c")] == [3, 1, 0]


async def test_due_runs_come_earliest_first_and_only_when_active(uow):
    now = T0
    waiting = new_run(status=RunStatus.WAITING_APPROVAL, due_at=now - timedelta(minutes=2))
    running, edge = new_run(due_at=now - timedelta(minutes=1)), new_run(due_at=now)
    await add_runs(uow, running, new_run(due_at=now + timedelta(minutes=1)), new_run(),
                   new_run(status=RunStatus.FAILED, due_at=now - timedelta(hours=1)),
                   new_run(status=RunStatus.SUCCEEDED, due_at=now - timedelta(hours=1)), edge, waiting)
    taken = []
    for _ in range(4):
        async with uow() as tx:
            run = await tx.due_run(now)
            if run is None:
                break
            taken.append(run)
            await tx.save_run(replace(run, due_at=None))
            await tx.commit()
    assert taken == [waiting, running, edge]


async def test_concurrent_drivers_never_take_the_same_run(pg_uow):
    now = T0
    runs = await add_runs(pg_uow, *(new_run(due_at=now - timedelta(seconds=i)) for i in range(2)))
    async with pg_uow() as a, pg_uow() as b, pg_uow() as c:
        taken_a = await a.due_run(now)
        taken_b = await asyncio.wait_for(b.due_run(now), 10)  # skips a's row, no wait
        assert await asyncio.wait_for(c.due_run(now), 10) is None
    assert (taken_a.run_id, taken_b.run_id) == (runs[1].run_id, runs[0].run_id)


# -- datasets seen -------------------------------------------------------------------------------------


async def test_the_newest_dataset_version_is_the_one_seen_latest(uow):
    async with uow() as tx:
        await tx.note_dataset("qa", "v1", T0)
        await tx.note_dataset("qa", "v3", T0 + timedelta(hours=3))
        await tx.note_dataset("other", "v9", T0)
        await tx.commit()
    async with uow() as tx:
        await tx.note_dataset("qa", "v2", T0 + timedelta(hours=2))  # an older event that arrived late
        assert await tx.newest_dataset("qa") == "qa@v3"
        await tx.note_dataset("other", "v10", T0 + timedelta(microseconds=1))
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert await tx.newest_dataset("qa") == "qa@v3"
        assert await tx.newest_dataset("other") == "other@v10"
        assert await tx.newest_dataset("nope") is None
