"""The raw data formats a source file may hold, and the format a file name implies."""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePath


class DataFormat(StrEnum):
    JSONL = "jsonl"
    JSON_ARRAY = "json"
    CSV = "csv"
    PARQUET = "parquet"
    TEXT_LINES = "text_lines"
    TEXT_FILE = "text_file"


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


def format_by_extension(name: str) -> DataFormat | None:
    """The format the extension of ``name`` stands for, or None when it names none."""
    return _EXTENSIONS.get(PurePath(name).suffix.lower())
