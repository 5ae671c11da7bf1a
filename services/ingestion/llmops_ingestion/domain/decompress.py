"""Compressed inputs expanded onto local disk, with caps checked while streaming.

A compressed file may expand to at most ``ratio x`` its own size (but always to 64 MiB, so that small
files of repetitive text are not refused), and never past ``max_bytes``; the stream stops, and the file
is bad input naming itself and the cap, at the first block past the limit, so a 10 MB gzip bomb costs
at most 1 GB of disk at the default ratio instead of 10 GiB.

Defaults: 20 GiB, as large as the largest upload accepted (``max_upload_bytes``), since the scratch
space is sized for that; and a ratio of 100: real datasets compress 3-20x (JSON Lines with repeated
keys at the top of that range), DEFLATE cannot exceed about 1032x, and a bomb sits at that maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from llmops_ingestion.domain.readers import BadInput, limit_text

DEFAULT_MAX_BYTES = 20 * 1024**3
DEFAULT_MAX_RATIO = 100.0
ALWAYS_ALLOWED_BYTES = 64 << 20
_BLOCK = 1 << 20


@dataclass(frozen=True)
class ExpansionLimit:
    """How far one compressed file may expand (``LLMOPS_INGESTION_MAX_DECOMPRESSED_BYTES`` and
    ``LLMOPS_INGESTION_MAX_DECOMPRESSION_RATIO``)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_ratio: float = DEFAULT_MAX_RATIO

    def allowed(self, compressed_size: int) -> tuple[int, str]:
        """The most bytes a file of ``compressed_size`` may expand to, and the cap that sets it."""
        by_ratio = max(ALWAYS_ALLOWED_BYTES, int(self.max_ratio * compressed_size))
        if by_ratio < self.max_bytes:
            return by_ratio, (f"{self.max_ratio:g} times its compressed size of {limit_text(compressed_size)}"
                              " (LLMOPS_INGESTION_MAX_DECOMPRESSION_RATIO)")
        return self.max_bytes, "LLMOPS_INGESTION_MAX_DECOMPRESSED_BYTES"


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
