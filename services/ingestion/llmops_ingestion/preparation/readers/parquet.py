"""Parquet rows with bounded memory: every read is sized before it happens, every row is measured
before it becomes Python objects.

pyarrow reads a Parquet file in batches of a chosen number of rows, but nothing bounds the bytes a
batch decodes to: a dictionary-encoded column may repeat one 50 MiB value in every row, and 12 such
rows fit in a 2 KB file. So, before reading:

* each row group's batch size is the batch budget (``max(64 MiB, 8 x max_record_bytes)``) over its
  bytes per row: its uncompressed column data per row, plus, for every flat text or binary column
  with a dictionary, the longest value in that dictionary (any row may use it). The dictionary page
  is read for that: its Thrift header gives its sizes, and its values' length prefixes, once
  decompressed, the longest; for a page over ``max_record_bytes`` or in a codec pyarrow lacks, the
  page's size bounds it. Page headers are the one thing pyarrow does not expose, so the few lines of
  the Thrift compact protocol they need are here;
* a dictionary page larger than ``8 x max_record_bytes`` (64 MiB by default; writers cap theirs at
  about 1 MiB) makes the file bad input, unread;
* a repeated (list) column whose dictionary could expand past the batch budget, or whose dictionary
  page cannot be sized, is read as an Arrow dictionary, so each value is held once however many rows
  use it;
* a row group of one row whose column data is larger than ``max_record_bytes`` is a bad record, unread.

After each read, every row's decoded size is computed from Arrow lengths and offsets alone; a row over
``max_record_bytes`` is a bad record, and the others become Python objects a budget's worth at a time.
What is left unbounded by this module is a single plain-encoded data page, which Arrow decompresses
whole; the preparation runs in a child process, so such a file can take down its job, not the service.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pyarrow.types as pt

from llmops_ingestion.domain.limits import limit_text
from llmops_ingestion.preparation.readers.files import file_size
from llmops_ingestion.preparation.readers.records import BadInput, BadRecord, RawRecord

MAX_BATCH_ROWS = 8192
MIN_BATCH_BYTES = 64 << 20
_HEADER_BYTES = 64  # a dictionary page's header fits in far less
_MAX_SCANNED_VALUES = 1 << 20  # a larger dictionary is bounded by its size alone
_STOP, _TRUE, _FALSE, _I32, _STRUCT = 0, 1, 2, 5, 12  # Thrift compact protocol types
_DICTIONARY_PAGE = 2  # PageType
_CODECS = {"UNCOMPRESSED": "uncompressed", "SNAPPY": "snappy", "GZIP": "gzip", "BROTLI": "brotli", "ZSTD": "zstd",
           "LZ4_RAW": "lz4_raw"}


@dataclass(frozen=True)
class _Plan:
    batch_rows: list[int]  # per row group
    as_dictionary: list[str]  # column paths to read as Arrow dictionaries


def read_parquet(path: Path, name: str, max_bytes: int,
                 on_open: Callable[[IO[bytes]], None]) -> Iterator[RawRecord | BadRecord]:
    """The rows of the Parquet file ``path`` (shown as ``name``), numbered from 1 across row groups."""
    if file_size(path, name) == 0:
        raise BadInput(name, None, "the file is empty")
    budget = max(MIN_BATCH_BYTES, 8 * max_bytes)
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the `with f` below; only the open is reported here
    except OSError as exc:
        raise BadInput(name, None, f"cannot read the file: {exc.strerror or exc}") from exc
    with f:
        on_open(f)
        try:
            meta = pq.read_metadata(f)
            plan = _plan(meta, f, name, max_bytes, budget)
            parquet = pq.ParquetFile(path, metadata=meta, read_dictionary=plan.as_dictionary)
        except (pa.ArrowException, OSError) as exc:
            raise BadInput(name, None, f"not a valid Parquet file: {exc}") from None
        row = 0
        for group, batch_rows in enumerate(plan.batch_rows):
            info = meta.row_group(group)
            data = _uncompressed(info)
            if info.num_rows == 1 and data > max_bytes:
                row += 1
                yield BadRecord(name, row, f"{_too_large(max_bytes, data)} of column data)")
                continue
            batches = parquet.iter_batches(batch_size=batch_rows, row_groups=[group])
            while True:
                try:
                    batch = next(batches, None)
                except (pa.ArrowException, OSError) as exc:
                    raise BadInput(name, row + 1, f"cannot read the Parquet data: {exc}") from None
                if batch is None:
                    break
                yield from _rows(batch, name, row, max_bytes, budget)
                row += batch.num_rows


def _plan(meta: pq.FileMetaData, f: IO[bytes], name: str, max_bytes: int, budget: int) -> _Plan:
    """Batch sizes per row group, and the columns read as dictionaries (see the module docstring)."""
    repeated = [meta.schema.column(c).max_repetition_level > 0 for c in range(meta.num_columns)]
    longest: list[dict[str, int]] = []  # per row group: flat column path -> longest dictionary value
    as_dictionary: set[str] = set()
    for group in range(meta.num_row_groups):
        info, flat = meta.row_group(group), {}
        for c in range(info.num_columns):
            column = info.column(c)
            if column.physical_type != "BYTE_ARRAY":
                continue
            page = _dictionary_page(f, column, max_bytes)
            if page is None:
                as_dictionary.add(column.path_in_schema)
                continue
            size, value = page
            if size > 8 * max_bytes:
                raise BadInput(name, None, f"column {column.path_in_schema!r} has a dictionary page of "
                                           f"{limit_text(size)}, over the {limit_text(8 * max_bytes)} limit")
            if not repeated[c]:
                flat[column.path_in_schema] = value
            elif column.num_values * value > budget:
                as_dictionary.add(column.path_in_schema)
        longest.append(flat)
    batch_rows = []
    for group, flat in enumerate(longest):
        info = meta.row_group(group)
        per_row = _uncompressed(info) // max(1, info.num_rows)
        per_row += sum(v for path, v in flat.items() if path not in as_dictionary)
        batch_rows.append(max(1, min(MAX_BATCH_ROWS, budget // max(1, per_row))))
    return _Plan(batch_rows, sorted(as_dictionary))


def _uncompressed(info: pq.RowGroupMetaData) -> int:
    return max(0, sum(info.column(c).total_uncompressed_size for c in range(info.num_columns)))


def _dictionary_page(f: IO[bytes], column: pq.ColumnChunkMetaData, scan_limit: int) -> tuple[int, int] | None:
    """(uncompressed size, longest value) of the column chunk's dictionary page; (0, 0) when the chunk's
    first page is not a dictionary page; None when its header cannot be read (the caller then assumes
    the worst). The longest value is exact for a page of at most ``scan_limit`` bytes in a codec
    pyarrow has; otherwise it is bounded by the page size less the values' length prefixes."""
    start = column.data_page_offset
    if column.has_dictionary_page and 0 < column.dictionary_page_offset < start:
        start = column.dictionary_page_offset
    try:
        f.seek(start)
        header = _dictionary_header(f.read(_HEADER_BYTES))
    except (IndexError, ValueError, OSError):
        return None
    if header is None:
        return 0, 0
    size, compressed, values, length = header
    codec = _CODECS.get(column.compression)
    if size > scan_limit or codec is None or values > _MAX_SCANNED_VALUES:
        return size, max(0, size - 4 * values)
    try:
        f.seek(start + length)
        raw = f.read(compressed)
        plain = raw if codec == "uncompressed" else pa.Codec(codec).decompress(raw, decompressed_size=size)
        return size, _longest_plain_value(memoryview(plain), values)
    except (pa.ArrowException, ValueError, OSError, struct.error):
        return size, max(0, size - 4 * values)


def _dictionary_header(data: bytes) -> tuple[int, int, int, int] | None:
    """(uncompressed size, compressed size, value count, header length) from a Parquet page header in
    the Thrift compact protocol; None when the page is not a dictionary page. ValueError or IndexError
    when the bytes are not such a header."""
    fields: dict[int, Any] = {}
    field_id, pos = 0, 0
    while True:
        field_id, kind, pos = _field_header(data, pos, field_id)
        if kind == _STOP:
            break
        if kind == _I32 and field_id != 7:  # field 7 is the dictionary page header, a struct
            fields[field_id], pos = _i32(data, pos)
        elif kind == _STRUCT and field_id == 7:  # dictionary_page_header: num_values, encoding, is_sorted
            fields[7] = {}
            inner_id = 0
            while True:
                inner_id, inner_kind, pos = _field_header(data, pos, inner_id)
                if inner_kind == _STOP:
                    break
                if inner_kind == _I32:
                    fields[7][inner_id], pos = _i32(data, pos)
                elif inner_kind not in (_TRUE, _FALSE):
                    raise ValueError("unexpected field in a dictionary page header")
        else:
            raise ValueError("unexpected field in a page header")
        if fields.get(1, _DICTIONARY_PAGE) != _DICTIONARY_PAGE:
            return None
    size, compressed, values = fields.get(2, -1), fields.get(3, -1), fields.get(7, {}).get(1, 0)
    if size < 0 or compressed < 0 or values < 0 or 1 not in fields:
        raise ValueError("not a dictionary page header")
    return size, compressed, values, pos


def _field_header(data: bytes, pos: int, last_id: int) -> tuple[int, int, int]:
    """(field id, type, position after) of a compact-protocol field header; type 0 ends the struct."""
    byte = data[pos]
    pos += 1
    if byte == _STOP:
        return last_id, _STOP, pos
    if byte >> 4:
        return last_id + (byte >> 4), byte & 0x0F, pos
    field_id, pos = _i32(data, pos)
    return field_id, byte & 0x0F, pos


def _i32(data: bytes, pos: int) -> tuple[int, int]:
    """A zigzag varint."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7
        if shift > 35:
            raise ValueError("varint too long for an i32")


def _longest_plain_value(data: memoryview, count: int) -> int:
    """The longest of ``count`` PLAIN-encoded byte arrays (each a 4-byte length, then the bytes)."""
    longest = pos = 0
    for _ in range(count):
        (length,) = struct.unpack_from("<i", data, pos)
        pos += 4 + length
        if length < 0 or pos > len(data):
            raise ValueError("not PLAIN byte arrays")
        longest = max(longest, length)
    return longest


def _too_large(max_bytes: int, size: int) -> str:
    return f"record larger than the {limit_text(max_bytes)} limit ({limit_text(size)}"


def _rows(batch: pa.RecordBatch, name: str, before: int, max_bytes: int,
          budget: int) -> Iterator[RawRecord | BadRecord]:
    """The rows of ``batch`` (rows ``before + 1`` on); those over ``max_bytes`` as bad records. The
    others become Python objects in runs of at most ``budget`` bytes."""
    sizes = sum((value_sizes(column) for column in batch.columns), np.zeros(batch.num_rows, np.int64))
    start, count = 0, batch.num_rows
    while start < count:
        if sizes[start] > max_bytes:
            yield BadRecord(name, before + start + 1, f"{_too_large(max_bytes, int(sizes[start]))} once decoded)")
            start += 1
            continue
        over = np.flatnonzero(sizes[start:] > max_bytes)
        stop = start + int(over[0]) if over.size else count
        within = np.cumsum(sizes[start:stop])
        end = start + max(1, int(np.searchsorted(within, budget, side="right")))
        for line, fields in enumerate(batch.slice(start, end - start).to_pylist(), before + start + 1):
            yield RawRecord(fields, name, line)
        start = end


def value_sizes(array: pa.Array) -> np.ndarray:
    """The decoded size in bytes of each value of ``array``, from lengths and offsets alone: text and
    binary by length, nested values summed, a dictionary value counted in every row that uses it."""
    kind, count = array.type, len(array)
    if pt.is_dictionary(kind):
        values = value_sizes(array.dictionary)
        sizes = values[array.indices.fill_null(0).to_numpy(zero_copy_only=False)] if values.size \
            else np.zeros(count, np.int64)
    elif pt.is_binary(kind) or pt.is_string(kind) or pt.is_large_binary(kind) or pt.is_large_string(kind):
        sizes = pc.binary_length(array).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    elif pt.is_list(kind) or pt.is_large_list(kind) or pt.is_map(kind):
        ends = np.concatenate([[0], np.cumsum(value_sizes(array.values))])
        offsets = array.offsets.to_numpy()
        sizes = ends[offsets[1:]] - ends[offsets[:-1]]
    elif pt.is_fixed_size_list(kind):
        width = kind.list_size
        values = value_sizes(array.values)[array.offset * width:(array.offset + count) * width]
        sizes = values.reshape(count, width).sum(axis=1) if width else np.zeros(count, np.int64)
    elif pt.is_struct(kind):
        sizes = sum((value_sizes(field) for field in array.flatten()), np.zeros(count, np.int64))
    else:
        try:
            sizes = np.full(count, max(1, kind.bit_width // 8), np.int64)
        except ValueError:  # null, or a type without a fixed width: the average
            sizes = np.full(count, array.nbytes // max(count, 1), np.int64)
    if array.null_count:
        sizes = np.where(array.is_valid().to_numpy(zero_copy_only=False), sizes, 0)
    return sizes
