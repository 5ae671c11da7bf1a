"""What the readers produce: records, bad records, and the error for a file that cannot be read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
