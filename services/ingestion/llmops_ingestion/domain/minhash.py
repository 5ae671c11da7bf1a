"""Near-duplicate detection, part one: word-shingle hashes, MinHash signatures and LSH band keys, per batch.

``datasketch`` computes one ``MinHash`` object per record (its ``update_batch`` vectorises one
record's shingles) and keeps every band of every record in Python dicts. That loop tops out near
6,000 records/s and about 1 KB of dict memory per record and band. Here the same scheme runs on
arrays: word shingles of a whole batch are hashed in one pass over its UTF-8 bytes, the
permutations are one multiply-shift over a (shingles x permutations) matrix, and the band keys are
one column per band, written to disk and sorted later (``neardup``). The shingle hashes themselves
are kept too: ``neardup`` verifies every candidate pair on their exact Jaccard.

The banding is chosen for recall at the threshold, not by ``MinHashLSH``'s weighted
false-positive/false-negative optimum: the most rows per band (fewest false candidates) whose chance
of missing a pair at exactly the threshold stays under ``MAX_MISS``. Candidates are verified, so the
extra candidates below the threshold cost only verification time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

_SEED = 0x5EED_11_0B5
_WORD_POW_TABLE = 64  # byte positions beyond this reuse the table cyclically (still deterministic)
_MAX_CHUNK_CELLS = 4_000_000  # shingles x permutations per matrix, about 32 MB of uint64
_SEPARATOR = 0
MAX_MISS = 1e-3  # chance that a pair at exactly the threshold shares no band
_SPACES = np.zeros(256, dtype=bool)
_SPACES[[_SEPARATOR, 9, 10, 11, 12, 13, 32]] = True


@dataclass(frozen=True)
class MinHashScheme:
    """Permutations and banding for one threshold / permutation count / shingle size."""

    threshold: float = 0.8
    num_perm: int = 128
    shingle_size: int = 3

    @cached_property
    def _params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(_SEED)
        a = rng.integers(1, 2**63, size=self.num_perm, dtype=np.uint64) | np.uint64(1)
        b = rng.integers(0, 2**63, size=self.num_perm, dtype=np.uint64)
        word_pow = rng.integers(1, 2**63, size=_WORD_POW_TABLE, dtype=np.uint64) | np.uint64(1)
        shingle_mix = rng.integers(1, 2**63, size=max(self.shingle_size, self.rows), dtype=np.uint64) | np.uint64(1)
        return a, b, word_pow, shingle_mix

    @cached_property
    def _bands(self) -> tuple[int, int]:
        return banding(self.threshold, self.num_perm)

    @property
    def bands(self) -> int:
        return self._bands[0]

    @property
    def rows(self) -> int:
        return self._bands[1]

    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(signatures uint32 [n, num_perm], has_shingles bool [n]) for lower-cased word shingles.

        A text with fewer words than the shingle size uses its words as shingles; a text with no
        words gets no signature (``has_shingles`` False) and is never a near duplicate.
        """
        hashes, owners = self.shingles(texts)
        return self.signatures_of(hashes, owners, len(texts))

    def shingles(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Shingle hashes (uint64, 64-bit so that two different shingles practically never collide) and
        the index of the text each belongs to, grouped by text in order; a repeated shingle repeats."""
        _, _, word_pow, mix = self._params
        joined = "\x00".join(t.replace("\x00", " ") for t in texts).lower().encode("utf-8")
        data = np.frombuffer(joined, dtype=np.uint8)
        if data.size == 0:
            return np.empty(0, np.uint64), np.empty(0, np.int64)
        text_of_byte = np.cumsum(data == _SEPARATOR)
        word_bytes = np.flatnonzero(~_SPACES[data])
        if word_bytes.size == 0:
            return np.empty(0, np.uint64), np.empty(0, np.int64)
        starts = np.flatnonzero(np.r_[True, np.diff(word_bytes) != 1])
        position = np.arange(word_bytes.size) - np.repeat(starts, np.diff(np.r_[starts, word_bytes.size]))
        contrib = (data[word_bytes].astype(np.uint64) + np.uint64(1)) * word_pow[position % _WORD_POW_TABLE]
        word_hash = np.add.reduceat(contrib, starts)
        word_text = text_of_byte[word_bytes[starts]]
        return self._combine(word_hash, word_text, mix)

    def signatures_of(self, hashes: np.ndarray, owners: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``signatures`` from the output of ``shingles`` for ``n`` texts."""
        a, b, _, _ = self._params
        signatures = np.full((n, self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        has = np.zeros(n, dtype=bool)
        if hashes.size == 0:
            return signatures, has
        has[owners] = True
        step = max(1, _MAX_CHUNK_CELLS // self.num_perm)
        start = 0
        while start < hashes.size:
            stop = min(hashes.size, start + step)
            # extend the chunk to the end of the last record in it, so a record is never split
            while stop < hashes.size and owners[stop] == owners[stop - 1]:
                stop += 1
            chunk_owners = owners[start:stop]
            permuted = (hashes[start:stop, None] * a[None, :] + b[None, :]) >> np.uint64(32)
            firsts = np.flatnonzero(np.r_[True, chunk_owners[1:] != chunk_owners[:-1]])
            signatures[chunk_owners[firsts]] = np.minimum.reduceat(permuted, firsts, axis=0).astype(np.uint32)
            start = stop
        return signatures, has

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """One 64-bit key per band and record: [n, bands]."""
        _, _, _, mix = self._params
        r = self.rows
        keys = np.empty((signatures.shape[0], self.bands), dtype=np.uint64)
        for band in range(self.bands):
            block = signatures[:, band * r:(band + 1) * r].astype(np.uint64)
            keys[:, band] = (block * mix[:r]).sum(axis=1, dtype=np.uint64) + np.uint64(band)
        return keys

    def _combine(self, word_hash: np.ndarray, word_text: np.ndarray,
                 mix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = self.shingle_size
        counts = np.bincount(word_text)
        if k > 1 and word_hash.size >= k:
            same_text = word_text[: word_hash.size - k + 1] == word_text[k - 1:]
            combined = np.zeros(word_hash.size - k + 1, dtype=np.uint64)
            for i in range(k):
                combined += word_hash[i: word_hash.size - k + 1 + i] * mix[i]
            long_hashes, long_owner = combined[same_text], word_text[: word_hash.size - k + 1][same_text]
        else:
            long_hashes, long_owner = word_hash, word_text
        if k > 1:  # texts shorter than k words fall back to their single words
            short = counts[word_text] < k
            hashes = np.concatenate([long_hashes, word_hash[short]])
            owners = np.concatenate([long_owner, word_text[short]])
            order = np.argsort(owners, kind="stable")
            return hashes[order], owners[order]
        return long_hashes, long_owner


def fingerprint(signatures: np.ndarray) -> np.ndarray:
    """The lowest byte of every permutation's minimum: what ``estimated_similarity`` compares."""
    return (signatures & 0xFF).astype(np.uint8)


def estimated_similarity(fingerprints: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of the pairs (left[i], right[i]) from 8-bit fingerprints.

    Two unrelated minima still agree on their low byte with probability 1/256, so the raw match rate
    m estimates J + (1 - J) / 256, and J = (m - 1/256) / (1 - 1/256).
    """
    out = np.empty(left.size, dtype=np.float64)
    step = 65_536
    for start in range(0, left.size, step):
        sl = slice(start, start + step)
        out[sl] = (fingerprints[left[sl]] == fingerprints[right[sl]]).mean(axis=1)
    chance = 1 / 256
    return np.clip((out - chance) / (1 - chance), 0.0, 1.0)


def banding(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows): the most rows per band whose miss chance at ``threshold``, (1 - t^r)^b, is at most
    ``MAX_MISS``, with as many bands as the permutations allow."""
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if (1 - threshold ** rows) ** bands <= MAX_MISS:
            best = (bands, rows)
    return best
