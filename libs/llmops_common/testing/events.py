"""Helpers for tests that drive the bus: throwaway event types, waiting, and reading dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats.errors

from llmops_common.bus import HEADER_DLQ_CONSUMER, Bus
from llmops_common.events.envelope import EventPayload


def event_type(name: str) -> type[EventPayload]:
    """A payload class with its own subject (``llmops.pipelines.<name>.tested``), so tests never share one."""
    return type(f"Tested_{name}", (EventPayload,), {"__annotations__": {"n": int}},
                event_type=f"llmops.pipelines.{name}.tested")


async def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def dead_letters(bus: Bus, context: str, consumer: str, *, expect: int, timeout: float = 20.0) -> list:
    """The DLQ messages ``consumer`` produced, waiting until ``expect`` of them arrived."""
    sub = await bus.js.subscribe(f"llmops.dlq.{context}", stream="LLMOPS_DLQ", ordered_consumer=True)
    found = []
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while len(found) < expect and asyncio.get_running_loop().time() < deadline:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                continue
            if (msg.headers or {}).get(HEADER_DLQ_CONSUMER) == consumer:
                found.append(msg)
    finally:
        await sub.unsubscribe()
    return found
