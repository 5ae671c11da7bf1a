"""Waiting in tests: poll a condition until it holds, or fail naming what was awaited and what was last seen.

Tests wait on the condition a sleep would stand for, never on time. A sleep stays only where a test lets
time pass on purpose to show that something does *not* happen, and says so.
"""

from __future__ import annotations

import asyncio
import inspect
import reprlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
INTERVAL = 0.05
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 200


def _check_deadline(now: float, deadline: float, timeout: float, what: str, last: object) -> None:
    if now >= deadline:
        raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last saw {_repr.repr(last)}") from (
            last if isinstance(last, BaseException) else None)


async def wait_for(condition: Callable[[], T | Awaitable[T]], timeout: float = 20.0, *, what: str,
                   interval: float = INTERVAL, retry_on: tuple[type[BaseException], ...] = ()) -> T:
    """Call ``condition`` (sync or async) every ``interval`` seconds until it returns something truthy;
    return that value. An exception listed in ``retry_on`` counts as "not yet"; any other propagates.
    On timeout, raise AssertionError naming ``what`` and the last value (or exception) seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            last = condition()
            if inspect.isawaitable(last):
                last = await last
            if last:
                return last
        except retry_on as exc:
            last = exc
        _check_deadline(loop.time(), deadline, timeout, what, last)
        await asyncio.sleep(interval)


def wait_for_sync(condition: Callable[[], T], timeout: float = 20.0, *, what: str, interval: float = INTERVAL,
                  retry_on: tuple[type[BaseException], ...] = ()) -> T:
    """``wait_for`` for synchronous tests: the same contract, blocking the calling thread."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            last = condition()
            if last:
                return last
        except retry_on as exc:
            last = exc
        _check_deadline(time.monotonic(), deadline, timeout, what, last)
        time.sleep(interval)
