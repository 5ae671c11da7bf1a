"""Streaming readers for raw data files: JSONL, JSON array, CSV, Parquet and plain text (a module each).

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

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from llmops_ingestion.domain.formats import DataFormat, format_by_extension
from llmops_ingestion.preparation.readers.csv_rows import read_csv
from llmops_ingestion.preparation.readers.files import file_size, first_significant_byte, open_binary
from llmops_ingestion.preparation.readers.json_array import read_json_array
from llmops_ingestion.preparation.readers.jsonl import read_jsonl
from llmops_ingestion.preparation.readers.parquet import read_parquet
from llmops_ingestion.preparation.readers.records import BadInput, BadRecord, RawRecord
from llmops_ingestion.preparation.readers.text import read_text_file, read_text_lines

__all__ = ["BadInput", "BadRecord", "DataFormat", "RawRecord", "detect_format", "read_records"]

_READERS: dict[DataFormat, Callable[[Path, str, int, Callable[[IO[bytes]], None]], Iterator[RawRecord | BadRecord]]] = {
    DataFormat.JSONL: read_jsonl,
    DataFormat.JSON_ARRAY: read_json_array,
    DataFormat.CSV: read_csv,
    DataFormat.PARQUET: read_parquet,
    DataFormat.TEXT_LINES: read_text_lines,
    DataFormat.TEXT_FILE: read_text_file,
}


def detect_format(path: Path, name: str, *, shown: str | None = None) -> DataFormat:
    """The format of ``path``: by the extension of ``name``, else by sniffing the first bytes. Errors
    name the file ``shown`` (default: ``name``), e.g. the compressed file that ``path`` came from."""
    fmt = format_by_extension(name)
    name = shown or name
    if file_size(path, name) == 0:
        raise BadInput(name, None, "the file is empty")
    if fmt is DataFormat.PARQUET:
        return fmt
    with open_binary(path, name) as f:
        magic = f.read(4)
    if fmt is None and magic == b"PAR1":
        return DataFormat.PARQUET
    first = first_significant_byte(path, name)
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
