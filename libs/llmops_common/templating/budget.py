"""One render's budget: steps (loop iterations, calls, filters), a deadline, call depth, ``range``
items, and the total size of what it builds.

The budget lives in a context variable, so renders running at once in several threads (or tasks)
each count their own. The sandbox's hooks find it with ``current()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextvars import ContextVar, Token
from time import monotonic
from typing import Any

from llmops_common.templating.limits import (
    MAX_BUILT_SIZE,
    MAX_OUTPUT_CHARS,
    MAX_RANGE_TOTAL,
    MAX_STEPS,
    RENDER_SECONDS,
    RenderRefused,
)

#: a sized iterable this short is charged at loop entry; longer ones (and iterators) per item
_CHARGE_AT_ENTRY = 64
_SIZED = (str, list, tuple, dict)
_SIZED_ITERABLES = (*_SIZED, range)


class Budget:
    __slots__ = ("seconds", "steps", "deadline", "depth", "range_left", "built_left")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.steps = MAX_STEPS
        self.deadline = monotonic() + seconds
        self.depth = 0
        self.range_left = MAX_RANGE_TOTAL
        self.built_left = MAX_BUILT_SIZE

    def tick(self, steps: int = 1) -> None:
        """Count ``steps`` and check the deadline."""
        self.steps -= steps
        if self.steps < 0:
            raise RenderRefused(f"the render took more than {MAX_STEPS:,} steps (loop iterations, calls and filters)")
        if monotonic() > self.deadline:
            raise RenderRefused(f"the render took longer than {self.seconds:g} s")

    def charge(self, value: Any) -> Any:
        """``value``, counted against the render's build budget if it is a string, list or mapping."""
        if isinstance(value, _SIZED):
            size = len(value)
            if size > MAX_OUTPUT_CHARS:
                raise RenderRefused(f"a value of {size:,} characters or items was built; the limit is "
                                    f"{MAX_OUTPUT_CHARS:,}")
            self.built_left -= size
            if self.built_left < 0:
                raise RenderRefused(f"the render built more than {MAX_BUILT_SIZE:,} characters and items in all")
        return value


_current: ContextVar[Budget | None] = ContextVar("llmops_template_budget", default=None)


def current() -> Budget:
    budget = _current.get()
    if budget is None:
        raise RenderRefused("templates render only through llmops_common.templating.render")
    return budget


def begin(seconds: float = RENDER_SECONDS) -> Token[Budget | None]:
    """Give this context a fresh budget; pass the token to ``end`` when the render is over."""
    return _current.set(Budget(seconds))


def end(token: Token[Budget | None]) -> None:
    _current.reset(token)


def budgeted(iterable: Iterable[Any]) -> Iterable[Any]:
    """What every ``{% for %}`` iterates (and every recursive ``loop(...)``): a short sized iterable is
    charged in one go; anything else one step per item, so a loop stops at the step or second it
    crosses its budget."""
    budget = current()
    if isinstance(iterable, _SIZED_ITERABLES) and len(iterable) <= _CHARGE_AT_ENTRY:
        budget.tick(len(iterable) + 1)
        return iterable
    return _per_item(iterable, budget)


def _per_item(iterable: Iterable[Any], budget: Budget) -> Iterator[Any]:
    tick = budget.tick
    for item in iterable:
        tick()
        yield item


def budgeted_range(*args: int) -> range:
    """The templates' ``range``: every call draws from one budget per render."""
    values = range(*args)
    budget = current()
    try:
        budget.range_left -= len(values)
    except OverflowError:
        budget.range_left = -1
    if budget.range_left < 0:
        raise RenderRefused(f"range() may produce at most {MAX_RANGE_TOTAL:,} items per render")
    return values
