"""The filters and tests templates may use: an allow-list of Jinja's own, each wrapped so that it
counts one step of the render's budget, is checked before it builds anything large, and has its
result counted against the build budget.

Left out: ``pprint``, ``random``, ``xmlattr``, ``urlize``, ``urlencode``, ``wordwrap``,
``filesizeformat``, ``safe`` and ``forceescape`` (surprising, unbounded or pointless without
autoescaping). A template that names one is refused at validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.filters import make_attrgetter
from jinja2.tests import TESTS as JINJA_TESTS
from jinja2.utils import pass_environment

from llmops_common.templating import bounds
from llmops_common.templating.budget import budgeted, current
from llmops_common.templating.limits import MAX_SEQUENCE, RenderRefused

#: past a float's 308 digits a precision means nothing, and ``10 ** precision`` is what ``round`` computes
_MAX_PRECISION = 400
#: the name the For-loop instrumentation uses; it cannot be written in a template
LOOP_BUDGET = "llmops loop budget"

_PLAIN = ("abs", "attr", "count", "d", "default", "first", "float", "int", "items", "last", "length", "list", "map",
          "reject", "rejectattr", "reverse", "select", "selectattr")
#: filters that compare or hash their input's items: its data is bounded first
_COMPARING = ("dictsort", "groupby", "max", "min", "sort", "unique")
_TEXT = ("capitalize", "e", "escape", "lower", "string", "striptags", "title", "trim", "truncate", "upper",
         "wordcount")


def _text(value: Any, *args: Any, **kwargs: Any) -> None:
    bounds.as_text(value)


def _count(value: Any, name: str) -> None:
    if not isinstance(value, int) or not 0 < value <= MAX_SEQUENCE:
        raise RenderRefused(f"{name} takes a count from 1 to {MAX_SEQUENCE:,}")


def _check_indent(text: Any, width: Any = 4, first: bool = False, blank: bool = False) -> None:
    bounds.as_text(text)
    if isinstance(text, str):
        unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        bounds.bounded(len(text) + (text.count("\n") + 1) * max(0, unit), "indent")


def _check_center(text: Any, width: Any = 80) -> None:
    bounds.as_text(text)
    if isinstance(text, str):
        bounds.check_width(text, width, "center")


def _check_replace(text: Any, old: Any = None, new: Any = None, count: Any = None) -> None:
    bounds.as_text(text)
    if isinstance(text, str):
        bounds.check_replace(text, old, new, count)


def _check_format(value: Any, *args: Any, **kwargs: Any) -> None:
    bounds.as_text(value)
    bounds.check_printf(str(value), kwargs or args)


def _check_batch(value: Any, linecount: Any, fill_with: Any = None) -> None:
    _count(linecount, "batch")


def _check_slice(value: Any, slices: Any, fill_with: Any = None) -> None:
    _count(slices, "slice")


def _check_round(value: Any, precision: Any = 0, method: Any = "common") -> None:
    if not isinstance(precision, int) or abs(precision) > _MAX_PRECISION:
        raise RenderRefused(f"round takes a precision from -{_MAX_PRECISION} to {_MAX_PRECISION}")


def _compared(value: Any, *args: Any, **kwargs: Any) -> None:
    bounds.comparable(value)


def _check_tojson(value: Any, indent: Any = None) -> None:
    bounds.data_size(value)


@pass_environment
def _sum(environment: Any, iterable: Iterable[Any], attribute: Any = None, start: Any = 0) -> Any:
    """``sum`` with every ``+`` bounded like the template's own."""
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    total = start
    for item in iterable:
        bounds.BINOP_CHECKS["+"](total, item)
        total = total + item
    return total


def _divisibleby(value: Any, num: Any) -> bool:
    if not isinstance(value, int | float) or not isinstance(num, int | float):
        raise RenderRefused("divisibleby takes numbers")
    return value % num == 0


def guarded(function: Callable[..., Any], check: Callable[..., None] | None = None) -> Callable[..., Any]:
    """``function`` as a template filter: one budget step, ``check`` on its arguments before it runs,
    and its result counted against the build budget."""
    pass_arg = getattr(function, "jinja_pass_arg", None)
    if pass_arg is None:
        def filter_(value: Any, *args: Any, **kwargs: Any) -> Any:
            budget = current()
            budget.tick()
            if check is not None:
                check(value, *args, **kwargs)
            return budget.charge(function(value, *args, **kwargs))
    else:
        def filter_(passed: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            budget = current()
            budget.tick()
            if check is not None:
                check(value, *args, **kwargs)
            return budget.charge(function(passed, value, *args, **kwargs))
        filter_.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    filter_.__name__ = getattr(function, "__name__", "filter")
    return filter_


@pass_environment
def _join(environment: Any, value: Iterable[Any], d: Any = "", attribute: Any = None) -> str:
    """``join`` with the joined length checked before the string is built."""
    if attribute is not None:
        value = map(make_attrgetter(environment, attribute), value)
    items, separator = list(value), bounds.as_text(d)
    bounds.check_join(str(separator), items)
    return str(separator).join([v if type(v) is str else str(v) for v in items])


FILTERS: dict[str, Callable[..., Any]] = {
    **{name: guarded(JINJA_FILTERS[name]) for name in _PLAIN},
    **{name: guarded(JINJA_FILTERS[name], _text) for name in _TEXT},
    **{name: guarded(JINJA_FILTERS[name], _compared) for name in _COMPARING},
    "batch": guarded(JINJA_FILTERS["batch"], _check_batch),
    "center": guarded(JINJA_FILTERS["center"], _check_center),
    "format": guarded(JINJA_FILTERS["format"], _check_format),
    "indent": guarded(JINJA_FILTERS["indent"], _check_indent),
    "join": guarded(_join),
    "replace": guarded(JINJA_FILTERS["replace"], _check_replace),
    "round": guarded(JINJA_FILTERS["round"], _check_round),
    "slice": guarded(JINJA_FILTERS["slice"], _check_slice),
    "sum": guarded(_sum),
    "tojson": guarded(JINJA_FILTERS["tojson"], _check_tojson),
    LOOP_BUDGET: budgeted,
}


def _comparing(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(value: Any, other: Any) -> bool:
        return test(bounds.comparable(value), bounds.comparable(other))
    return compare


TESTS: dict[str, Callable[..., Any]] = {
    **JINJA_TESTS,
    **{name: _comparing(test) for name, test in JINJA_TESTS.items()
       if name in ("in", "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", ">=", "ge", "<", "lt",
                   "lessthan", "<=", "le")},
    "divisibleby": _divisibleby,
}
