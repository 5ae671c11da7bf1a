"""A top-level JSON array, its elements cut out one at a time without loading the file."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from llmops_ingestion.domain.limits import limit_text
from llmops_ingestion.preparation.readers.files import CHUNK, NON_WS, open_nonempty, skip_bom, utf8_error
from llmops_ingestion.preparation.readers.jsonl import json_type
from llmops_ingestion.preparation.readers.records import BadInput, BadRecord, RawRecord

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
        chunk = self.f.read(CHUNK)
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
            if m := NON_WS.search(self.buf, self.pos):
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
            if (offset := utf8_error(data)) is not None:
                return BadRecord(self.name, line, f"invalid UTF-8 at byte offset {offset} of the element")
            where = f"line {line + exc.lineno - 1}, column {exc.colno}"
            return BadRecord(self.name, line, f"array element is not valid JSON: {exc.msg} at {where}")
        return self._record(value, line)

    def _record(self, value: Any, line: int) -> RawRecord | BadRecord:
        if type(value) is dict:
            return RawRecord(value, self.name, line)
        return BadRecord(self.name, line, f"expected a JSON object, got {json_type(value)}")

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


def read_json_array(path: Path, name: str, max_bytes: int,
                     on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    with open_nonempty(path, name, on_open) as f:
        skip_bom(f)
        yield from _JsonArrayScanner(f, name, max_bytes).records()
