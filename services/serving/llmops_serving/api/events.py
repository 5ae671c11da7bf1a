"""Events in and out: the per-replica alias subscription, and publishing what the reloader reports."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nats.errors import Error as NatsError

from llmops_common.bus import Bus
from llmops_common.events import Envelope
from llmops_common.events.envelope import EventPayload
from llmops_common.events.registry import AliasMoved
from llmops_serving.reloader import Emit, Reloader

log = logging.getLogger(__name__)
PRODUCER = "serving"
EMIT_ATTEMPTS = 8


def subscribe(bus: Bus, reloader: Reloader, *, replica: str) -> None:
    async def on_alias_moved(envelope: Envelope[Any]) -> None:
        await reloader.on_alias_moved(AliasMoved.model_validate(envelope.payload), envelope.correlation_id)

    bus.subscribe(AliasMoved.event_type, durable=f"serving-{replica}", handler=on_alias_moved, per_replica=True)


def emitter(bus: Bus) -> Emit:
    """Publish, retrying with backoff while NATS is unreachable (the route has already switched, so the
    report is retried rather than the reload)."""

    async def emit(payload: EventPayload, correlation_id: str | None) -> None:
        envelope = Envelope.wrap(payload, producer=PRODUCER, correlation_id=correlation_id)
        for attempt in range(EMIT_ATTEMPTS):
            try:
                await bus.publish(envelope)
                return
            except (NatsError, TimeoutError, OSError, RuntimeError) as exc:
                log.warning("publishing %s failed (%s), attempt %d", payload.event_type, exc, attempt + 1)
                await asyncio.sleep(min(2**attempt * 0.25, 10))
        log.error("gave up publishing %s for %s", payload.event_type, getattr(payload, "deployment", "?"))

    return emit
