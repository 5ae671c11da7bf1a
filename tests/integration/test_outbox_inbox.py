"""The outbox relay loses nothing across a SIGKILL, and the inbox absorbs what is delivered twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from llmops_common.bus import HEADER_MSG_ID
from llmops_common.events import Envelope
from llmops_common.inbox import claim_event
from llmops_common.outbox import OutboxRelay, add_to_outbox
from llmops_common.testing.events import event_type
from llmops_common.testing.waiting import wait_for

pytestmark = pytest.mark.integration
N = 200


async def test_relay_killed_mid_batch_then_restarted_publishes_everything_once(
    pg_pool, make_bus, stack_env, unique_name, tmp_path
):
    Tested = event_type(unique_name)
    envelopes = [Envelope.wrap(Tested(n=i), producer="tests") for i in range(N)]
    async with pg_pool.connection() as conn:
        await conn.execute("CREATE TABLE side_effects (event_id uuid NOT NULL, n int NOT NULL)")
        async with conn.transaction():
            await add_to_outbox(conn, *envelopes)

    consumer = make_bus()
    handled = 0

    async def count_once(env: Envelope) -> None:
        nonlocal handled
        async with pg_pool.connection() as conn, conn.transaction():
            if await claim_event(conn, "side-effects", env.event_id):
                await conn.execute("INSERT INTO side_effects VALUES (%s, %s)", (env.event_id, env.payload.n))
        handled += 1

    consumer.subscribe(Tested.event_type, durable=f"c-{unique_name}", handler=count_once)
    await consumer.start()

    marker = tmp_path / "half-published"
    worker = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("outbox_relay_worker.py")), unique_name, str(marker)],
        env={**os.environ, **stack_env},
    )
    try:
        await wait_for(marker.exists, timeout=30, what="the relay to publish half a batch")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    half = int(marker.read_text())
    await wait_for(lambda: handled == half, what="the half that was published before the kill")

    relay = OutboxRelay(pg_pool, consumer.publish_many, schema=unique_name, batch_size=1000)
    assert await relay.pending() == N  # nothing was marked: the killed batch never committed
    assert await relay.relay_once() == N
    assert await relay.pending() == 0
    await wait_for(lambda: handled >= N, what="every event")
    await asyncio.sleep(0.5)  # on purpose: time for a republished duplicate to arrive, if the stream let one through
    assert handled == N, "the stream's duplicate window should have dropped the republished half"

    # Past the duplicate window (simulated by publishing without Nats-Msg-Id) the inbox absorbs repeats.
    await consumer.publish_many(
        (e.subject, e.to_bytes(), {HEADER_MSG_ID: f"replay-{e.event_id}"}) for e in envelopes[:10]
    )
    await wait_for(lambda: handled == N + 10, what="the replayed events")
    async with pg_pool.connection() as conn:
        rows = await (await conn.execute("SELECT count(*), count(DISTINCT event_id), sum(n) "
                                         "FROM side_effects")).fetchone()
    assert rows == (N, N, sum(range(N)))


async def test_outbox_rows_exist_only_if_the_transaction_commits(pg_pool, unique_name):
    Tested = event_type(unique_name)
    with pytest.raises(RuntimeError, match="boom"):
        async with pg_pool.connection() as conn, conn.transaction():
            await add_to_outbox(conn, Envelope.wrap(Tested(n=1), producer="tests"))
            raise RuntimeError("boom")
    async with pg_pool.connection() as conn:
        with pytest.raises(RuntimeError, match="inside the transaction"):
            await add_to_outbox(conn, Envelope.wrap(Tested(n=2), producer="tests"))
        count = await (await conn.execute("SELECT count(*) FROM outbox")).fetchone()
    assert count == (0,)


async def outbox_listeners(pool) -> int:
    """How many sessions have finished ``LISTEN llmops_outbox`` and now wait for notifications."""
    async with pool.connection() as conn:
        row = await (await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle' AND query = 'LISTEN llmops_outbox'")).fetchone()
    return row[0]


async def test_relay_loop_wakes_on_notify_and_publishes_in_order(pg_pool, make_bus, unique_name):
    Tested = event_type(unique_name)
    bus = make_bus()
    seen: list[int] = []

    async def handler(env: Envelope) -> None:
        seen.append(env.payload.n)

    bus.subscribe(Tested.event_type, durable=f"c-{unique_name}", handler=handler)
    await bus.start()
    stop = asyncio.Event()
    relay = OutboxRelay(pg_pool, bus.publish_many, schema=unique_name, batch_size=7, poll_seconds=30)
    before = await outbox_listeners(pg_pool)
    task = asyncio.create_task(relay.run(stop))
    try:
        async def listening() -> bool:
            return await outbox_listeners(pg_pool) > before

        await wait_for(listening, what="the relay to LISTEN for the outbox's NOTIFY")
        for start in (0, 10, 20):
            async with pg_pool.connection() as conn, conn.transaction():
                await add_to_outbox(conn, *[Envelope.wrap(Tested(n=i), producer="t") for i in range(start, start + 10)])
        await wait_for(lambda: len(seen) == 30, timeout=10, what="30 events without waiting for the 30 s poll")
        assert seen == list(range(30))
    finally:
        stop.set()
        await task


async def test_inbox_claims_once_per_consumer(pg_pool):
    import uuid

    event_id = uuid.uuid4()
    async with pg_pool.connection() as conn:
        async with conn.transaction():
            assert await claim_event(conn, "a", event_id)
            assert not await claim_event(conn, "a", event_id)
            assert await claim_event(conn, "b", event_id)
        with pytest.raises(RuntimeError):
            await claim_event(conn, "c", event_id)
