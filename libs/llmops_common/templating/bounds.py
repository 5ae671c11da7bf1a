"""Checks made before a value is built: how big a string, list or number an operation would make,
and whether a value is plain data that may be printed.

Plain data is what variables can hold (str, int, float, bool, None, and lists, tuples and mappings
of those). Anything else (a method, a generator, a macro, ``self``, ``loop``) is refused wherever a
render would turn it into text, so no ``<... at 0x...>`` representation (a memory address) is ever
printed.
"""

from __future__ import annotations

import operator
import re
import string
from collections.abc import Callable
from typing import Any

from jinja2.runtime import Undefined

from llmops_common.templating.limits import MAX_INT_BITS, MAX_OUTPUT_CHARS, MAX_SEQUENCE, RenderRefused

#: what one % or {} field can add beyond its width and precision (``'%f' % 1e308`` has 316 characters)
_FIELD_CHARS = 330
#: a width or precision with more digits than this is over any bound anyway
_MAX_DIGITS = 7
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)
_DIGITS = re.compile(r"\d+")
_FORMATTER = string.Formatter()


def not_data(value: Any) -> RenderRefused:
    return RenderRefused(f"a {type(value).__name__} is not data: templates print and compare only strings, numbers, "
                         "booleans, lists and mappings (call it, or convert it with |list)")


def data_size(value: Any) -> int:
    """About how many characters ``str(value)`` has (an upper bound for strings and numbers);
    refuses values that are not plain data and stops counting past ``MAX_OUTPUT_CHARS``."""
    size, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 2
        elif isinstance(item, int):  # bool too
            size += item.bit_length() // 3 + 2
        elif isinstance(item, float) or item is None:
            size += 24
        elif isinstance(item, list | tuple):
            size += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            size += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, Undefined):
            str(item)  # a StrictUndefined raises its own "'x' is undefined"
            raise not_data(item)
        else:
            raise not_data(item)
        if size > MAX_OUTPUT_CHARS:
            raise RenderRefused(f"the value would print as more than {MAX_OUTPUT_CHARS:,} characters")
    return size


def printable(value: Any) -> Any:
    """``finalize`` for every ``{{ ... }}``: strings and numbers pass at once, other data after a
    size check."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool:
        return value
    data_size(value)
    return value


def comparable(value: Any) -> Any:
    """``value`` when comparing, hashing or searching it is bounded: a list, tuple or mapping must
    not hold more than ``MAX_OUTPUT_CHARS`` of data in all (``[l] * 100000 == m`` would otherwise
    compare 10^10 items in one uninterruptible step)."""
    if isinstance(value, list | tuple | dict):
        data_size(value)
    return value


def as_text(value: Any) -> Any:
    """``value`` when it may be turned into text (by a filter that calls ``str`` on it)."""
    if type(value) is not str:
        data_size(value)
    return value


def bounded(total: int, what: str, bound: int = MAX_OUTPUT_CHARS) -> None:
    if total > bound:
        raise RenderRefused(f"{what} would build {total:,} characters or items; the limit is {bound:,}")


def _number(digits: str | None, what: str) -> int:
    if not digits:
        return 0
    if digits == "*":
        raise RenderRefused(f"'*' {what}s are not allowed in % formatting: write the number")
    if len(digits) > _MAX_DIGITS:
        raise RenderRefused(f"a format {what} of {len(digits)} digits is over the limit of {MAX_OUTPUT_CHARS:,}")
    return int(digits)


def check_printf(fmt: str, args: Any) -> None:
    """Refuse ``fmt % args`` when its widths, precisions and arguments could pass the output bound."""
    total = len(fmt) + data_size(args)
    for match in _PRINTF_FIELD.finditer(fmt):
        width, precision, conversion = match.groups()
        if conversion != "%":
            total += _number(width, "width") + _number(precision, "precision") + _FIELD_CHARS
    bounded(total, "% formatting")


def check_format(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse ``fmt.format(*args, **kwargs)`` with attribute fields, nested fields, or a result that
    could pass the output bound."""
    total = len(fmt) + data_size(args) + data_size(kwargs)
    for _, field, spec, _ in _FORMATTER.parse(fmt):
        if field is None:
            continue
        if "." in field:
            raise RenderRefused("attribute fields ({x.attr}) are not allowed in str.format")
        if "{" in (spec or ""):
            raise RenderRefused("nested {} fields are not allowed in str.format specs")
        total += sum(_number(d, "width") for d in _DIGITS.findall(spec or "")) + _FIELD_CHARS
    bounded(total, "str.format")


def check_replace(text: str, old: Any, new: Any, count: Any = None) -> None:
    if not isinstance(old, str) or not isinstance(new, str):
        return  # str.replace raises its own TypeError
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and 0 <= count < found:
        found = count
    bounded(len(text) + found * max(0, len(new) - len(old)), "replace")


def check_width(text: str, width: Any, what: str) -> None:
    if isinstance(width, int):
        bounded(max(len(text), width), what)


def check_join(separator: str, items: list[Any]) -> None:
    total = len(separator) * max(0, len(items) - 1)
    for item in items:
        total += len(item) if type(item) is str else data_size(item)
        bounded(total, "join")


# -- arithmetic -------------------------------------------------------------------------------------


def _int(value: Any) -> bool:
    return isinstance(value, int)


def _check_add(left: Any, right: Any) -> None:
    if isinstance(left, str) and isinstance(right, str):
        bounded(len(left) + len(right), "'+'")
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        bounded(len(left) + len(right), "'+'", MAX_SEQUENCE)
    elif _int(left) and _int(right):
        _bits(max(left.bit_length(), right.bit_length()) + 1, "'+'")


def _check_mul(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and _int(times):
            bound = MAX_OUTPUT_CHARS if isinstance(seq, str) else MAX_SEQUENCE
            bounded(len(seq) * max(0, times), "'*'", bound)
            return
    if _int(left) and _int(right):
        _bits(left.bit_length() + right.bit_length(), "'*'")


def _check_pow(base: Any, exponent: Any) -> None:
    if _int(base) and _int(exponent) and exponent > 0 and abs(base) > 1:
        _bits(base.bit_length() * exponent, "'**'")


def _check_mod(left: Any, right: Any) -> None:
    if isinstance(left, str):
        check_printf(left, right)


def _bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise RenderRefused(f"{what} would compute an integer of about {bits:,} bits; the limit is {MAX_INT_BITS}")


BINOP_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "+": _check_add, "*": _check_mul, "**": _check_pow, "%": _check_mod,
}
BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "*": operator.mul, "**": operator.pow, "%": operator.mod,
}


def concat(values: tuple[Any, ...]) -> str:
    """``a ~ b ~ ...``: the joined length is checked before the string is built."""
    total = 0
    for value in values:
        total += len(value) if type(value) is str else data_size(value)
    bounded(total, "'~'")
    return "".join([v if type(v) is str else str(v) for v in values])


def join_buffer(parts: list[str]) -> str:
    """Join the output a macro, call block, ``{% set %}`` block or filter block produced."""
    if type(parts) is not list:
        parts = list(parts)
    bounded(sum(map(len, parts)), "a block's output")
    return "".join(parts)


# -- str methods ------------------------------------------------------------------------------------

#: methods whose result is never longer than the string (or is a bool, an int or a short list)
_STR_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii", "isdecimal",
    "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip",
    "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
})


def _width_arg(args: tuple[Any, ...], kwargs: dict[str, Any], name: str, default: Any = None) -> Any:
    return args[0] if args else kwargs.get(name, default)


def str_method_args(text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Check a call of ``text.<name>(...)`` before it runs; returns the arguments to call it with."""
    if name in _STR_METHODS:
        return args
    if name in ("center", "ljust", "rjust", "zfill"):
        check_width(text, _width_arg(args, kwargs, "width"), f"str.{name}")
    elif name == "expandtabs":
        tabsize = _width_arg(args, kwargs, "tabsize", 8)
        if isinstance(tabsize, int):
            bounded(len(text) + text.count("\t") * max(0, tabsize), "str.expandtabs")
    elif name == "replace":
        check_replace(text, *args, **kwargs)
    elif name == "join" and len(args) == 1 and not kwargs:
        items = list(args[0])
        check_join(text, items)
        return (items,)
    else:
        raise RenderRefused(f"str.{name}() is not available in templates")
    return args
