"""Benchmark: events/s end to end through the project's bus against raw nats-py, same server.

Project: ``Bus.publish_envelopes`` (pipelined JetStream publishes with Nats-Msg-Id and correlation
headers) -> a durable consumer -> ``_Dispatcher`` (envelope parsed and validated, handler called,
explicit ack). Baseline: raw nats-py ``publish_async`` of the same messages (the envelope serialized
the same way, the same headers, inside the clock as for the project) -> a push consumer whose
callback acks without parsing. Both use a stream with the same settings (file storage, 2-minute
duplicate window) on the same nats-server. Also measures the outbox relay (Postgres -> NATS).

    python bench/bus.py [--quick] [--events N] [--rounds R]

The last line printed is one JSON object (see CONVENTIONS.md, habit 10).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from llmops_common.bus import Bus, DeliveryPolicy
from llmops_common.db import load_migrations, make_pool, migrate
from llmops_common.embedded import EmbeddedStack, StackPorts
from llmops_common.events import Envelope
from llmops_common.events.envelope import EventPayload
from llmops_common.outbox import OutboxRelay, add_to_outbox
from llmops_common.settings import CommonSettings

PAYLOAD_BYTES = 200
TARGET = 0.8


class BenchEvent(EventPayload, event_type="llmops.pipelines.bench.measured"):
    n: int
    blob: str


def make_envelopes(count: int) -> list[Envelope]:
    blob = "x" * (PAYLOAD_BYTES - 30)
    return [Envelope.wrap(BenchEvent(n=i, blob=blob), producer="bench", correlation_id="bench") for i in range(count)]


async def run_project(settings: CommonSettings, count: int, durable: str) -> float:
    bus = Bus(settings, producer="bench", policy=DeliveryPolicy(max_ack_pending=count))
    done = asyncio.Event()
    received = 0

    async def handler(envelope: Envelope) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    bus.subscribe(BenchEvent.event_type, durable=durable, handler=handler)
    await bus.start()
    await bus.js.purge_stream("LLMOPS_PIPELINES", subject=BenchEvent.event_type)
    envelopes = make_envelopes(count)  # built before the clock: the baseline gets its bytes ready-made too
    started = time.perf_counter()
    await bus.publish_envelopes(envelopes)
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - started
    await bus.js.delete_consumer("LLMOPS_PIPELINES", durable)
    await bus.stop()
    return count / elapsed


async def run_raw(url: str, count: int, durable: str) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    stream = "BENCH_RAW"
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(stream)
    await js.add_stream(StreamConfig(name=stream, subjects=["bench.raw.>"], storage=StorageType.FILE,
                                     duplicate_window=120.0))
    envelopes = make_envelopes(count)
    done = asyncio.Event()
    received = 0

    async def callback(msg) -> None:
        nonlocal received
        await msg.ack()
        received += 1
        if received == count:
            done.set()

    config = ConsumerConfig(durable_name=durable, deliver_group=durable, ack_policy=AckPolicy.EXPLICIT,
                            deliver_policy=DeliverPolicy.ALL, max_ack_pending=count)
    await js.subscribe("bench.raw.e", queue=durable, cb=callback, manual_ack=True, stream=stream, config=config)
    started = time.perf_counter()
    # The same messages as the project's: the same serialized envelope and the same headers, made the
    # way a hand-written nats-py producer would, inside the clock as they are for the project.
    futures = [
        await js.publish_async(
            "bench.raw.e",
            e.model_dump_json().encode(),
            headers={"Nats-Msg-Id": str(e.event_id), "llmops-correlation-id": e.correlation_id,
                     "llmops-event-type": e.type, "llmops-schema-version": str(e.schema_version)},
        )
        for e in envelopes
    ]
    await asyncio.gather(*futures)
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - started
    await js.delete_stream(stream)
    await nc.close()
    return count / elapsed


async def run_outbox(settings: CommonSettings, count: int) -> float:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    pool = make_pool(settings.postgres_dsn, schema, max_size=4)
    await pool.open(wait=True)
    bus = Bus(settings, producer="bench")
    await bus.start()
    try:
        async with pool.connection() as conn:
            await migrate(conn, schema, load_migrations("llmops_common", "migrations/service", source="common"))
            async with conn.transaction():
                await add_to_outbox(conn, *make_envelopes(count))
        relay = OutboxRelay(pool, bus.publish_many, schema=schema, batch_size=500)
        started = time.perf_counter()
        published = 0
        while published < count:
            published += await relay.relay_once()
        return count / (time.perf_counter() - started)
    finally:
        await bus.stop()
        async with pool.connection() as conn:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await pool.close()


async def main(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        stack = EmbeddedStack(Path(tmp), StackPorts.free())
        stack.up()
        try:
            settings = CommonSettings(**{k.removeprefix("LLMOPS_").lower(): v for k, v in stack.env().items()})
            project, raw = [], []
            for r in range(args.rounds):  # interleaved, so drift on the machine hits both alike
                raw.append(await run_raw(stack.nats_url, args.events, f"raw{r}"))
                project.append(await run_project(settings, args.events, f"bench{r}-{uuid.uuid4().hex[:6]}"))
                print(f"round {r + 1}: project {project[-1]:,.0f}/s  raw nats-py {raw[-1]:,.0f}/s", flush=True)
            outbox = await run_outbox(settings, args.events)
        finally:
            stack.down()
    project_rate, raw_rate = statistics.median(project), statistics.median(raw)
    print(f"bus end to end: project {project_rate:,.0f} events/s, raw nats-py {raw_rate:,.0f} events/s, "
          f"ratio {project_rate / raw_rate:.2f} (target {TARGET})")
    print(f"outbox relay: {outbox:,.0f} events/s (Postgres -> NATS, batches of 500)")
    return {
        "bench": "bus",
        "ratio": round(project_rate / raw_rate, 3),
        "target": TARGET,
        "project_per_s": round(project_rate),
        "baseline_per_s": round(raw_rate),
        "outbox_relay_per_s": round(outbox),
        "events": args.events,
        "rounds": args.rounds,
        "message_bytes": len(make_envelopes(1)[0].to_bytes()),
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same comparison at a size that runs in < 1 min")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    ns = parser.parse_args()
    ns.events = ns.events or (10_000 if ns.quick else 100_000)
    print(json.dumps(asyncio.run(main(ns))))
