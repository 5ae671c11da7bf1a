"""Helpers for tests that drive the bus: throwaway event types and reading dead letters."""

from __future__ import annotations

import nats.errors

from llmops_common.bus import HEADER_DLQ_CONSUMER, Bus
from llmops_common.events.envelope import EventPayload
from llmops_common.testing.waiting import wait_for


def event_type(name: str) -> type[EventPayload]:
    """A payload class with its own subject (``llmops.pipelines.<name>.tested``), so tests never share one."""
    return type(f"Tested_{name}", (EventPayload,), {"__annotations__": {"n": int}},
                event_type=f"llmops.pipelines.{name}.tested")


async def dead_letters(bus: Bus, context: str, consumer: str, *, expect: int, timeout: float = 20.0) -> list:
    """The DLQ messages ``consumer`` produced, waiting until ``expect`` of them arrived."""
    sub = await bus.js.subscribe(f"llmops.dlq.{context}", stream="LLMOPS_DLQ", ordered_consumer=True)
    found = []

    async def enough() -> bool:
        msg = await sub.next_msg(timeout=0.5)
        if (msg.headers or {}).get(HEADER_DLQ_CONSUMER) == consumer:
            found.append(msg)
        return len(found) >= expect

    try:
        await wait_for(enough, timeout, what=f"{expect} dead letters from {consumer}", interval=0,
                       retry_on=(nats.errors.TimeoutError,))
    finally:
        await sub.unsubscribe()
    return found
