"""Streaming readers for raw data files: JSONL, JSON array, CSV, Parquet and plain text.

Each reader turns a file already staged on local disk into a stream of :class:`RawRecord` (the parsed
fields plus where they came from), with memory bounded by ``max_record_bytes`` plus a fixed buffer,
whatever the size of the file.  Problems are reported in two ways:

* :class:`BadRecord` (yielded): one record cannot be used; reading goes on with the next one.
* :class:`BadInput` (raised): the file as a whole cannot be read; reading stops.

Both name the file, the line (or row) and the problem, so the message can go back to a user unchanged.

Why not ``pyarrow.json``: it parses whole blocks at once, so it can neither report which line is bad
nor skip a bad line and go on, and it has no incremental reader for a top-level JSON array.  Lines
are instead read in binary with a length limit and parsed one at a time with ``orjson``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import IO, Any

import orjson

__all__ = ["BadInput", "BadRecord", "DataFormat", "RawRecord", "detect_format", "read_records"]

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20  # read size for buffered I/O and for skipping over-long lines
_NON_WS = re.compile(rb"[^ \t\r\n]")


class DataFormat(StrEnum):
    JSONL = "jsonl"
    JSON_ARRAY = "json"
    CSV = "csv"
    PARQUET = "parquet"
    TEXT_LINES = "text_lines"
    TEXT_FILE = "text_file"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One parsed record and where it came from."""

    fields: dict[str, Any]  # the parsed object; for the text formats {"text": "..."}
    file: str  # display name of the source, as passed in
    line: int  # 1-based line where the record starts (the row index for Parquet; 1 for TEXT_FILE)


@dataclass(frozen=True, slots=True)
class BadRecord:
    """One record that cannot be used; the reading continues after it."""

    file: str
    line: int
    problem: str


class BadInput(Exception):
    """The file as a whole cannot be read (reading stops)."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        self.file = file
        self.line = line
        self.problem = problem
        super().__init__(f"{file}:{line}: {problem}" if line is not None else f"{file}: {problem}")


_EXTENSIONS: dict[str, DataFormat] = {
    ".jsonl": DataFormat.JSONL,
    ".ndjson": DataFormat.JSONL,
    ".jsonlines": DataFormat.JSONL,
    ".json": DataFormat.JSON_ARRAY,
    ".csv": DataFormat.CSV,
    ".parquet": DataFormat.PARQUET,
    ".pq": DataFormat.PARQUET,
    ".txt": DataFormat.TEXT_LINES,
    ".text": DataFormat.TEXT_LINES,
    ".md": DataFormat.TEXT_LINES,
}


def detect_format(path: Path, name: str, *, shown: str | None = None) -> DataFormat:
    """The format of ``path``: by the extension of ``name``, else by sniffing the first bytes. Errors
    name the file ``shown`` (default: ``name``), e.g. the compressed file that ``path`` came from."""
    fmt = _EXTENSIONS.get(Path(name).suffix.lower())
    name = shown or name
    if _size(path, name) == 0:
        raise BadInput(name, None, "the file is empty")
    if fmt is DataFormat.PARQUET:
        return fmt
    with _open(path, name) as f:
        magic = f.read(4)
    if fmt is None and magic == b"PAR1":
        return DataFormat.PARQUET
    first = _first_significant_byte(path, name)
    if first is None:
        raise BadInput(name, None, "the file is empty")
    if fmt is DataFormat.JSON_ARRAY:
        return DataFormat.JSONL if first == ord("{") else fmt
    if fmt is not None:
        return fmt
    if first == ord("["):
        return DataFormat.JSON_ARRAY
    if first == ord("{"):
        return DataFormat.JSONL
    return DataFormat.TEXT_LINES


def read_records(
    path: Path, *, name: str, fmt: DataFormat, max_record_bytes: int = 8 * 1024 * 1024,
    on_open: Callable[[IO[bytes]], None] = lambda _: None,
) -> Iterator[RawRecord | BadRecord]:
    """Stream the records of ``path`` (shown to users as ``name``).

    Lazy: nothing is opened before the first ``next``.  Iterating raises :class:`BadInput` when the
    file as a whole cannot be read (an empty file included) and yields :class:`BadRecord` for a record
    that cannot be used.  No record larger than ``max_record_bytes`` is ever held in memory.
    ``on_open`` receives the binary file once opened (callers follow ``tell()`` for progress).
    """
    if max_record_bytes < 1:
        raise ValueError("max_record_bytes must be positive")
    reader = _READERS.get(fmt)
    if reader is None:
        raise ValueError(f"unknown data format {fmt!r}")
    return reader(path, name, max_record_bytes, on_open)


# --- helpers -------------------------------------------------------------------------------------


def _size(path: Path, name: str) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise BadInput(name, None, f"cannot read the file: {exc.strerror or exc}") from exc


def _open(path: Path, name: str) -> IO[bytes]:
    try:
        return open(path, "rb", buffering=_CHUNK)
    except OSError as exc:
        raise BadInput(name, None, f"cannot read the file: {exc.strerror or exc}") from exc


def _open_nonempty(path: Path, name: str, on_open: Callable[[IO[bytes]], None]) -> IO[bytes]:
    """Open ``path``, or raise "the file is empty" for 0 bytes or only whitespace (and a BOM)."""
    if _size(path, name) == 0 or _first_significant_byte(path, name) is None:
        raise BadInput(name, None, "the file is empty")
    f = _open(path, name)
    on_open(f)
    return f


def _first_significant_byte(path: Path, name: str) -> int | None:
    """The first byte that is neither whitespace nor a leading BOM; None when there is none."""
    with _open(path, name) as f:
        _skip_bom(f)
        while chunk := f.read(_CHUNK):
            if m := _NON_WS.search(chunk):
                return chunk[m.start()]
    return None


def limit_text(n: int) -> str:
    """``n`` bytes for people: 8.0 MiB, 1.5 KiB, 100 bytes."""
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} bytes"


def _strip_eol(raw: bytes) -> bytes:
    if raw.endswith(b"\n"):
        return raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    return raw


def _utf8_error(data: bytes) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence in ``data``, or None when it is valid."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _is_too_long(raw: bytes, readline: Any, max_bytes: int) -> bool:
    """Whether ``raw``, read with ``readline(max_bytes + 2)``, is (the start of) a line over the limit.

    The rest of an over-long line is read and dropped in chunks, so no more than ``max_bytes + 2``
    bytes of it are ever held.  Only called when ``len(raw) > max_bytes``.
    """
    if raw.endswith(b"\n"):
        return len(_strip_eol(raw)) > max_bytes
    if len(raw) == max_bytes + 2:  # the line goes on: drop the rest of it
        while (rest := readline(_CHUNK)) and not rest.endswith(b"\n"):
            pass
    return True


def _bounded_lines(f: IO[bytes], max_bytes: int) -> Iterator[bytes]:
    """The lines of ``f`` (end-of-line bytes kept), none longer than ``max_bytes + 2``; a BOM is dropped.

    A C-level iterator, for speed: the caller checks ``len(raw) > max_bytes`` and calls
    :func:`_is_too_long` on the same file to finish an over-long line.
    """
    _skip_bom(f)
    return iter(partial(f.readline, max_bytes + 2), b"")


def _skip_bom(f: IO[bytes]) -> None:
    """Move past a UTF-8 byte order mark at the start of ``f``, if there is one."""
    if f.read(len(_BOM)) != _BOM:
        f.seek(0)


# --- JSON Lines and text lines -------------------------------------------------------------------


def _json_problem(exc: orjson.JSONDecodeError, raw: bytes, what: str) -> str:
    if (offset := _utf8_error(raw)) is not None:
        return f"invalid UTF-8 at byte offset {offset} of the {what}"
    try:  # again without the end of line, so that the column is on this line
        orjson.loads(_strip_eol(raw))
    except orjson.JSONDecodeError as again:
        exc = again
    return f"{what} is not valid JSON: {exc.msg} at column {exc.colno}"


def _read_jsonl(path: Path, name: str, max_bytes: int,
                on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    too_long = f"line is longer than the {limit_text(max_bytes)} limit"
    loads = orjson.loads
    with _open_nonempty(path, name, on_open) as f:
        readline = f.readline
        for lineno, raw in enumerate(_bounded_lines(f, max_bytes), 1):
            if len(raw) > max_bytes and _is_too_long(raw, readline, max_bytes):
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
                yield BadRecord(name, lineno, f"expected a JSON object, got {_json_type(value)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


def _read_text_lines(path: Path, name: str, max_bytes: int,
                     on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    too_long = f"line is longer than the {limit_text(max_bytes)} limit"
    with _open_nonempty(path, name, on_open) as f:
        readline = f.readline
        for lineno, raw in enumerate(_bounded_lines(f, max_bytes), 1):
            if len(raw) > max_bytes and _is_too_long(raw, readline, max_bytes):
                yield BadRecord(name, lineno, too_long)
                continue
            if raw.isspace():
                continue
            try:
                text = _strip_eol(raw).decode("utf-8")
            except UnicodeDecodeError as exc:
                yield BadRecord(name, lineno, f"invalid UTF-8 at byte offset {exc.start} of the line")
                continue
            yield RawRecord({"text": text}, name, lineno)


def _read_text_file(path: Path, name: str, max_bytes: int,
                    on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    with _open_nonempty(path, name, on_open) as f:
        _skip_bom(f)
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


# --- JSON array ----------------------------------------------------------------------------------

_STRUCTURAL = re.compile(rb'[\[\]{}"]')
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)  # stops at the closing quote or a final '\'
_SCALAR_END = re.compile(rb"[,\] \t\r\n]")
_FLAT_END = re.compile(rb"\}[ \t\r\n]*[,\]]")  # the likely end of an object with no nested object
_OPEN = frozenset(b"[{")


def _show(byte: int) -> str:
    return repr(chr(byte)) if 32 <= byte < 127 else f"byte 0x{byte:02x}"


class _JsonArrayScanner:
    """Cuts the top-level elements out of a JSON array without loading the file.

    A buffer holds the element being scanned (at most the record limit plus one read); a small state
    machine (inside a string, after a backslash, nesting depth) finds where the element ends, and the
    element alone is handed to ``orjson``.  Line numbers are counted as the buffer is consumed.
    """

    def __init__(self, f: IO[bytes], name: str, max_bytes: int) -> None:
        self.f, self.name, self.max = f, name, max_bytes
        self.buf = bytearray()
        self.pos = 0  # scan position in buf
        self.line = 1  # line number at buf[counted]
        self.counted = 0
        self.eof = False
        self.too_long = f"array element is longer than the {limit_text(max_bytes)} limit"

    def _line_at(self, i: int) -> int:
        if i > self.counted:
            self.line += self.buf.count(b"\n", self.counted, i)
            self.counted = i
        return self.line

    def _fill(self, keep_from: int) -> int:
        """Drop ``buf[:keep_from]`` and read more; the shift applied to positions, or -1 at the end."""
        if self.eof:
            return -1
        chunk = self.f.read(_CHUNK)
        if not chunk:
            self.eof = True
            return -1
        self._line_at(keep_from)
        del self.buf[:keep_from]
        self.counted -= keep_from
        self.pos -= keep_from
        self.buf += chunk
        return keep_from

    def _skip_ws(self) -> int | None:
        """Move to the next non-whitespace byte and return it (None at the end of the file)."""
        while True:
            if m := _NON_WS.search(self.buf, self.pos):
                self.pos = m.start()
                return self.buf[self.pos]
            self.pos = len(self.buf)
            if self._fill(self.pos) < 0:
                return None

    def _fail(self, problem: str, at: int | None = None) -> BadInput:
        return BadInput(self.name, self._line_at(self.pos if at is None else at), problem)

    def records(self) -> Iterator[RawRecord | BadRecord]:
        c = self._skip_ws()
        if c is None:
            raise BadInput(self.name, None, "the file is empty")
        if c != ord("["):
            raise self._fail(f"expected '[' at the start of a JSON array, found {_show(c)}")
        self.pos += 1
        c = self._skip_ws()
        if c == ord("]"):
            self.pos += 1
        else:
            while True:
                if c is None:
                    raise self._fail("the JSON array is not terminated (no closing ']')")
                if c == ord(","):
                    raise self._fail("expected an array element, found ','")
                yield self._element()
                c = self._skip_ws()
                if c is None:
                    raise self._fail("the JSON array is not terminated (no closing ']')")
                if c == ord("]"):
                    self.pos += 1
                    break
                if c != ord(","):
                    raise self._fail(f"expected ',' or ']' after an array element, found {_show(c)}")
                self.pos += 1
                c = self._skip_ws()
                if c == ord("]"):
                    raise self._fail("expected an array element after ',', found ']'")
        c = self._skip_ws()
        if c is not None:
            raise self._fail(f"unexpected data after the end of the JSON array: {_show(c)}")

    def _element(self) -> RawRecord | BadRecord:
        buf = self.buf
        start = self.pos
        line = self._line_at(start)
        if buf[start] == ord("{"):  # fast path: a flat object ends at the first '}' before ',' or ']'
            m = _FLAT_END.search(buf, start, min(len(buf), start + self.max + 64))
            if m and m.start() + 1 - start <= self.max:
                end = m.start() + 1
                try:
                    value = orjson.loads(bytes(buf[start:end]))
                except orjson.JSONDecodeError:
                    pass  # a '}' inside a string or a nested object: scan properly
                else:
                    self.pos = end
                    return self._record(value, line)
        end = self._scan(start, line)
        if end < 0:
            return BadRecord(self.name, line, self.too_long)
        data = bytes(self.buf[self.pos : end])
        self.pos = end
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            if (offset := _utf8_error(data)) is not None:
                return BadRecord(self.name, line, f"invalid UTF-8 at byte offset {offset} of the element")
            where = f"line {line + exc.lineno - 1}, column {exc.colno}"
            return BadRecord(self.name, line, f"array element is not valid JSON: {exc.msg} at {where}")
        return self._record(value, line)

    def _record(self, value: Any, line: int) -> RawRecord | BadRecord:
        if type(value) is dict:
            return RawRecord(value, self.name, line)
        return BadRecord(self.name, line, f"expected a JSON object, got {_json_type(value)}")

    def _scan(self, start: int, line: int) -> int:
        """The end of the element at ``start`` (self.pos is moved to its start), or -1 when too long.

        An over-long element is consumed without being kept: its bytes are dropped as they are read.
        """
        buf = self.buf
        first = buf[start]
        scalar = first not in _OPEN and first != ord('"')
        depth = 1 if first in _OPEN else 0
        in_string = first == ord('"')
        escaped = False
        dropped = False  # the element went over the limit and its start was dropped
        i = start + 1 if not scalar else start
        while True:
            if i < len(buf):
                if scalar:
                    if m := _SCALAR_END.search(buf, i):
                        i = m.start()
                        break
                    i = len(buf)
                elif in_string:
                    if escaped:
                        i += 1
                        escaped = False
                        continue
                    i = _STRING_BODY.match(buf, i).end()  # type: ignore[union-attr]
                    if i < len(buf):
                        if buf[i] == ord('"'):
                            in_string = False
                            i += 1
                            if depth == 0:
                                break
                        else:  # a backslash as the last byte read
                            escaped = True
                            i += 1
                    continue
                else:
                    if m := _STRUCTURAL.search(buf, i):
                        c = buf[m.start()]
                        i = m.end()
                        if c == ord('"'):
                            in_string = True
                        elif c in _OPEN:
                            depth += 1
                        else:
                            depth -= 1
                            if depth == 0:
                                break
                        continue
                    i = len(buf)
            # need more bytes
            if not dropped and i - start > self.max:
                dropped = True
            self.pos = start if not dropped else i
            shift = self._fill(self.pos)
            if shift < 0:
                if scalar:
                    break
                raise BadInput(self.name, line, "the file ends inside an array element that starts on this line")
            i -= shift
            start -= shift
            buf = self.buf
        if dropped or i - start > self.max:
            self.pos = i
            return -1
        self.pos = start
        return i


def _read_json_array(path: Path, name: str, max_bytes: int,
                     on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    with _open_nonempty(path, name, on_open) as f:
        _skip_bom(f)
        yield from _JsonArrayScanner(f, name, max_bytes).records()


# --- CSV -----------------------------------------------------------------------------------------


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
        if len(raw) > self.max and _is_too_long(raw, self.readline, self.max):
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


def _read_csv(path: Path, name: str, max_bytes: int,
              on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    # The field limit is process-wide, so it is only ever raised; the real bound is the row limit above.
    if csv.field_size_limit() < max_bytes:
        csv.field_size_limit(max_bytes)
    too_long = f"line is longer than the {limit_text(max_bytes)} limit"
    with _open_nonempty(path, name, on_open) as f:
        _skip_bom(f)
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


# --- Parquet -------------------------------------------------------------------------------------


def _read_parquet(path: Path, name: str, max_bytes: int,
                  on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    """Rows with bounded memory (``domain.parquet``, imported on use: it needs pyarrow)."""
    from llmops_ingestion.domain.parquet import read_parquet

    if _size(path, name) == 0:
        raise BadInput(name, None, "the file is empty")
    yield from read_parquet(path, name, max_bytes, on_open)


_READERS: dict[DataFormat, Callable[[Path, str, int], Iterator[RawRecord | BadRecord]]] = {
    DataFormat.JSONL: _read_jsonl,
    DataFormat.JSON_ARRAY: _read_json_array,
    DataFormat.CSV: _read_csv,
    DataFormat.PARQUET: _read_parquet,
    DataFormat.TEXT_LINES: _read_text_lines,
    DataFormat.TEXT_FILE: _read_text_file,
}
