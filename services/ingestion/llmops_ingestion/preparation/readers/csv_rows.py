"""CSV with a header row: one record per row, each row bounded by the record limit."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from llmops_ingestion.domain.limits import limit_text
from llmops_ingestion.preparation.readers.files import is_too_long, open_nonempty, skip_bom
from llmops_ingestion.preparation.readers.records import BadInput, BadRecord, RawRecord


class _LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _CsvLines:
    """Feeds ``csv.reader`` one decoded physical line at a time, within the record limit.

    Lines are split on ``\\n`` in binary, so each is decoded on its own: an invalid UTF-8 sequence is
    replaced (U+FFFD never changes the quoting) and noted, so that only the row holding it is
    rejected.  ``row_start`` is set by the caller before each row is read.
    """

    def __init__(self, f: IO[bytes], name: str, max_bytes: int) -> None:
        self.readline, self.name, self.max, self.limit = f.readline, name, max_bytes, max_bytes + 2
        self.lines = 0
        self.row_start = 1
        self.row_bytes = 0
        self.bad_utf8: list[tuple[int, int]] = []  # (line, byte offset in the line)

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        raw: bytes = self.readline(self.limit)
        if not raw:
            raise StopIteration
        self.lines += 1
        if self.lines == self.row_start:
            self.row_bytes = 0
        if len(raw) > self.max and is_too_long(raw, self.readline, self.max):
            if self.lines == self.row_start:
                raise _LineTooLong(self.lines)
            raise self._row_too_long()
        self.row_bytes += len(raw)
        if self.row_bytes > self.max:
            raise self._row_too_long()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.bad_utf8.append((self.lines, exc.start))
            return raw.decode("utf-8", "replace")

    def _row_too_long(self) -> BadInput:
        return BadInput(
            self.name,
            self.row_start,
            f"the row starting on this line is longer than the {limit_text(self.max)} limit"
            " (is a quoted field left open?)",
        )

    def take_bad_utf8(self) -> tuple[int, int] | None:
        """The first invalid UTF-8 noted in the lines read so far (and forget them)."""
        if not self.bad_utf8:
            return None
        first = self.bad_utf8[0]
        self.bad_utf8.clear()
        return first


def read_csv(path: Path, name: str, max_bytes: int,
              on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    # The field limit is process-wide, so it is only ever raised; the real bound is the row limit above.
    if csv.field_size_limit() < max_bytes:
        csv.field_size_limit(max_bytes)
    too_long = f"line is longer than the {limit_text(max_bytes)} limit"
    with open_nonempty(path, name, on_open) as f:
        skip_bom(f)
        src = _CsvLines(f, name, max_bytes)
        reader = csv.reader(src, strict=True)
        header: list[str] | None = None
        while True:
            src.row_start = start = src.lines + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except _LineTooLong as exc:
                if header is None:
                    raise BadInput(name, exc.line, f"the header {too_long}") from None
                yield BadRecord(name, exc.line, too_long)
                continue
            except csv.Error as exc:
                src.take_bad_utf8()
                if str(exc) == "unexpected end of data":
                    raise BadInput(name, start, "the file ends inside a quoted field that starts on this row") from None
                at = f" (at line {src.lines})" if src.lines != start else ""
                if header is None:
                    raise BadInput(name, start, f"malformed CSV header: {exc}{at}") from None
                yield BadRecord(name, start, f"malformed CSV row: {exc}{at}")
                continue
            if not row:  # a blank line
                continue
            bad = src.take_bad_utf8()
            if bad is not None:
                bad_line, offset = bad
                where = "the line" if bad_line == start else f"line {bad_line}"
                if header is None:
                    raise BadInput(name, bad_line, f"the header is not valid UTF-8 (at byte offset {offset})")
                yield BadRecord(name, start, f"invalid UTF-8 at byte offset {offset} of {where}")
                continue
            if header is None:
                _check_header(row, name, start)
                header = row
                continue
            if len(row) != len(header):
                yield BadRecord(name, start, f"row has {len(row)} fields, the header has {len(header)}")
                continue
            yield RawRecord(dict(zip(header, row, strict=True)), name, start)


def _check_header(header: list[str], name: str, line: int) -> None:
    seen: set[str] = set()
    for i, column in enumerate(header, 1):
        if not column.strip():
            raise BadInput(name, line, f"the header has an empty column name (column {i})")
        if column in seen:
            raise BadInput(name, line, f"the header repeats the column name {column!r}")
        seen.add(column)
