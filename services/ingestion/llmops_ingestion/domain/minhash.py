"""Near-duplicate detection: MinHash signatures for whole batches, LSH banding, verified clusters.

``datasketch`` computes one ``MinHash`` object per record (its ``update_batch`` vectorises one
record's shingles), keeps every band of every record in Python dicts, and answers candidates
in insertion order, so which copy survives depends on the input order. That loop tops out near
6,000 records/s and about 1 KB of dict memory per record and band. Here the same scheme runs on
arrays: word shingles of a whole batch are hashed in one pass over its UTF-8 bytes, the
permutations are one multiply-shift over a (shingles x permutations) matrix, and banding is a sort
per band over all records at the end. Candidates are verified on 8-bit fingerprints of the
signatures (b-bit MinHash, Li and König 2010: one byte per permutation, a quarter of the signature's
memory) whose estimated Jaccard must reach the threshold, and each cluster keeps the member with the
smallest content hash,
so the result does not depend on the order of the input. ``datasketch`` still chooses the band
count and width (``MinHashLSH``'s false-positive/negative optimisation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from datasketch import MinHashLSH
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_SEED = 0x5EED_11_0B5
_WORD_POW_TABLE = 64  # byte positions beyond this reuse the table cyclically (still deterministic)
_MAX_CHUNK_CELLS = 4_000_000  # shingles x permutations per matrix, about 32 MB of uint64
_SEPARATOR = 0
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
        lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)
        return lsh.b, lsh.r

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
        a, b, _, _ = self._params
        hashes, owners = self._shingles(texts)
        n = len(texts)
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

    def _shingles(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Shingle hashes (uint64) and the index of the text each belongs to, grouped by text."""
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


@dataclass(frozen=True)
class NearDuplicates:
    """Result of clustering: ``keeper[i]`` is the record kept for record i (i itself when kept)."""

    keeper: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        return self.keeper == np.arange(self.keeper.size)

    def cluster_sizes(self) -> dict[int, int]:
        """Keeper index -> cluster size, for clusters of two or more."""
        keepers, sizes = np.unique(self.keeper, return_counts=True)
        return {int(k): int(s) for k, s in zip(keepers, sizes, strict=True) if s > 1}


def cluster(bands: Iterable[np.ndarray], fingerprints: np.ndarray, eligible: np.ndarray, order_key: np.ndarray,
            threshold: float) -> NearDuplicates:
    """Cluster records that share a band and whose fingerprints estimate a Jaccard of at least ``threshold``.

    ``bands`` yields each band's keys for all records (e.g. read from disk one band at a time).
    ``order_key`` (e.g. a content hash) picks each cluster's keeper: the smallest key wins, so the
    outcome is the same however the input was ordered.
    """
    n = eligible.size
    candidates = np.flatnonzero(eligible)
    lefts, rights = [], []
    for band_keys in bands:  # one band's keys for every record at a time: memory is one column
        keys = band_keys[candidates]
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        same_as_previous = np.r_[False, sorted_keys[1:] == sorted_keys[:-1]]
        if not same_as_previous.any():
            continue
        bucket_first = np.maximum.accumulate(np.where(~same_as_previous, np.arange(order.size), 0))
        members = np.flatnonzero(same_as_previous)
        lefts.append(candidates[order[bucket_first[members]]])
        rights.append(candidates[order[members]])
    keeper = np.arange(n)
    if not lefts:
        return NearDuplicates(keeper)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    pairs = np.unique(np.stack([left, right], axis=1), axis=0)
    left, right = pairs[:, 0], pairs[:, 1]
    verified = estimated_similarity(fingerprints, left, right) >= threshold
    left, right = left[verified], right[verified]
    if left.size == 0:
        return NearDuplicates(keeper)
    graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    by_component_then_key = np.lexsort((order_key, component))
    first_of_component = np.r_[True, component[by_component_then_key][1:] != component[by_component_then_key][:-1]]
    winner = np.empty(component.max() + 1, dtype=np.int64)
    winner[component[by_component_then_key[first_of_component]]] = by_component_then_key[first_of_component]
    return NearDuplicates(winner[component])
