"""The generic check every incoming gRPC request message passes before a servicer sees it.

It walks a message by its descriptor (nested messages, repeated fields, maps, ``Struct``/``Value``)
and refuses, naming the field path: NUL characters in any string, strings longer than their bound
(``DEFAULT_MAX_TEXT`` unless the servicer declares more for a field and everything below it),
non-finite floats and doubles, enum numbers the enum does not define, and ``Timestamp`` values
outside protobuf's range. ``bytes`` fields are not looked at. protobuf checks none of this itself
(a string may hold NUL, a double NaN), and Postgres refuses both with an error that would otherwise
surface as INTERNAL.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from llmops_common.errors import InvalidArgument
from llmops_common.validation import (
    DEFAULT_MAX_TEXT,
    MAX_TIMESTAMP_SECONDS,
    MIN_TIMESTAMP_SECONDS,
    check_text,
    check_timestamp_seconds,
    quote,
)

_STRING = FieldDescriptor.TYPE_STRING
_FLOATS = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)
_MESSAGE = FieldDescriptor.TYPE_MESSAGE
_ENUM = FieldDescriptor.TYPE_ENUM
_TIMESTAMP = "google.protobuf.Timestamp"

#: where a value sits, built only when an error needs it: (parent, field name, index or map key)
Path = tuple["Path | None", str, object] | None
_NO_INDEX = object()


def render(path: Path) -> str:
    """``evaluation.metrics['bleu']``, ``chat.messages[1].content``: the path as errors name it."""
    parts: list[str] = []
    while path is not None:
        path, name, index = path
        if index is not _NO_INDEX:
            parts.append(f"[{quote(index) if isinstance(index, str) else index}]")
        parts.append(f".{name}")
    return "".join(reversed(parts)).lstrip(".")


_SKIP, _TEXT, _NUMBER, _SINGLE, _REPEATED, _MAP, _ENUM_VALUE = range(7)


@functools.cache
def _plan(field: FieldDescriptor) -> tuple[int, str, str, int]:
    """How to walk a field: (what it holds, its name, its full name, the value type of a map)."""
    kind = field.type
    if kind == _MESSAGE:
        entry = field.message_type
        if entry.GetOptions().map_entry:
            return _MAP, field.name, field.full_name, entry.fields_by_name["value"].type
        return (_REPEATED if field.is_repeated else _SINGLE), field.name, field.full_name, kind
    if kind == _ENUM:
        return (_REPEATED if field.is_repeated else _ENUM_VALUE), field.name, field.full_name, kind
    if kind == _STRING or kind in _FLOATS:
        return (_REPEATED if field.is_repeated else (_TEXT if kind == _STRING else _NUMBER)), field.name, \
            field.full_name, kind
    return _SKIP, field.name, field.full_name, kind


@functools.cache
def _is_timestamp(descriptor: Any) -> bool:
    return descriptor.full_name == _TIMESTAMP


class RequestCheck:
    """``check(message)`` raises InvalidArgument for the first bad value it finds.

    ``text_limits`` maps a field's full name (``llmops.prompts.v1.CreateVersionRequest.text``) to the
    longest string allowed in that field and in every message below it.
    """

    def __init__(self, text_limits: Mapping[str, int] | None = None, default_max_text: int = DEFAULT_MAX_TEXT) -> None:
        self.text_limits = dict(text_limits or {})
        self.default_max_text = default_max_text

    def check(self, message: Message) -> None:
        stack: list[tuple[Message, Path, int]] = [(message, None, self.default_max_text)]
        limits = self.text_limits
        while stack:
            current, parent, limit = stack.pop()
            if _is_timestamp(current.DESCRIPTOR):
                if not (MIN_TIMESTAMP_SECONDS <= current.seconds <= MAX_TIMESTAMP_SECONDS
                        and 0 <= current.nanos <= 999_999_999):
                    check_timestamp_seconds(current.seconds, current.nanos, render(parent) or "timestamp")
                continue
            for field, value in current.ListFields():
                how, name, full_name, kind = _plan(field)
                if how == _SKIP:
                    continue
                bound = limits.get(full_name, limit) if limits else limit
                if how == _TEXT:
                    if len(value) > bound or "\x00" in value:
                        check_text(value, render((parent, name, _NO_INDEX)), max_len=bound)
                elif how == _SINGLE:
                    stack.append((value, (parent, name, _NO_INDEX), bound))
                elif how == _NUMBER:
                    if not math.isfinite(value):
                        _not_finite(value, (parent, name, _NO_INDEX))
                elif how == _ENUM_VALUE:
                    if value not in _enum_numbers(field):
                        _unknown_enum(field, value, (parent, name, _NO_INDEX))
                elif how == _REPEATED:
                    if kind == _ENUM:
                        for index, item in enumerate(value):
                            if item not in _enum_numbers(field):
                                _unknown_enum(field, item, (parent, name, index))
                        continue
                    for index, item in enumerate(value):
                        _value(kind, item, parent, name, index, bound, stack)
                else:
                    for key, item in value.items():
                        if isinstance(key, str) and (len(key) > bound or "\x00" in key):
                            check_text(key, render((parent, name, key)), max_len=bound)
                        _value(kind, item, parent, name, key, bound, stack)


def _not_finite(value: float, path: Path) -> None:
    raise InvalidArgument(f"must be a finite number, not {value!r}", field=render(path))


@functools.cache
def _enum_numbers(field: FieldDescriptor) -> frozenset[int]:
    return frozenset(field.enum_type.values_by_number)


def _unknown_enum(field: FieldDescriptor, value: int, path: Path) -> None:
    """proto3 enums are open: an unknown number parses, and no servicer knows what it means."""
    known = ", ".join(v.name for v in field.enum_type.values)
    raise InvalidArgument(f"{value} is not a value of {field.enum_type.name} ({known})", field=render(path))


def _value(kind: int, value: Any, parent: Path, name: str, index: object, bound: int,
           stack: list[tuple[Message, Path, int]]) -> None:
    if kind == _STRING:
        if len(value) > bound or "\x00" in value:
            check_text(value, render((parent, name, index)), max_len=bound)
    elif kind == _MESSAGE:
        stack.append((value, (parent, name, index), bound))
    elif kind in _FLOATS and not math.isfinite(value):
        _not_finite(value, (parent, name, index))
