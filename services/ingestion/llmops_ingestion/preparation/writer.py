"""Parquet shards of a dataset version: one series per split, rolled every ``shard_records`` rows.

Layout of a version folder (the same under ``s3://<datasets bucket>/<name>/<version>/``)::

    manifest.json  profile.json  profile.html  data/<split>-<nnnnn>.parquet
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from llmops_common.hashing import file_sha256
from llmops_ingestion.domain.shapes import Content, Shape, to_columns
from llmops_ingestion.domain.splits import SPLITS

_CONTENT_TYPES: dict[Shape, list[tuple[str, pa.DataType]]] = {
    Shape.INSTRUCTION: [("instruction", pa.string()), ("input", pa.string()), ("output", pa.string())],
    Shape.CHAT: [("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])))],
    Shape.TEXT: [("text", pa.string())],
}
_FLUSH_ROWS = 8192


def version_schema(shape: Shape) -> pa.Schema:
    return pa.schema([("record_id", pa.string()), ("split", pa.string()), *_CONTENT_TYPES[shape],
                      ("source_file", pa.string()), ("source_line", pa.int64())])


class ShardWriter:
    """Buffers rows per split and writes zstd Parquet shards; ``close`` returns the shard list."""

    def __init__(self, folder: Path, shape: Shape, shard_records: int) -> None:
        self.folder, self.shape, self.shard_records = folder, shape, shard_records
        self.schema = version_schema(shape)
        (folder / "data").mkdir(parents=True, exist_ok=True)
        self._rows: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
        self._writers: dict[str, tuple[pq.ParquetWriter, str, int]] = {}
        self._counts = dict.fromkeys(SPLITS, 0)
        self._shard_index = dict.fromkeys(SPLITS, 0)
        self._shards: list[dict[str, Any]] = []

    def add(self, split: str, record_id: str, content: Content, source_file: str, source_line: int) -> None:
        rows = self._rows[split]
        rows.append({"record_id": record_id, "split": split, **to_columns(self.shape, content),
                     "source_file": source_file, "source_line": source_line})
        if len(rows) >= _FLUSH_ROWS:
            self._flush(split)

    def _flush(self, split: str) -> None:
        rows = self._rows[split]
        while rows:
            writer, path, written = self._writers.get(split) or self._open(split)
            take = rows[: self.shard_records - written]
            writer.write_table(pa.Table.from_pylist(take, schema=self.schema))
            del rows[: len(take)]
            written += len(take)
            self._counts[split] += len(take)
            self._writers[split] = (writer, path, written)
            if written >= self.shard_records:
                self._finish(split)

    def _open(self, split: str) -> tuple[pq.ParquetWriter, str, int]:
        path = f"data/{split}-{self._shard_index[split]:05d}.parquet"
        self._shard_index[split] += 1
        return pq.ParquetWriter(self.folder / path, self.schema, compression="zstd"), path, 0

    def _finish(self, split: str) -> None:
        writer, path, written = self._writers.pop(split)
        writer.close()
        self._shards.append({"path": path, "split": split, "records": written,
                             "bytes": (self.folder / path).stat().st_size, "sha256": file_sha256(self.folder / path)})

    def close(self) -> list[dict[str, Any]]:
        for split in SPLITS:
            self._flush(split)
            if split in self._writers:
                self._finish(split)
        return sorted(self._shards, key=lambda s: s["path"])

    def split_counts(self) -> dict[str, int]:
        return dict(self._counts)

    def schema_description(self) -> dict[str, str]:
        return {f.name: str(f.type) for f in self.schema}
