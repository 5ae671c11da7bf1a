"""Reading the bus for ``llmops events tail``: the stored events of each stream up to a snapshot of its
last sequence, then an ordered push consumer per stream from the next sequence on."""

from __future__ import annotations

import asyncio
import collections
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from llmops_cli.event_lines import Event, TailOptions, stream_filters
from llmops_common.bus import ensure_streams
from llmops_common.errors import Unavailable
from llmops_common.settings import CommonSettings

FETCH_BATCH = 256


def event_of(stream: str, msg: Msg) -> Event:
    meta = msg.metadata
    return Event(stream, meta.sequence.stream, msg.subject, meta.timestamp, msg.data)


async def replay(js: JetStreamContext, stream: str, subject: str, upto: int, *, since: datetime | None,
                 last: int | None) -> list[Event]:
    """Stored events on ``subject`` up to sequence ``upto`` (from ``since``; only the ``last`` ones)."""
    config = ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=30.0, mem_storage=True,
                            deliver_policy=DeliverPolicy.BY_START_TIME if since else DeliverPolicy.ALL,
                            opt_start_time=since.isoformat() if since else None)
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    try:
        remaining = (await sub.consumer_info()).num_pending
        kept: collections.deque[Event] = collections.deque(maxlen=last)
        while remaining > 0:
            try:
                batch = await sub.fetch(min(remaining, FETCH_BATCH), timeout=5.0)
            except NatsTimeoutError:  # the rest aged out of the stream meanwhile
                break
            remaining -= len(batch)
            for msg in batch:
                if msg.metadata.sequence.stream > upto:
                    return list(kept)
                kept.append(event_of(stream, msg))
        return list(kept)
    finally:
        await sub.unsubscribe()


async def tail(nc: nats.NATS, options: TailOptions, emit: Any, ready: Any = None) -> int:
    """Call ``emit`` with every event the options select; the number emitted. ``ready`` is called with
    the streams read once every later event is sure to be seen."""
    pairs = stream_filters(options.subject)
    js = nc.jetstream()
    await ensure_streams(js)  # as every service does at start, so a tail can wait for the first event
    upto = {stream: (await js.stream_info(stream)).state.last_seq for stream, _ in pairs}
    emitted = 0

    def done() -> bool:
        return options.count is not None and emitted >= options.count

    if options.since is not None or options.last is not None:
        since = datetime.now(UTC) - options.since if options.since is not None else None
        history: list[Event] = []
        for stream, subject in pairs:
            history += await replay(js, stream, subject, upto[stream], since=since, last=options.last)
        history.sort(key=lambda e: e.stored_at)
        for event in history[-options.last:] if options.last is not None else history:
            if done():
                return emitted
            emit(event)
            emitted += 1
    queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=10_000)
    subs = []
    for stream, subject in pairs:
        async def deliver(msg: Msg, stream: str = stream) -> None:
            await queue.put(event_of(stream, msg))

        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=upto[stream] + 1)
        subs.append(await js.subscribe(subject, stream=stream, cb=deliver, ordered_consumer=True, config=config))
    if ready is not None:
        ready([stream for stream, _ in pairs])
    try:
        while not done():
            emit(await queue.get())
            emitted += 1
    finally:
        for sub in subs:
            await sub.unsubscribe()
    return emitted


async def run_tail(settings: CommonSettings, options: TailOptions, emit: Any, ready: Any = None) -> int:
    password = settings.nats_password.get_secret_value() if settings.nats_password else None
    auth = {"user": settings.nats_user, "password": password} if settings.nats_user else {}
    try:
        nc = await nats.connect(settings.nats_url, connect_timeout=3, max_reconnect_attempts=3, allow_reconnect=True,
                                **auth)
    except (OSError, NatsError) as exc:
        raise Unavailable(f"cannot reach NATS at {settings.nats_url}: {exc}") from None
    try:
        if options.timeout is None:
            return await tail(nc, options, emit, ready)
        try:
            return await asyncio.wait_for(tail(nc, options, emit, ready), options.timeout)
        except TimeoutError:
            return -1
    finally:
        await nc.close()
