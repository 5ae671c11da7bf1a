"""Plain text: one record per non-blank line, or the whole file as one record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from llmops_ingestion.domain.limits import limit_text
from llmops_ingestion.preparation.readers.files import bounded_lines, is_too_long, open_nonempty, skip_bom, strip_eol
from llmops_ingestion.preparation.readers.records import BadInput, BadRecord, RawRecord


def read_text_lines(path: Path, name: str, max_bytes: int,
                     on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    too_long = f"line is longer than the {limit_text(max_bytes)} limit"
    with open_nonempty(path, name, on_open) as f:
        readline = f.readline
        for lineno, raw in enumerate(bounded_lines(f, max_bytes), 1):
            if len(raw) > max_bytes and is_too_long(raw, readline, max_bytes):
                yield BadRecord(name, lineno, too_long)
                continue
            if raw.isspace():
                continue
            try:
                text = strip_eol(raw).decode("utf-8")
            except UnicodeDecodeError as exc:
                yield BadRecord(name, lineno, f"invalid UTF-8 at byte offset {exc.start} of the line")
                continue
            yield RawRecord({"text": text}, name, lineno)


def read_text_file(path: Path, name: str, max_bytes: int,
                    on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    with open_nonempty(path, name, on_open) as f:
        skip_bom(f)
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInput(name, None, f"the file is larger than the {limit_text(max_bytes)} limit for one text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        raise BadInput(name, line, f"invalid UTF-8 at byte offset {exc.start - line_start} of the line") from None
    yield RawRecord({"text": text}, name, 1)
