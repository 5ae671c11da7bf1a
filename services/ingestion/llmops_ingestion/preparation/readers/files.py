"""Byte-level helpers the readers share: opening a file, BOMs, whitespace, bounded lines, UTF-8 checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO, Any

from llmops_ingestion.preparation.readers.records import BadInput

_BOM = b"\xef\xbb\xbf"
CHUNK = 1 << 20  # read size for buffered I/O and for skipping over-long lines
NON_WS = re.compile(rb"[^ \t\r\n]")


def file_size(path: Path, name: str) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise BadInput(name, None, f"cannot read the file: {exc.strerror or exc}") from exc


def open_binary(path: Path, name: str) -> IO[bytes]:
    try:
        return open(path, "rb", buffering=CHUNK)
    except OSError as exc:
        raise BadInput(name, None, f"cannot read the file: {exc.strerror or exc}") from exc


def open_nonempty(path: Path, name: str, on_open: Callable[[IO[bytes]], None]) -> IO[bytes]:
    """Open ``path``, or raise "the file is empty" for 0 bytes or only whitespace (and a BOM)."""
    if file_size(path, name) == 0 or first_significant_byte(path, name) is None:
        raise BadInput(name, None, "the file is empty")
    f = open_binary(path, name)
    on_open(f)
    return f


def first_significant_byte(path: Path, name: str) -> int | None:
    """The first byte that is neither whitespace nor a leading BOM; None when there is none."""
    with open_binary(path, name) as f:
        skip_bom(f)
        while chunk := f.read(CHUNK):
            if m := NON_WS.search(chunk):
                return chunk[m.start()]
    return None


def strip_eol(raw: bytes) -> bytes:
    if raw.endswith(b"\n"):
        return raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    return raw


def utf8_error(data: bytes) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence in ``data``, or None when it is valid."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def is_too_long(raw: bytes, readline: Any, max_bytes: int) -> bool:
    """Whether ``raw``, read with ``readline(max_bytes + 2)``, is (the start of) a line over the limit.

    The rest of an over-long line is read and dropped in chunks, so no more than ``max_bytes + 2``
    bytes of it are ever held.  Only called when ``len(raw) > max_bytes``.
    """
    if raw.endswith(b"\n"):
        return len(strip_eol(raw)) > max_bytes
    if len(raw) == max_bytes + 2:  # the line goes on: drop the rest of it
        while (rest := readline(CHUNK)) and not rest.endswith(b"\n"):
            pass
    return True


def bounded_lines(f: IO[bytes], max_bytes: int) -> Iterator[bytes]:
    """The lines of ``f`` (end-of-line bytes kept), none longer than ``max_bytes + 2``; a BOM is dropped.

    A C-level iterator, for speed: the caller checks ``len(raw) > max_bytes`` and calls
    :func:`is_too_long` on the same file to finish an over-long line.
    """
    skip_bom(f)
    return iter(partial(f.readline, max_bytes + 2), b"")


def skip_bom(f: IO[bytes]) -> None:
    """Move past a UTF-8 byte order mark at the start of ``f``, if there is one."""
    if f.read(len(_BOM)) != _BOM:
        f.seek(0)
