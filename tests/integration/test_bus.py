"""The bus on a real nats-server: delivery, dedup, retries, dead letters, heartbeats."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest

from llmops_common.bus import (
    HEADER_CORRELATION,
    HEADER_DLQ_DELIVERIES,
    HEADER_DLQ_REASON,
    HEADER_MSG_ID,
    DeliveryPolicy,
    correlation_id,
    heartbeat,
)
from llmops_common.errors import AlreadyExists, Conflict, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from llmops_common.events import Envelope
from llmops_common.events.envelope import EventPayload
from llmops_common.testing.events import dead_letters, event_type
from llmops_common.testing.waiting import wait_for

pytestmark = pytest.mark.integration
FAST = DeliveryPolicy(max_deliveries=3, backoff_seconds=(0.1,), ack_wait_seconds=5)


async def test_events_reach_a_durable_consumer_in_order_with_their_ids(make_bus, unique_name):
    Tested = event_type(unique_name)
    bus = make_bus()
    seen: list[tuple[int, str | None]] = []

    async def handler(env: Envelope) -> None:
        seen.append((env.payload.n, correlation_id.get()))

    bus.subscribe(Tested.event_type, durable=f"c-{unique_name}", handler=handler)
    await bus.start()
    envelopes = [Envelope.wrap(Tested(n=i), producer="tests", correlation_id="corr-1") for i in range(50)]
    acks = await bus.publish_envelopes(envelopes)
    assert not any(a.duplicate for a in acks)
    await wait_for(lambda: len(seen) == 50, what="50 deliveries")
    assert [n for n, _ in seen] == list(range(50))
    assert {c for _, c in seen} == {"corr-1"}
    stored = await bus.js.get_msg("LLMOPS_PIPELINES", acks[0].seq)
    assert stored.headers[HEADER_MSG_ID] == str(envelopes[0].event_id)
    assert stored.headers[HEADER_CORRELATION] == "corr-1"


async def test_a_republished_event_id_is_dropped_by_the_stream(make_bus, unique_name):
    Tested = event_type(unique_name)
    bus = make_bus()
    seen: list[int] = []

    async def handler(env: Envelope) -> None:
        seen.append(env.payload.n)

    bus.subscribe(Tested.event_type, durable=f"c-{unique_name}", handler=handler)
    await bus.start()
    env = Envelope.wrap(Tested(n=1), producer="tests")
    first, again = await bus.publish(env), await bus.publish(env)
    assert not first.duplicate and again.duplicate and again.seq == first.seq
    await bus.publish(Envelope.wrap(Tested(n=2), producer="tests"))
    await wait_for(lambda: 2 in seen, what="the second event")
    assert seen == [1, 2]


async def test_a_poison_message_is_dead_lettered_after_max_deliveries_while_good_ones_flow(make_bus, unique_name):
    Tested = event_type(unique_name)
    bus = make_bus(FAST)
    attempts: dict[int, int] = {}

    async def handler(env: Envelope) -> None:
        attempts[env.payload.n] = attempts.get(env.payload.n, 0) + 1
        if env.payload.n == 0:
            raise RuntimeError("cannot handle zero")

    bus.subscribe(Tested.event_type, durable=f"c-{unique_name}", handler=handler)
    await bus.start()
    await bus.publish_envelopes([Envelope.wrap(Tested(n=i), producer="tests") for i in range(20)])
    await wait_for(lambda: all(attempts.get(i) == 1 for i in range(1, 20)), what="good messages")
    dlq = await dead_letters(bus, "pipelines", f"c-{unique_name}", expect=1)
    assert len(dlq) == 1
    assert json.loads(dlq[0].data)["payload"] == {"n": 0}
    assert "RuntimeError: cannot handle zero" in dlq[0].headers[HEADER_DLQ_REASON]
    assert dlq[0].headers[HEADER_DLQ_DELIVERIES] == "3"
    await asyncio.sleep(0.5)  # on purpose: time for a fourth delivery to arrive, if dead-lettering let one through
    assert attempts[0] == 3


async def test_malformed_and_unknown_events_are_dead_lettered_at_once(make_bus, unique_name):
    Tested = event_type(unique_name)
    bus = make_bus(FAST)
    handled: list[int] = []

    async def handler(env: Envelope) -> None:
        handled.append(env.payload.n)

    bus.subscribe(Tested.event_type, durable=f"c-{unique_name}", handler=handler)
    await bus.start()
    await bus.publish_raw(Tested.event_type, b"{not json", {HEADER_MSG_ID: f"bad-{unique_name}"})
    wrong_version = Envelope.wrap(Tested(n=5), producer="tests").model_dump(mode="json") | {"schema_version": 9}
    await bus.publish_raw(Tested.event_type, json.dumps(wrong_version).encode(), {HEADER_MSG_ID: f"v9-{unique_name}"})
    await bus.publish(Envelope.wrap(Tested(n=7), producer="tests"))
    await wait_for(lambda: handled == [7], what="the good event")
    dlq = await dead_letters(bus, "pipelines", f"c-{unique_name}", expect=2)
    reasons = sorted(m.headers[HEADER_DLQ_REASON] for m in dlq)
    assert "malformed envelope" in reasons[0]
    assert "unknown schema_version 9" in reasons[1]
    assert all(m.headers[HEADER_DLQ_DELIVERIES] == "1" for m in dlq)


async def test_heartbeat_keeps_a_long_handler_from_redelivery(make_bus, unique_name):
    Tested = event_type(unique_name)
    bus = make_bus(DeliveryPolicy(max_deliveries=3, backoff_seconds=(0.1,), ack_wait_seconds=1.0))
    calls: list[int] = []

    async def handler(env: Envelope) -> None:
        calls.append(env.payload.n)
        async with heartbeat(every=0.2):
            await asyncio.sleep(2.5)

    bus.subscribe(Tested.event_type, durable=f"c-{unique_name}", handler=handler)
    await bus.start()
    await bus.publish(Envelope.wrap(Tested(n=1), producer="tests"))
    await wait_for(lambda: calls == [1], what="first delivery")
    await asyncio.sleep(3.5)  # on purpose: past the handler's 2.5 s and the 1 s ack wait, to show no redelivery
    assert calls == [1]
    info = await bus.js.consumer_info("LLMOPS_PIPELINES", f"c-{unique_name}")
    assert info.num_ack_pending == 0 and info.num_redelivered == 0


async def test_a_permanent_failure_is_dead_lettered_on_its_first_delivery_and_a_transient_one_is_retried(
        make_bus, unique_name):
    Tested = event_type(unique_name)
    bus = make_bus(FAST)
    attempts: dict[int, int] = {}
    failures = {0: NotFound("no model version m/9"), 1: InvalidArgument("bad metric", field="metrics"),
                2: AlreadyExists("run exists"), 3: FailedPrecondition("base missing"),
                4: Unavailable("database away"), 5: Conflict("alias being moved"),
                6: psycopg.OperationalError("connection lost"), 7: TimeoutError("slow")}

    async def handler(env: Envelope) -> None:
        n = env.payload.n
        attempts[n] = attempts.get(n, 0) + 1
        if n in failures and not (n == 4 and attempts[n] == 3):  # 4 recovers on its last allowed delivery
            raise failures[n]

    bus.subscribe(Tested.event_type, durable=f"c-{unique_name}", handler=handler)
    await bus.start()
    await bus.publish_envelopes([Envelope.wrap(Tested(n=i), producer="tests") for i in range(9)])
    dlq = await dead_letters(bus, "pipelines", f"c-{unique_name}", expect=7)
    by_n = {json.loads(m.data)["payload"]["n"]: m.headers for m in dlq}
    assert sorted(by_n) == [0, 1, 2, 3, 5, 6, 7]
    for n in (0, 1, 2, 3):  # permanent: the first delivery is the only one
        assert by_n[n][HEADER_DLQ_DELIVERIES] == "1"
        assert by_n[n][HEADER_DLQ_REASON].startswith(f"permanent failure: {type(failures[n]).__name__}")
    assert "metrics: bad metric" in by_n[1][HEADER_DLQ_REASON]
    for n in (5, 6, 7):  # transient: retried with backoff until the deliveries run out
        assert by_n[n][HEADER_DLQ_DELIVERIES] == "3" and by_n[n][HEADER_DLQ_REASON].startswith("failed after 3")
    await asyncio.sleep(0.5)  # on purpose: time for an extra delivery to arrive, if one were made
    assert {n: attempts[n] for n in range(9)} == {0: 1, 1: 1, 2: 1, 3: 1, 4: 3, 5: 3, 6: 3, 7: 3, 8: 1}


async def test_payloads_with_nul_characters_or_non_finite_numbers_are_dead_lettered_at_once(make_bus, unique_name):
    Scored = type(f"Scored_{unique_name}", (EventPayload,), {"__annotations__": {"label": str, "score": float}},
                  event_type=f"llmops.pipelines.{unique_name}.scored")
    bus = make_bus(FAST)
    handled: list[str] = []

    async def handler(env: Envelope) -> None:
        handled.append(env.payload.label)

    bus.subscribe(Scored.event_type, durable=f"c-{unique_name}", handler=handler)
    await bus.start()
    good = Envelope.wrap(Scored(label="fine", score=0.5), producer="tests")
    for i, (label, score) in enumerate((("nul\\u0000byte", "0.5"), ("nan", "NaN"), ("inf", "-Infinity"),
                                        ("huge", "1e999"))):
        # only the payload's fields change: a bare "0.5" also matches inside occurred_at's time
        body = good.model_dump_json().replace('"fine"', f'"{label}"').replace('"score":0.5', f'"score":{score}')
        await bus.publish_raw(Scored.event_type, body.encode(), {HEADER_MSG_ID: f"bad{i}-{unique_name}"})
    await bus.publish(good)
    await wait_for(lambda: handled == ["fine"], what="the good event")
    dlq = await dead_letters(bus, "pipelines", f"c-{unique_name}", expect=4)
    reasons = sorted(m.headers[HEADER_DLQ_REASON] for m in dlq)
    assert len(reasons) == 4 and all(m.headers[HEADER_DLQ_DELIVERIES] == "1" for m in dlq)
    assert all(r.startswith("rejected: payload") and ("score" in r or "label" in r) for r in reasons), reasons
    assert sum("NUL" in r for r in reasons) == 1 and sum("finite" in r for r in reasons) == 3
    await asyncio.sleep(0.3)  # on purpose: time for a rejected payload to reach the handler, if one could
    assert handled == ["fine"]
