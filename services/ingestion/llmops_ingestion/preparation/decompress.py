"""Compressed inputs expanded onto local disk, with the caps of :class:`ExpansionLimit` checked while
streaming: the stream stops, and the file is bad input naming itself and the cap, at the first block
past the limit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from llmops_ingestion.domain.limits import ExpansionLimit, limit_text
from llmops_ingestion.preparation.readers.records import BadInput

_BLOCK = 1 << 20


def expand(path: Path, name: str, codec: str, target: Path, limit: ExpansionLimit) -> None:
    """Decompress ``path`` (shown as ``name``) into ``target``. Raises :class:`BadInput` naming ``name``
    when it is empty, is not valid ``codec`` data, expands to nothing, or expands past ``limit``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BadInput(name, None, f"cannot read the file: {exc.strerror or exc}") from exc
    if size == 0:
        raise BadInput(name, None, "the file is empty")
    allowed, cap = limit.allowed(size)
    written = 0
    try:
        with pa.CompressedInputStream(str(path), codec) as compressed, target.open("wb") as out:
            while block := compressed.read(_BLOCK):
                written += len(block)
                if written > allowed:
                    raise BadInput(name, None, f"expands to more than {limit_text(allowed)}, the limit of {cap}")
                out.write(block)
    except (OSError, pa.ArrowException) as exc:
        target.unlink(missing_ok=True)
        raise BadInput(name, None, f"not valid {codec} data: {exc}") from None
    except BadInput:
        target.unlink(missing_ok=True)  # the space goes back now, not when the job ends
        raise
    if written == 0:
        raise BadInput(name, None, "the file is empty once decompressed")
