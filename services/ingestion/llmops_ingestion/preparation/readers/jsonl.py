"""JSON Lines: one object per line, each parsed on its own with ``orjson``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from llmops_ingestion.domain.limits import limit_text
from llmops_ingestion.preparation.readers.files import bounded_lines, is_too_long, open_nonempty, strip_eol, utf8_error
from llmops_ingestion.preparation.readers.records import BadRecord, RawRecord


def _json_problem(exc: orjson.JSONDecodeError, raw: bytes, what: str) -> str:
    if (offset := utf8_error(raw)) is not None:
        return f"invalid UTF-8 at byte offset {offset} of the {what}"
    try:  # again without the end of line, so that the column is on this line
        orjson.loads(strip_eol(raw))
    except orjson.JSONDecodeError as again:
        exc = again
    return f"{what} is not valid JSON: {exc.msg} at column {exc.colno}"


def read_jsonl(path: Path, name: str, max_bytes: int,
                on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    too_long = f"line is longer than the {limit_text(max_bytes)} limit"
    loads = orjson.loads
    with open_nonempty(path, name, on_open) as f:
        readline = f.readline
        for lineno, raw in enumerate(bounded_lines(f, max_bytes), 1):
            if len(raw) > max_bytes and is_too_long(raw, readline, max_bytes):
                yield BadRecord(name, lineno, too_long)
                continue
            try:
                value = loads(raw)
            except orjson.JSONDecodeError as exc:
                if raw.strip():
                    yield BadRecord(name, lineno, _json_problem(exc, raw, "line"))
                continue
            if type(value) is dict:
                yield RawRecord(value, name, lineno)
            else:
                yield BadRecord(name, lineno, f"expected a JSON object, got {json_type(value)}")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )
