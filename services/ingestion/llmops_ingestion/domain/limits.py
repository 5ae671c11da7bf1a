"""Size limits on raw input, and how a limit reads to people.

A compressed file may expand to at most ``ratio x`` its own size (but always to 64 MiB, so that small
files of repetitive text are not refused), and never past ``max_bytes``, so a 10 MB gzip bomb costs at
most 1 GB of disk at the default ratio instead of 10 GiB.

Defaults: 20 GiB, as large as the largest upload accepted (``max_upload_bytes``), since the scratch
space is sized for that; and a ratio of 100: real datasets compress 3-20x (JSON Lines with repeated
keys at the top of that range), DEFLATE cannot exceed about 1032x, and a bomb sits at that maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_BYTES = 20 * 1024**3
DEFAULT_MAX_RATIO = 100.0
ALWAYS_ALLOWED_BYTES = 64 << 20


def limit_text(n: int) -> str:
    """``n`` bytes for people: 8.0 MiB, 1.5 KiB, 100 bytes."""
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} bytes"


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
