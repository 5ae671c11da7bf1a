"""The monitoring store's contract, run against the PostgreSQL adapter on the real database and against the
in-memory fake: the inference log dedups ids, pages newest first with filters, makes one partition per UTC
day and drops whole old days; feedback joins its inference; alerts dedup while unresolved (race-safe on
Postgres); the block list keeps one block per subject."""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from llmops_common.audit import AuditEntry
from llmops_common.db import migrate, service_migrations
from llmops_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from llmops_common.pagination import Page, PageTokens
from llmops_monitoring.domain.records import (
    Alert,
    AlertCandidate,
    AlertStatus,
    BlockEntry,
    Feedback,
    Inference,
    Severity,
)
from llmops_monitoring.store import (
    ALERTS_PAGE,
    INFERENCES_PAGE,
    AlertQuery,
    FeedbackQuery,
    InferenceQuery,
)
from llmops_monitoring.store.memory import InMemoryMonitoring
from llmops_monitoring.store.postgres import PostgresUnitOfWork, partition_name

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC)  # the last instant of a UTC day


@pytest.fixture
async def pg_uow(pg_pool, unique_name):
    async with pg_pool.connection() as conn:
        await migrate(conn, unique_name, service_migrations("llmops_monitoring"))

    def factory(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(pg_pool, readonly=readonly)

    return factory


@pytest.fixture(params=["postgres", "memory"])
def uow(request, pg_uow):
    return pg_uow if request.param == "postgres" else InMemoryMonitoring().unit_of_work


def inference(n: int, at: datetime = T0, **fields) -> Inference:
    return Inference(f"inf-{n:04d}", fields.pop("model_version", "models:/m/1"), at, **fields)


async def log(uow, *inferences: Inference) -> int:
    async with uow() as tx:
        added = await tx.add_inferences(list(inferences))
        await tx.commit()
    return added


def candidate(**fields) -> AlertCandidate:
    base = dict(detector="malicious_user", kind="abuse", severity=Severity.WARNING, message="attacks",
                statistic="attack_share", value=0.6, threshold=0.3, window_start=T0 - timedelta(hours=1),
                window_end=T0, model_version="models:/m/1", subject_kind="user", subject="mallory",
                examples=("inf-0001", "inf-0002"), details={"attacks": 12, "rates": [0.5, 1.0]})
    return AlertCandidate(**{**base, **fields})


async def raise_alert(uow, cand: AlertCandidate, now: datetime = T0) -> tuple[Alert, bool]:
    async with uow() as tx:
        result = await tx.raise_alert(str(uuid.uuid4()), cand, now)
        await tx.commit()
    return result


async def test_an_inference_round_trips_and_a_logged_id_is_skipped(uow):
    full = inference(1, release="m@production", deployment="m", api="chat", key_id="k1", user="u", session="s",
                     prompt="user: hi\n", output="hello", prompt_tokens=3, completion_tokens=2, latency_ms=12.5,
                     ttft_ms=3.25, finish_reason="stop",
                     scores={"injection": 0.25, "inf": math.inf, "tiny": 5e-324})
    assert await log(uow, full, inference(2), replace(inference(2), output="second copy")) == 2
    # the same id again, at the same time or on another day, is skipped
    assert await log(uow, replace(full, output="x"), inference(1, T0 + timedelta(days=3)), inference(3)) == 1
    async with uow(readonly=True) as tx:
        assert await tx.get_inference("inf-0001") == full
        assert (await tx.get_inference("inf-0002")).output == ""  # the first of a repeated id in a batch wins
        assert await tx.get_inference("inf-9999") is None
        assert await tx.add_inferences([]) == 0


async def test_an_uncommitted_log_is_discarded(uow):
    async with uow() as tx:
        await tx.add_inferences([inference(1)])
    async with uow(readonly=True) as tx:
        assert await tx.get_inference("inf-0001") is None


async def test_inferences_page_newest_first_and_filter(uow):
    rows = [inference(n, T0 + timedelta(minutes=n % 3), key_id=f"k{n % 2}", user=f"u{n % 3}", session=f"s{n}",
                      release="r@a" if n < 3 else "r@b", model_version=f"models:/m/{1 + n // 4}",
                      scores={"injection": n / 10}) for n in range(6)]
    await log(uow, *rows)
    newest = [i.inference_id for i in sorted(rows, key=lambda i: (i.created_at, i.inference_id), reverse=True)]
    tokens = PageTokens(b"k")
    async with uow(readonly=True) as tx:
        pages, token = [], ""
        while True:
            page = tokens.page(4, token, INFERENCES_PAGE)
            got = await tx.list_inferences(InferenceQuery(), page)
            pages.append([i.inference_id for i in got])
            token = tokens.token(page.next_key(got, lambda i: (i.created_at, i.inference_id)), INFERENCES_PAGE)
            if not token:
                break

        async def ids(**query) -> list[str]:
            return [i.inference_id for i in await tx.list_inferences(InferenceQuery(**query), Page(50, None))]

        assert pages == [newest[:4], newest[4:]]
        assert await ids(key_id="k1") == [n for n in newest if int(n[-1]) % 2]
        assert await ids(user="u0", session="s3") == ["inf-0003"]
        assert await ids(release="r@a", model_version="models:/m/1") == [n for n in newest if int(n[-1]) < 3]
        assert await ids(model_version="models:/m/2") == [n for n in newest if int(n[-1]) >= 4]
        assert await ids(created_after=T0 + timedelta(minutes=1), created_before=T0 + timedelta(minutes=2)) == [
            "inf-0004", "inf-0001"]
        assert await ids(min_injection_score=0.35) == [n for n in newest if int(n[-1]) >= 4]
        assert await ids(user="nobody") == []


async def test_a_window_is_oldest_first_and_keeps_the_newest_when_over_the_limit(uow):
    rows = [inference(n, T0 + timedelta(seconds=n), model_version=f"models:/m/{n % 2}") for n in range(8)]
    await log(uow, *rows)
    async with uow(readonly=True) as tx:
        got = await tx.window(T0 + timedelta(seconds=1), T0 + timedelta(seconds=7))
        assert [i.inference_id for i in got] == [f"inf-{n:04d}" for n in range(1, 7)]  # end excluded
        got = await tx.window(T0, T0 + timedelta(hours=1), model_version="models:/m/0", limit=2)
        assert [i.inference_id for i in got] == ["inf-0004", "inf-0006"]
        assert await tx.model_versions_since(T0 + timedelta(seconds=7)) == ["models:/m/1"]
        assert await tx.model_versions_since(T0) == ["models:/m/0", "models:/m/1"]
        assert await tx.model_versions_since(T0 + timedelta(days=1)) == []


async def test_retention_drops_only_the_days_before(uow):
    days = [T0 + timedelta(microseconds=1) + timedelta(days=d) for d in range(-1, 3)]  # starts of four days
    await log(uow, *(inference(n, at) for n, at in enumerate(days)), inference(9, T0))
    async with uow() as tx:
        assert await tx.drop_days_before(date(2026, 3, 1)) == 0
        assert await tx.drop_days_before(date(2026, 3, 3)) == 2  # 2026-03-01 (two rows) and 03-02
        await tx.commit()
    async with uow(readonly=True) as tx:
        left = await tx.list_inferences(InferenceQuery(), Page(50, None))
        assert [i.inference_id for i in left] == ["inf-0003", "inf-0002"]
    assert await log(uow, inference(10, T0)) == 1  # a dropped day is made again when written to
    async with uow() as tx:
        assert await tx.drop_days_before(date(2026, 3, 3)) == 1


async def test_each_utc_day_gets_one_partition_bounded_by_utc_midnight(pg_uow, pg_pool):
    east = datetime(2026, 3, 2, 1, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo"))  # 10:00 there
    await log(pg_uow, inference(1, T0), inference(2, T0 + timedelta(microseconds=1)), inference(3, east))
    assert await log(pg_uow, inference(4, T0 - timedelta(hours=23))) == 1  # an existing partition is reused
    async with pg_pool.connection() as conn, conn.transaction():
        await conn.execute("SET LOCAL TimeZone = 'UTC'")
        rows = await (await conn.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c"
            " ON c.oid = i.inhrelid WHERE i.inhparent = 'inferences'::regclass ORDER BY 1")).fetchall()
        placed = await (await conn.execute(
            "SELECT tableoid::regclass::text, inference_id FROM inferences ORDER BY 2")).fetchall()
    assert [name for name, _ in rows] == [partition_name(date(2026, 3, 1)), partition_name(date(2026, 3, 2))]
    assert "2026-03-01 00:00:00+00" in rows[0][1] and "2026-03-02 00:00:00+00" in rows[0][1]
    assert [p for p, _ in placed] == [partition_name(date(2026, 3, d)) for d in (1, 2, 2, 1)]


async def test_concurrent_writers_create_a_new_days_partition_once(pg_uow):
    async def write(n: int) -> int:
        async with pg_uow() as tx:
            added = await tx.add_inferences([inference(n, T0 + timedelta(days=10, seconds=n))])
            await asyncio.sleep(0.05)  # hold the partition lock while the others try
            await tx.commit()
        return added

    assert await asyncio.gather(*(write(n) for n in range(4))) == [1, 1, 1, 1]
    async with pg_uow(readonly=True) as tx:
        assert len(await tx.window(T0, T0 + timedelta(days=11))) == 4


async def test_id_lookups_and_the_list_filters_use_their_indexes(pg_uow, pg_pool):
    await log(pg_uow, inference(1))
    async with pg_pool.connection() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        by_id = await (await conn.execute("EXPLAIN SELECT * FROM inferences WHERE inference_id = 'x'")).fetchall()
        by_key = await (await conn.execute(
            "EXPLAIN SELECT * FROM inferences WHERE key_id = 'k' ORDER BY created_at DESC, inference_id DESC"
            " LIMIT 10")).fetchall()
        open_ = await (await conn.execute(
            "EXPLAIN SELECT * FROM alerts WHERE dedup_key = 'd' AND status <> 'resolved'")).fetchall()
    name = partition_name(date(2026, 3, 1))
    assert f"{name}_inference_id_idx" in str(by_id) and f"{name}_key_id" in str(by_key)
    assert "alerts_unresolved_dedup" in str(open_)


async def test_the_fake_and_postgres_agree_on_random_logs_windows_lists_and_retention(pg_uow):
    """A differential check over seeded random traffic: repeated ids, several days, filters and limits."""
    rng = random.Random(14)
    first_day = date(2026, 2, 26)
    fake = InMemoryMonitoring().unit_of_work

    def at() -> datetime:
        return T0 + timedelta(hours=rng.randrange(-72, 72), microseconds=rng.randrange(3))

    for round_ in range(6):
        batch = [inference(rng.randrange(60), at(), model_version=f"models:/m/{rng.randrange(2)}",
                           key_id=rng.choice(["", "k1", "k2"]), scores={"injection": rng.random()})
                 for _ in range(rng.randrange(30))]
        assert await log(pg_uow, *batch) == await log(fake, *batch)
        start = at()
        end, limit = start + timedelta(hours=rng.randrange(1, 100)), rng.randrange(1, 40)
        query = InferenceQuery(model_version=rng.choice(["", "models:/m/1"]), key_id=rng.choice(["", "k2"]),
                               created_after=rng.choice([None, start]), min_injection_score=rng.random() / 2)
        results = []
        for adapter in (pg_uow, fake):
            async with adapter() as tx:
                results.append((await tx.window(start, end, model_version=query.model_version, limit=limit),
                                await tx.list_inferences(query, Page(limit, None)),
                                await tx.model_versions_since(start),
                                await tx.drop_days_before(first_day + timedelta(days=round_)) if round_ % 2 else 0))
                await tx.commit()
        assert results[0] == results[1]


def feedback(n: int, inference_id: str = "inf-0001", **fields) -> Feedback:
    return Feedback(f"fb-{n}", inference_id, **fields)


async def add_feedback(uow, *items: Feedback) -> list[Feedback]:
    stored = []
    for item in items:
        async with uow() as tx:
            stored.append(await tx.add_feedback(item))
            await tx.commit()
        await asyncio.sleep(0.005)
    return stored


async def test_feedback_round_trips_and_a_taken_request_id_is_already_exists(uow):
    full = feedback(1, rating="negative", score=2.0, categories=("wrong", "rude"), comment="<b>no</b>",
                    correction="better", user="u", tags={"ui": "web"}, given_by="app", request_id="req-1",
                    model_version="models:/m/1")
    [stored] = await add_feedback(uow, full)
    assert stored.created_at is not None and stored == replace(full, created_at=stored.created_at)
    async with uow() as tx:
        with pytest.raises(AlreadyExists) as caught:
            await tx.add_feedback(feedback(2, request_id="req-1"))
        assert caught.value.field == "request_id"
        await tx.add_feedback(feedback(3))  # the transaction is still usable
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert await tx.find_feedback_by_request("req-1") == stored
        assert await tx.find_feedback_by_request("req-2") is None


async def test_feedback_rows_join_their_live_inference_oldest_first_and_filter(uow):
    await log(uow, inference(1, T0 - timedelta(days=2)), inference(2, T0, model_version="models:/m/2"))
    items = await add_feedback(
        uow, feedback(1, "inf-0001", rating="positive", score=5.0, model_version="models:/m/1"),
        feedback(2, "inf-0002", rating="negative", correction="fixed", model_version="models:/m/2"),
        feedback(3, "inf-0002", score=3.0, model_version="models:/m/2"),
        feedback(4, "inf-gone", rating="positive", model_version="models:/m/2"))
    async def ids(tx, limit: int = 10, **query) -> list[str]:
        return [r.feedback.feedback_id for r in await tx.feedback_rows(FeedbackQuery(**query), limit)]

    async with uow(readonly=True) as tx:
        rows = await tx.feedback_rows(FeedbackQuery(), 10)
        assert [(r.feedback, r.inference.inference_id) for r in rows] == [
            (items[0], "inf-0001"), (items[1], "inf-0002"), (items[2], "inf-0002")]  # fb-4's inference is gone
        assert await ids(tx, limit=2) == ["fb-1", "fb-2"]
        assert await ids(tx, model_version="models:/m/2") == ["fb-2", "fb-3"]
        assert await ids(tx, rating="positive") == ["fb-1"]
        assert await ids(tx, min_score=3.0) == ["fb-1", "fb-3"]
        assert await ids(tx, corrections_only=True) == ["fb-2"]
        assert await ids(tx, created_after=items[1].created_at, created_before=items[2].created_at) == ["fb-2"]
    async with uow() as tx:
        await tx.drop_days_before(date(2026, 3, 1))
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert await ids(tx) == ["fb-2", "fb-3"]  # the feedback stays, its dropped inference unlinks it
        assert await tx.find_feedback_by_request("") is None


async def test_a_repeated_alert_counts_occurrences_until_resolved(uow):
    first, new = await raise_alert(uow, candidate(details={"p": math.nan, "n": [1, 2], "s": "x"}))
    assert new and first.status is AlertStatus.OPEN and first.occurrences == 1 and first.raised_at == T0
    assert first.candidate == candidate(details={"p": "NaN", "n": [1, 2], "s": "x"})
    again, new = await raise_alert(uow, candidate(value=0.9), T0 + timedelta(hours=1))
    assert not new and again == replace(first, occurrences=2)  # the first raise's measurement is kept
    other, new = await raise_alert(uow, candidate(subject="eve"))
    assert new and other.alert_id != first.alert_id
    async with uow() as tx:
        alert = await tx.get_alert(first.alert_id, lock=True)
        alert.status, alert.acknowledged_at, alert.acknowledged_by = AlertStatus.ACKNOWLEDGED, T0, "ops"
        await tx.save_alert(alert)
        await tx.commit()
    assert (await raise_alert(uow, candidate()))[0].occurrences == 3  # acknowledged still counts
    async with uow() as tx:
        alert = await tx.get_alert(first.alert_id.upper())
        resolved = replace(alert, status=AlertStatus.RESOLVED, resolved_at=T0, resolved_by="ops")
        await tx.save_alert(resolved)
        await tx.commit()
    fresh, new = await raise_alert(uow, candidate())
    assert new and fresh.alert_id != first.alert_id and fresh.occurrences == 1
    async with uow() as tx:
        assert await tx.get_alert(first.alert_id) == resolved
        assert await tx.get_alert("not-a-uuid") is None and await tx.get_alert(str(uuid.uuid4())) is None
        with pytest.raises(FailedPrecondition):  # reopening would make two unresolved alerts for one key
            await tx.save_alert(replace(resolved, status=AlertStatus.OPEN))


async def test_concurrent_raises_of_one_key_make_one_alert_with_two_occurrences(pg_uow):
    async def raise_one() -> tuple[Alert, bool]:
        async with pg_uow() as tx:
            result = await tx.raise_alert(str(uuid.uuid4()), candidate(), T0)
            await asyncio.sleep(0.05)  # both transactions are open at once
            await tx.commit()
        return result

    (a, new_a), (b, new_b) = await asyncio.gather(raise_one(), raise_one())
    assert sorted([new_a, new_b]) == [False, True] and a.alert_id == b.alert_id
    async with pg_uow(readonly=True) as tx:
        [alert] = await tx.list_alerts(AlertQuery(), Page(10, None))
    assert alert.occurrences == 2


async def test_alerts_page_newest_first_and_filter(uow):
    made = []
    for n, (kind, severity, version) in enumerate([("drift", Severity.INFO, "models:/m/1"),
                                                   ("abuse", Severity.CRITICAL, "models:/m/1"),
                                                   ("drift", Severity.WARNING, "models:/m/2"),
                                                   ("quality", Severity.WARNING, "models:/m/2")]):
        made.append((await raise_alert(uow, candidate(kind=kind, severity=severity, model_version=version,
                                                      subject=str(n)), T0 + timedelta(minutes=n)))[0])
    async with uow() as tx:
        await tx.save_alert(replace(made[2], status=AlertStatus.RESOLVED))
        await tx.commit()
    newest = [a.alert_id for a in reversed(made)]
    tokens = PageTokens(b"k")
    async with uow(readonly=True) as tx:
        pages, token = [], ""
        while True:
            page = tokens.page(3, token, ALERTS_PAGE)
            got = await tx.list_alerts(AlertQuery(), page)
            pages.append([a.alert_id for a in got])
            token = tokens.token(page.next_key(got, lambda a: (a.raised_at, a.alert_id)), ALERTS_PAGE)
            if not token:
                break

        async def ids(**query) -> list[str]:
            return [a.alert_id for a in await tx.list_alerts(AlertQuery(**query), Page(10, None))]

        assert pages == [newest[:3], newest[3:]]
        assert await ids(statuses=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)) == [newest[0], newest[2], newest[3]]
        assert await ids(min_severity="warning") == newest[:3]
        assert await ids(min_severity="critical") == [newest[2]]
        assert await ids(kind="drift", model_version="models:/m/2") == [newest[1]]
        assert await ids(raised_after=T0 + timedelta(minutes=1), raised_before=T0 + timedelta(minutes=3)) == [
            newest[1], newest[2]]
        with pytest.raises(InvalidArgument) as caught:
            await ids(min_severity="fatal")
        assert caught.value.field == "min_severity"


async def test_a_subject_is_blocked_once_and_unblocked_with_its_alert(uow):
    alert_a, alert_b = str(uuid.uuid4()), str(uuid.uuid4())
    async with uow() as tx:
        await tx.add_block(BlockEntry("user", "mallory", alert_a, "attacks"))
        await tx.add_block(BlockEntry("key", "k1", alert_a, "attacks"))
        await tx.add_block(BlockEntry("user", "mallory", alert_b, "again"))  # kept: the first block stays
        await tx.add_block(BlockEntry("user", "eve", alert_b, "spam"))
        await tx.commit()
    async with uow() as tx:
        blocks = await tx.blocks()
        assert [(b.subject_kind, b.subject, b.alert_id) for b in blocks] == [
            ("key", "k1", alert_a), ("user", "eve", alert_b), ("user", "mallory", alert_a)]
        assert all(b.created_at is not None for b in blocks)
        assert await tx.remove_blocks(alert_a) == 2
        assert await tx.remove_blocks(alert_a) == 0
        await tx.commit()
    async with uow(readonly=True) as tx:
        assert [b.subject for b in await tx.blocks()] == ["eve"]


async def test_a_change_commits_with_its_audit_row(pg_uow, pg_pool):
    for commit in (False, True):
        async with pg_uow() as tx:
            await tx.add_block(BlockEntry("key", "k1", str(uuid.uuid4()), "r"))
            tx.audits.append(AuditEntry("ops", "monitoring.block.added", "key:k1", reason="r", detail={"n": 1}))
            if commit:
                await tx.commit()
    async with pg_pool.connection() as conn:
        audit = await (await conn.execute("SELECT actor, action, subject, detail FROM audit_log")).fetchall()
    assert audit == [("ops", "monitoring.block.added", "key:k1", {"n": 1})]
