"""Near-duplicate detection, part two: which records to keep, on verified similarity, without chains.

The rule, in full (docs/ingestion.md):

1. Records are ranked by completeness: the longest text first, then the smallest content key (the
   record's hash). The rank depends only on the records, never on the order they arrived in.
2. Candidate pairs are records that share an LSH band key (``minhash``). Within a band's bucket each
   member is paired with the ``PARTNERS`` best-ranked members before it, which is every pair unless
   a bucket is larger than that.
3. A candidate whose 8-bit fingerprints estimate a Jaccard more than ``ESTIMATE_SIGMAS`` standard
   deviations (at most sqrt(1 / (4 * permutations))) below the threshold is discarded as soon as its
   band is read (so memory holds one band's pairs and the plausible ones); the rest are verified on
   the exact Jaccard of their shingle-hash sets.
4. In rank order, a record is dropped if its verified Jaccard to an already *kept* record reaches the
   threshold; otherwise it is kept. Its keeper is the most similar such kept record.

Step 4 is why there are no transitive chains: with A ~ B and B ~ C but A !~ C, and A ranked first,
A is kept, B is dropped (it duplicates A), and C is kept, because B, the only record it resembles, is
not kept. ``datasketch``'s ``MinHashLSH`` answers candidates without verification and in insertion
order, and connected components would merge A, B and C; neither says what the threshold says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from llmops_ingestion.domain.minhash import estimated_similarity

PARTNERS = 16  # best-ranked members of a bucket that each member is compared with
ESTIMATE_SIGMAS = 4.0  # a pair at the threshold is discarded by its estimate with probability ~3e-5
_MAX_GATHER = 8_000_000  # shingle hashes gathered per verification chunk (64 MB of uint64); below 2^24
_HASH_BITS = 40


@dataclass(frozen=True)
class Shingles:
    """Every record's shingle hashes, back to back (``hashes`` may be a memory map);
    record i owns ``hashes[offsets[i]:offsets[i + 1]]``."""

    hashes: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True)
class NearDuplicates:
    """``keeper[i]`` is the record kept for record i (i itself when kept); ``similarity[i]`` is the
    verified Jaccard of record i to its keeper (1.0 when kept)."""

    keeper: np.ndarray
    similarity: np.ndarray

    @classmethod
    def none(cls, n: int) -> NearDuplicates:
        return cls(np.arange(n), np.ones(n, dtype=np.float32))

    @property
    def kept(self) -> np.ndarray:
        return self.keeper == np.arange(self.keeper.size)

    def cluster_sizes(self) -> dict[int, int]:
        """Keeper index -> cluster size (the keeper and the records it stands for), for sizes of two or more."""
        keepers, sizes = np.unique(self.keeper, return_counts=True)
        return {int(k): int(s) for k, s in zip(keepers, sizes, strict=True) if s > 1}


def completeness_rank(lengths: np.ndarray, content_key: np.ndarray) -> np.ndarray:
    """rank[i]: 0 for the most complete record (longest, then smallest content key), n - 1 for the least."""
    order = np.lexsort((content_key, -lengths.astype(np.int64)))
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank


def select(bands: Iterable[np.ndarray], fingerprints: np.ndarray, shingles: Shingles, eligible: np.ndarray,
           rank: np.ndarray, threshold: float) -> NearDuplicates:
    """Keep or drop every record by the rule in the module docstring.

    ``bands`` yields each band's keys for all records (e.g. read from disk one band at a time);
    ``eligible`` marks the records with at least one shingle; ``rank`` is ``completeness_rank``.
    """
    n = rank.size
    by_rank = np.argsort(rank)
    floor = threshold - ESTIMATE_SIGMAS * np.sqrt(0.25 / fingerprints.shape[1])
    codes = np.empty(0, np.int64)  # plausible pairs so far, as better rank * n + worse rank, sorted
    for band_keys in bands:  # one band's keys for every record at a time: memory is one column
        new = _band_pairs(band_keys, rank, eligible)
        if codes.size and new.size:
            found = np.minimum(np.searchsorted(codes, new), codes.size - 1)
            new = new[codes[found] != new]
        plausible = estimated_similarity(fingerprints, by_rank[new // n], by_rank[new % n]) >= floor
        codes = np.sort(np.concatenate([codes, new[plausible]]))
    better, worse = codes // n, codes % n
    similarity = exact_similarity(shingles, by_rank[better], by_rank[worse])
    close = similarity >= threshold
    return _greedy(n, by_rank, better[close], worse[close], similarity[close])


def _band_pairs(band_keys: np.ndarray, rank: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """One band's distinct candidate pairs, coded as better rank * n + worse rank, sorted: each member of
    a bucket paired with the ``PARTNERS`` best-ranked members before it."""
    members = np.flatnonzero(eligible)
    keys = band_keys[members]
    order = np.argsort(keys)
    sorted_keys = keys[order]
    repeated = sorted_keys[1:] == sorted_keys[:-1]
    if not repeated.any():
        return np.empty(0, np.int64)
    in_bucket = np.r_[repeated, False] | np.r_[False, repeated]  # members of buckets of two or more
    shared = order[in_bucket]
    ranks = rank[members[shared]]
    shared_keys = keys[shared]
    regroup = np.lexsort((ranks, shared_keys))  # each bucket together, best rank first
    ranks, shared_keys = ranks[regroup], shared_keys[regroup]
    starts = np.flatnonzero(np.r_[True, shared_keys[1:] != shared_keys[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, ranks.size]))
    position = np.arange(ranks.size) - first
    later = np.flatnonzero(position > 0)
    codes = []
    for partner in range(PARTNERS):
        later = later[position[later] > partner]
        if later.size == 0:
            break
        codes.append(ranks[first[later] + partner] * rank.size + ranks[later])
    unique = np.sort(np.concatenate(codes))
    return unique[np.r_[True, unique[1:] != unique[:-1]]]


def exact_similarity(shingles: Shingles, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Jaccard of the shingle-hash sets of records left[i] and right[i] (0 when both are empty).

    Each hash is cut to its top ``_HASH_BITS`` bits and packed with its pair's number into one uint64,
    so that a chunk's sets are one sort and one ``intersect1d``; two different shingles then agree
    with probability 2^-40, which leaves the Jaccard exact in practice. Chunks hold at most
    ``_MAX_GATHER`` hashes, and so at most that many pairs (the pair number takes the other 24 bits).
    """
    offsets = shingles.offsets
    sizes = (offsets[left + 1] - offsets[left]) + (offsets[right + 1] - offsets[right])
    out = np.zeros(left.size, dtype=np.float64)
    start = 0
    while start < left.size:
        stop = start + max(1, int(np.searchsorted(np.cumsum(sizes[start:]), _MAX_GATHER, side="right")))
        out[start:stop] = _jaccard_chunk(shingles, left[start:stop], right[start:stop])
        start = stop
    return out


def _jaccard_chunk(shingles: Shingles, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    left_codes, right_codes = _packed_sets(shingles, left), _packed_sets(shingles, right)
    common = np.bincount(np.intersect1d(left_codes, right_codes, assume_unique=True) >> _HASH_BITS,
                         minlength=left.size)
    union = (np.bincount(left_codes >> _HASH_BITS, minlength=left.size)
             + np.bincount(right_codes >> _HASH_BITS, minlength=left.size) - common)
    return np.divide(common, union, out=np.zeros(left.size), where=union > 0)


def _packed_sets(shingles: Shingles, records: np.ndarray) -> np.ndarray:
    """The distinct (pair number, hash prefix) codes of each pair's record, sorted."""
    begins, ends = shingles.offsets[records], shingles.offsets[records + 1]
    lengths = ends - begins
    pair = np.repeat(np.arange(records.size, dtype=np.uint64), lengths)
    within = np.arange(pair.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    hashes = np.asarray(shingles.hashes[np.repeat(begins, lengths) + within], dtype=np.uint64)
    codes = np.sort((pair << np.uint64(_HASH_BITS)) | (hashes >> np.uint64(64 - _HASH_BITS)))
    return codes[np.r_[True, codes[1:] != codes[:-1]]]  # np.unique hashes: many times slower on uint64


def _greedy(n: int, by_rank: np.ndarray, better: np.ndarray, worse: np.ndarray,
            similarity: np.ndarray) -> NearDuplicates:
    """Step 4 of the rule over the verified pairs (ranks), in rank order."""
    order = np.lexsort((better, -similarity, worse))  # by worse rank, the most similar first
    dropped = bytearray(n)
    keeper_rank: dict[int, tuple[int, float]] = {}
    for w, b, s in zip(worse[order].tolist(), better[order].tolist(), similarity[order].tolist(), strict=True):
        if not dropped[w] and not dropped[b]:  # b < w was decided earlier; a kept b drops w
            dropped[w] = 1
            keeper_rank[w] = (b, s)
    keeper = np.arange(n)
    near_similarity = np.ones(n, dtype=np.float32)
    if keeper_rank:
        ranks = np.fromiter(keeper_rank, dtype=np.int64, count=len(keeper_rank))
        values = np.array(list(keeper_rank.values()))
        keeper[by_rank[ranks]] = by_rank[values[:, 0].astype(np.int64)]
        near_similarity[by_rank[ranks]] = values[:, 1]
    return NearDuplicates(keeper, near_similarity)
