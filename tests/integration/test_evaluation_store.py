"""The evaluation store's contract, run against the PostgreSQL adapter on the real database and against the
in-memory fake: runs round-trip, request ids are unique, lists page newest first with filters, workers
claim runs under leases with bounded attempts, and reviews keep their items and the latest verdicts."""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from llmops_common.audit import AuditEntry
from llmops_common.db import migrate, service_migrations
from llmops_common.errors import AlreadyExists, NotFound
from llmops_common.events.evaluation import EvaluationRunFailed
from llmops_common.pagination import Page, PageTokens
from llmops_evaluation.domain.review import Review, ReviewItem, Verdict
from llmops_evaluation.domain.run import EvaluationRun, Progress, RunError, RunStatus
from llmops_evaluation.domain.spec import Baseline, EvaluationSpec, GenerationParams, JudgeSpec
from llmops_evaluation.store import RUNS_PAGE, RunQuery
from llmops_evaluation.store.memory import InMemoryEvaluation
from llmops_evaluation.store.postgres import PostgresUnitOfWork

pytestmark = pytest.mark.integration
SPEC = EvaluationSpec(
    "models:/cand/3", "qa@v1", split="validation", prompt_version="qa-prompt/2", metrics=("bleu", "rougeL"),
    max_samples=50, sampling=GenerationParams(64, 0.7, 0.9, 40, 7, ("\n\n", "###")),
    training_run_id=str(uuid.uuid4()),
    baselines=(Baseline("champion", "models:/cand@production"), Baseline("base", "models:/base/1")),
    judge=JudgeSpec("judge@production", "judge-prompt/1", 0.0, 10.0), confidence=0.9, bootstrap_samples=500)
LEASE = timedelta(minutes=5)


@pytest.fixture
async def pg_uow(pg_pool, unique_name):
    async with pg_pool.connection() as conn:
        await migrate(conn, unique_name, service_migrations("llmops_evaluation"))

    def factory(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(pg_pool, readonly=readonly)

    return factory


@pytest.fixture(params=["postgres", "memory"])
def uow(request, pg_uow):
    return pg_uow if request.param == "postgres" else InMemoryEvaluation().unit_of_work


def new_run(spec: EvaluationSpec = SPEC, **fields) -> EvaluationRun:
    return EvaluationRun(str(uuid.uuid4()), spec, "ann", **fields)


async def add_runs(uow, *runs: EvaluationRun) -> list[EvaluationRun]:
    """Each in its own transaction, a little apart, so their creation times order them."""
    stored = []
    for run in runs:
        async with uow() as tx:
            stored.append(await tx.add_run(run))
            await tx.commit()
        await asyncio.sleep(0.005)
    return stored


async def test_a_run_round_trips_and_is_found_by_id_and_request(uow):
    run = new_run(request_id="req-1", correlation_id="corr")
    async with uow() as tx:
        stored = await tx.add_run(run)
        await tx.commit()
    assert stored.created_at is not None and stored == replace(run, created_at=stored.created_at)
    async with uow(readonly=True) as tx:
        assert await tx.get_run(run.run_id) == stored
        assert await tx.get_run(run.run_id.upper()) == stored
        assert await tx.find_run_by_request("req-1") == stored
        assert await tx.find_run_by_request("req-2") is None
        assert await tx.get_run(str(uuid.uuid4())) is None
        for malformed in ("not-a-uuid", "", "x" * 40, run.run_id + "0"):
            assert await tx.get_run(malformed) is None
            assert await tx.get_run(malformed, lock=True) is None


async def test_work_left_uncommitted_is_discarded(uow):
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
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert await tx.get_run(other.run_id) is not None


async def test_save_run_writes_every_mutable_field_and_keeps_what_was_asked(uow):
    [stored] = await add_runs(uow, new_run(request_id="r", correlation_id="c"))
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    changed = replace(stored, status=RunStatus.FAILED,
                      resolved_models={"candidate": "models:/cand/3", "champion": "models:/cand/2"},
                      progress=Progress("judging", 7, 9), metrics={"candidate.bleu": 31.5, "candidate.n": 3.0},
                      report_uri="s3://llmops-reports/x/report.json", html_report_uri="s3://llmops-reports/x/r.html",
                      error=RunError("failed_precondition", "no such split", "spec.split"), attempts=2,
                      lease_owner="worker-1", lease_expires_at=at + LEASE, started_at=at,
                      completed_at=at + timedelta(seconds=90))
    async with uow() as tx:
        await tx.save_run(replace(changed, spec=replace(SPEC, split="train"), created_by="mallory",
                                  request_id="other", correlation_id="other", created_at=at))
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert await tx.get_run(stored.run_id) == changed
        assert await tx.find_run_by_request("other") is None


async def test_non_finite_metrics_and_an_empty_spec_round_trip(uow):
    spec = EvaluationSpec("models:/m@production", "d@1")
    [stored] = await add_runs(uow, new_run(spec))
    async with uow() as tx:
        await tx.save_run(replace(stored, metrics={"nan": float("nan"), "inf": math.inf, "ninf": -math.inf,
                                                       "third": 1 / 3, "tiny": 5e-324, "huge": 1e308}))
        await tx.commit()
    async with uow(readonly=True) as tx:
        got = await tx.get_run(stored.run_id)
    assert got.spec == spec and got.spec.judge is None and got.error is None
    assert math.isnan(got.metrics.pop("nan"))
    assert got.metrics == {"inf": math.inf, "ninf": -math.inf, "third": 1 / 3, "tiny": 5e-324, "huge": 1e308}


async def test_lists_page_newest_first_and_filter(uow):
    other = replace(SPEC, model_version="models:/other@staging", dataset_version="qa@v2")
    runs = await add_runs(uow, new_run(), new_run(status=RunStatus.COMPLETED, resolved_models={"candidate": "x"}),
                          new_run(other, status=RunStatus.COMPLETED, resolved_models={"candidate": "models:/other/4",
                                                                                      "champion": "models:/cand/3"}),
                          new_run(), new_run(status=RunStatus.FAILED))
    tokens = PageTokens(b"k")
    async with uow(readonly=True) as tx:
        pages, token = [], ""
        while True:
            page = tokens.page(2, token, RUNS_PAGE)
            rows = await tx.list_runs(RunQuery(), page)
            pages.append([r.run_id for r in rows])
            token = tokens.token(page.next_key(rows, lambda r: (r.created_at, r.run_id)), RUNS_PAGE)
            if not token:
                break

        async def ids(**query) -> list[str]:
            return [r.run_id for r in await tx.list_runs(RunQuery(**query), Page(10, None))]

        newest = [r.run_id for r in reversed(runs)]
        assert pages == [newest[:2], newest[2:4], newest[4:]]
        assert await ids(statuses=(RunStatus.COMPLETED, RunStatus.FAILED)) == [newest[0], newest[2], newest[3]]
        assert await ids(model_version="models:/cand/3") == [newest[0], newest[1], newest[3], newest[4]]
        assert await ids(model_version="models:/other/4") == [newest[2]]  # the resolved candidate
        assert await ids(model_version="models:/other@staging", statuses=(RunStatus.PENDING,)) == []
        assert await ids(dataset_version="qa@v2") == [newest[2]]
        assert await ids(dataset_version="qa@v9") == []


async def test_claims_take_the_oldest_pending_run_first_and_stamp_the_lease(uow):
    now = datetime.now(UTC)
    first, second = await add_runs(uow, new_run(), new_run())
    async with uow() as tx:
        claimed = await tx.claim_run("w1", now, now + LEASE, 3)
        await tx.commit()
    assert claimed == replace(first, status=RunStatus.RUNNING, lease_owner="w1", lease_expires_at=now + LEASE,
                              attempts=1, started_at=now)
    async with uow() as tx:
        assert (await tx.claim_run("w2", now, now + LEASE, 3)).run_id == second.run_id
        assert await tx.claim_run("w2", now, now + LEASE, 3) is None  # both held under live leases
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert (await tx.get_run(first.run_id)) == claimed


async def test_a_claim_left_uncommitted_leaves_the_run_pending(uow):
    now = datetime.now(UTC)
    [run] = await add_runs(uow, new_run())
    async with uow() as tx:
        assert await tx.claim_run("w1", now, now + LEASE, 3) is not None
    async with uow() as tx:
        assert (await tx.claim_run("w2", now, now + LEASE, 3)).lease_owner == "w2"


async def test_an_expired_lease_is_claimed_again_until_the_attempts_run_out(uow):
    t0 = datetime.now(UTC)
    [run] = await add_runs(uow, new_run())
    async with uow() as tx:
        await tx.claim_run("w1", t0, t0 + LEASE, 2)
        await tx.commit()
    t1 = t0 + LEASE + timedelta(microseconds=1)
    async with uow() as tx:
        assert await tx.claim_run("w2", t0 + LEASE, t1, 2) is None  # a lease ending now has not expired
        second = await tx.claim_run("w2", t1, t1 + LEASE, 2)
        await tx.commit()
    assert second == replace(run, status=RunStatus.RUNNING, lease_owner="w2", lease_expires_at=t1 + LEASE,
                             attempts=2, started_at=t0)  # started_at kept from the first attempt
    t2 = t1 + LEASE + timedelta(seconds=1)
    async with uow() as tx:
        assert await tx.exhausted_runs(t1, 2, 10) == []  # the lease has not lapsed yet
        assert await tx.claim_run("w3", t2, t2 + LEASE, 2) is None  # attempts used up
        assert [r.run_id for r in await tx.exhausted_runs(t2, 2, 10)] == [run.run_id]
        assert await tx.exhausted_runs(t2, 3, 10) == []  # with a third attempt allowed it is not exhausted
        assert (await tx.claim_run("w3", t2, t2 + LEASE, 3)).attempts == 3


async def test_finished_runs_are_never_claimed_nor_exhausted(uow):
    now = datetime.now(UTC)
    past = now - timedelta(hours=1)
    await add_runs(uow, *(new_run(status=s, attempts=1, lease_expires_at=past)
                          for s in (RunStatus.COMPLETED, RunStatus.FAILED)))
    async with uow() as tx:
        assert await tx.claim_run("w", now, now + LEASE, 5) is None
        assert await tx.exhausted_runs(now, 1, 10) == []


async def test_exhausted_runs_come_oldest_first_up_to_the_limit(uow):
    now = datetime.now(UTC)
    past = now - timedelta(seconds=1)
    runs = await add_runs(uow, *(new_run(status=RunStatus.RUNNING, attempts=3, lease_owner="dead",
                                         lease_expires_at=past) for _ in range(3)))
    async with uow(readonly=True) as tx:
        assert [r.run_id for r in await tx.exhausted_runs(now, 3, 2)] == [r.run_id for r in runs[:2]]


async def test_concurrent_claimers_never_take_the_same_run(pg_uow):
    now = datetime.now(UTC)
    runs = await add_runs(pg_uow, *(new_run() for _ in range(4)))
    first, second = pg_uow(), pg_uow()
    async with first as a, second as b:  # two open transactions at once
        taken_a = await a.claim_run("a", now, now + LEASE, 3)
        taken_b = await asyncio.wait_for(b.claim_run("b", now, now + LEASE, 3), 10)  # skips a's row, no wait
        await a.commit()
        await b.commit()
    assert (taken_a.run_id, taken_b.run_id) == (runs[0].run_id, runs[1].run_id)

    async def claim(owner: str) -> str | None:
        async with pg_uow() as tx:
            run = await tx.claim_run(owner, now, now + LEASE, 3)
            await asyncio.sleep(0.05)  # hold the lock while the others claim
            await tx.commit()
        return run.run_id if run else None

    taken = await asyncio.gather(*(claim(f"w{i}") for i in range(4)))
    assert sorted(t for t in taken if t) == sorted(r.run_id for r in runs[2:]) and taken.count(None) == 2


async def test_the_claim_and_list_queries_use_their_indexes(pg_uow, pg_pool):
    await add_runs(pg_uow, new_run())
    async with pg_pool.connection() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        claim = await (await conn.execute(
            "EXPLAIN SELECT run_id FROM runs WHERE attempts < 3 AND (status = 'pending'"
            " OR (status = 'running' AND lease_expires_at < now())) ORDER BY created_at, run_id LIMIT 1")).fetchall()
        by_model = await (await conn.execute(
            "EXPLAIN SELECT run_id FROM runs WHERE model_version = 'm' ORDER BY created_at DESC, run_id DESC"
            " LIMIT 10")).fetchall()
    assert "runs_unfinished" in str(claim) and "runs_by_model" in str(by_model)


async def test_a_state_change_commits_with_its_audit_row_and_event_and_an_event_is_handled_once(pg_uow, pg_pool):
    run = new_run()
    event_id = uuid.uuid4()
    for commit in (False, True):
        async with pg_uow() as tx:
            assert await tx.claim_event("evaluation-worker", event_id)
            await tx.add_run(run)
            tx.record(AuditEntry("ann", "evaluation.run.failed", run.run_id, reason="r", detail={"attempts": 3},
                                 correlation_id="corr"), EvaluationRunFailed(evaluation_run_id=run.run_id, reason="r"))
            if commit:
                await tx.commit()
    async with pg_uow() as tx:
        assert not await tx.claim_event("evaluation-worker", event_id)
    async with pg_pool.connection() as conn:
        audit = await (await conn.execute("SELECT actor, action, subject, reason, detail, correlation_id"
                                          " FROM audit_log")).fetchall()
        subjects = await (await conn.execute("SELECT subject FROM outbox")).fetchall()
    assert audit == [("ann", "evaluation.run.failed", run.run_id, "r", {"attempts": 3}, "corr")]
    assert subjects == [("llmops.evaluation.run.failed",)]


def new_review(run_id: str, n: int = 3) -> Review:
    items = tuple(ReviewItem(f"item-{n - i}", f"rec-{i}", f"in {i}", f"ref {i}", f"a {i}", f"b {i}", "ab"[i % 2])
                  for i in range(n))
    return Review(str(uuid.uuid4()), run_id, "champion", 42, items, "s3://llmops-reports/rev.jsonl", "ann")


async def test_a_review_keeps_its_items_in_order(uow):
    [run] = await add_runs(uow, new_run(status=RunStatus.COMPLETED))
    review = new_review(run.run_id, 5)
    async with uow() as tx:
        stored = await tx.add_review(review)
        await tx.commit()
    assert stored.created_at is not None and stored == replace(review, created_at=stored.created_at)
    async with uow(readonly=True) as tx:
        assert await tx.get_review(review.review_id) == stored
        assert await tx.get_review(review.review_id.upper()) == stored
        assert await tx.get_review(str(uuid.uuid4())) is None
        assert await tx.get_review("nope") is None
        assert await tx.verdicts("nope") == []


async def test_a_review_of_an_unknown_run_is_not_found(uow):
    async with uow() as tx:
        with pytest.raises(NotFound):
            await tx.add_review(new_review(str(uuid.uuid4())))


async def test_a_raters_later_verdict_replaces_the_earlier_one(uow):
    [run] = await add_runs(uow, new_run(status=RunStatus.COMPLETED))
    review = new_review(run.run_id)  # items item-3, item-2, item-1 in that order
    async with uow() as tx:
        await tx.add_review(review)
        await tx.put_verdicts(review.review_id, [Verdict("item-1", "a", "zed"), Verdict("item-3", "tie", "bo"),
                                                 Verdict("item-1", "b", "Bo")])
        await tx.commit()
    async with uow() as tx:
        await tx.put_verdicts(review.review_id, [Verdict("item-1", "tie", "zed"), Verdict("item-2", "a", "bo")])
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert await tx.verdicts(review.review_id) == [
            Verdict("item-3", "tie", "bo"), Verdict("item-2", "a", "bo"), Verdict("item-1", "b", "Bo"),
            Verdict("item-1", "tie", "zed")]


async def test_a_verdict_on_an_unknown_item_is_not_found_and_writes_nothing(uow):
    [run] = await add_runs(uow, new_run(status=RunStatus.COMPLETED))
    review = new_review(run.run_id)
    async with uow() as tx:
        await tx.add_review(review)
        with pytest.raises(NotFound):
            await tx.put_verdicts(review.review_id, [Verdict("item-1", "a", "r"), Verdict("item-9", "a", "r")])
        with pytest.raises(NotFound):
            await tx.put_verdicts(str(uuid.uuid4()), [Verdict("item-1", "a", "r")])
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert await tx.verdicts(review.review_id) == []
