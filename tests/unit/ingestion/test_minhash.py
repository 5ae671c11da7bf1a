"""MinHash scheme: batch-independent signatures, shingles, banding chosen for recall, 8-bit estimates."""

from __future__ import annotations

import random

import numpy as np
import pytest

from llmops_ingestion.domain.minhash import MAX_MISS, MinHashScheme, banding, estimated_similarity, fingerprint

WORDS = [f"word{i}" for i in range(3000)]


def _texts(n: int, seed: int = 0, length: int = 60) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(length)) for _ in range(n)]


def _edit(text: str, seed: int) -> str:
    words = text.split()
    words[random.Random(seed).randrange(len(words))] = "edited"
    return " ".join(words)


def _jaccard(a: str, b: str, k: int = 3) -> float:
    def shingles(t: str) -> set[tuple[str, ...]]:
        w = t.lower().split()
        return {tuple(w[i:i + k]) for i in range(len(w) - k + 1)}
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_signature_of_a_text_does_not_depend_on_its_batch():
    scheme = MinHashScheme()
    texts = _texts(20)
    alone, _ = scheme.signatures([texts[7]])
    together, _ = scheme.signatures(texts)
    assert np.array_equal(alone[0], together[7])
    assert np.array_equal(scheme.signatures(["Same Text here"])[0], scheme.signatures(["same text HERE"])[0])


def test_shingles_are_grouped_by_text_and_short_texts_fall_back_to_words():
    scheme = MinHashScheme()
    hashes, owners = scheme.shingles(["a b c d e", "", "two words", "a b c"])
    assert owners.tolist() == [0, 0, 0, 2, 2, 3]
    assert hashes[0] == hashes[5], "'a b c' is the same shingle in both texts"
    assert len(set(hashes[:3].tolist())) == 3


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.5, 128), (0.8, 128), (0.85, 128), (0.9, 256)])
def test_banding_misses_a_pair_at_the_threshold_rarely_and_uses_as_many_rows_as_that_allows(threshold, num_perm):
    bands, rows = banding(threshold, num_perm)
    assert bands * rows <= num_perm and bands == num_perm // rows
    assert (1 - threshold ** rows) ** bands <= MAX_MISS
    assert all((1 - threshold ** r) ** (num_perm // r) > MAX_MISS for r in range(rows + 1, num_perm + 1))
    assert (MinHashScheme(threshold, num_perm).bands, MinHashScheme(threshold, num_perm).rows) == (bands, rows)


def test_band_keys_agree_exactly_when_a_band_of_the_signature_agrees():
    scheme = MinHashScheme()
    original = _texts(1, seed=4)[0]
    signatures, _ = scheme.signatures([original, _edit(original, 1), _texts(1, seed=5)[0]])
    keys = scheme.band_keys(signatures)
    r = scheme.rows
    for band in range(scheme.bands):
        same = np.array_equal(signatures[0, band * r:(band + 1) * r], signatures[1, band * r:(band + 1) * r])
        assert (keys[0, band] == keys[1, band]) == same
    assert not (keys[0] == keys[2]).any()


def test_estimated_similarity_tracks_jaccard():
    scheme = MinHashScheme(num_perm=256)
    base = _texts(30, seed=1)
    pairs = [(t, _edit(t, i)) for i, t in enumerate(base)] + list(zip(base[:15], base[15:], strict=True))
    sigs, _ = scheme.signatures([p for pair in pairs for p in pair])
    left, right = np.arange(0, len(sigs), 2), np.arange(1, len(sigs), 2)
    estimated = estimated_similarity(fingerprint(sigs), left, right)
    exact = np.array([_jaccard(a, b) for a, b in pairs])
    assert np.abs(estimated - exact).max() < 0.12


def test_texts_without_words_have_no_signature():
    signatures, has = MinHashScheme().signatures(["", "   ", "two words", "one"])
    assert has.tolist() == [False, False, True, True]
    assert (signatures[0] == np.iinfo(np.uint32).max).all()
