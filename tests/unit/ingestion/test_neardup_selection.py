"""Near-duplicate selection: verified Jaccard against kept records only, no chains, the most complete
record kept, the same outcome however the input is ordered."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_ingestion.domain.minhash import MinHashScheme, fingerprint
from llmops_ingestion.domain.neardup import (
    PARTNERS,
    NearDuplicates,
    Shingles,
    _band_pairs,
    completeness_rank,
    exact_similarity,
    select,
)

WORDS = [f"word{i}" for i in range(5000)]
SCHEME = MinHashScheme(threshold=0.8)


def _text(seed: int, length: int = 100) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(WORDS) for _ in range(length)]


def _substitute(words: list[str], count: int, seed: int) -> list[str]:
    """``count`` scattered words replaced by a shorter one, so the copy is never longer."""
    out = list(words)
    for i in random.Random(seed).sample(range(len(out)), count):
        out[i] = "x"
    return out


def _jaccard(a: str, b: str) -> float:
    def shingles(t: str) -> set[tuple[str, ...]]:
        w = t.lower().split()
        return {tuple(w[i:i + 3]) for i in range(len(w) - 2)}
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def _select(texts: list[str], keys: list[int] | None = None) -> NearDuplicates:
    hashes, owners = SCHEME.shingles(texts)
    signatures, has = SCHEME.signatures_of(hashes, owners, len(texts))
    offsets = np.r_[0, np.cumsum(np.bincount(owners, minlength=len(texts)))]
    content_key = np.array(keys if keys is not None else range(len(texts)), dtype=np.uint64)
    rank = completeness_rank(np.array([len(t) for t in texts]), content_key)
    return select(SCHEME.band_keys(signatures).T, fingerprint(signatures), Shingles(hashes, offsets), has, rank,
                  SCHEME.threshold)


def _families(count: int = 12) -> list[str]:
    texts = []
    for family in range(count):
        base = _text(family)
        texts.append(" ".join(base))
        texts += [" ".join(_substitute(base, k, family * 10 + k)) for k in (1, 3, 6, 12)]
    return texts


def test_no_transitive_chains_a_record_like_only_a_dropped_record_is_kept():
    a = _text(1)
    b = _substitute(a, 3, seed=2)
    c = _substitute(b, 3, seed=3)
    texts = [" ".join(t) for t in (a, b, c)]
    assert _jaccard(texts[0], texts[1]) >= 0.8 and _jaccard(texts[1], texts[2]) >= 0.8
    assert _jaccard(texts[0], texts[2]) < 0.8
    result = _select(texts)
    assert result.kept.tolist() == [True, False, True]
    assert result.keeper.tolist() == [0, 0, 2]
    assert abs(float(result.similarity[1]) - _jaccard(texts[0], texts[1])) < 1e-6


def test_the_longest_record_is_kept_then_the_smallest_content_key():
    base = _text(4)
    shorter = " ".join(_substitute(base, 1, seed=5))
    longer = " ".join(base + ["appendix"])
    result = _select([shorter, " ".join(base), longer], keys=[1, 2, 3])
    assert result.kept.tolist() == [False, False, True] and result.keeper.tolist() == [2, 2, 2]
    same_length = [" ".join(base[:50] + ["alpha"] + base[51:]), " ".join(base[:50] + ["gamma"] + base[51:])]
    assert _select(same_length, keys=[9, 4]).kept.tolist() == [False, True]
    assert _select(same_length, keys=[4, 9]).kept.tolist() == [True, False]


def test_a_record_is_dropped_only_for_a_kept_record_at_or_above_the_threshold():
    texts = _families()
    result = _select(texts)
    kept = result.kept
    for i in np.flatnonzero(~kept):
        keeper = int(result.keeper[i])
        assert kept[keeper]
        assert _jaccard(texts[i], texts[keeper]) >= 0.8
    kept_texts = [t for t, k in zip(texts, kept, strict=True) if k]
    for i, left in enumerate(kept_texts):
        assert all(_jaccard(left, right) < 0.8 for right in kept_texts[i + 1:])
    assert kept[::5].all(), "each family's base is its longest record, so it is the one kept"


@settings(max_examples=15, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_kept_records_do_not_depend_on_the_input_order(rng):
    texts = _families(6)
    keys = list(range(len(texts)))
    expected = {keys[i] for i in np.flatnonzero(_select(texts, keys).kept)}
    order = list(range(len(texts)))
    rng.shuffle(order)
    shuffled = _select([texts[i] for i in order], [keys[i] for i in order])
    assert {keys[order[i]] for i in np.flatnonzero(shuffled.kept)} == expected


def test_exact_similarity_is_the_jaccard_of_the_shingle_sets():
    texts = [" ".join(_text(7)), " ".join(_substitute(_text(7), 5, seed=8)), "a b c a b c a b c", "a b c", ""]
    hashes, owners = SCHEME.shingles(texts)
    offsets = np.r_[0, np.cumsum(np.bincount(owners, minlength=len(texts)))]
    left, right = np.array([0, 0, 2, 3]), np.array([1, 2, 3, 4])
    got = exact_similarity(Shingles(hashes, offsets), left, right)
    assert np.allclose(got[:3], [_jaccard(texts[a], texts[b]) for a, b in zip(left[:3], right[:3], strict=True)])
    assert got[3] == 0.0


def test_records_without_words_are_never_near_duplicates():
    result = _select(["", "   ", " ".join(_text(9)), " ".join(_text(9)[:99])])
    assert result.kept.tolist() == [True, True, True, False]
    assert result.cluster_sizes() == {2: 2}


def test_a_bucket_larger_than_the_partner_window_keeps_only_the_most_complete_record():
    base = _text(11)
    copies = [" ".join(base[:99] + [f"tail{i}"]) for i in range(40)]  # pairwise J = 97/99
    result = _select([" ".join(base + ["complete"]), *copies])
    assert result.kept.tolist() == [True] + [False] * 40
    assert (result.keeper == 0).all()


def test_one_huge_bucket_yields_at_most_partners_pairs_per_record():
    n = 200
    codes = _band_pairs(np.zeros(n, dtype=np.uint64), np.arange(n)[::-1].copy(), np.ones(n, dtype=bool))
    better, worse = codes // n, codes % n
    assert codes.size == sum(min(position, PARTNERS) for position in range(n))
    assert (better < worse).all() and set(better.tolist()) == set(range(PARTNERS))
