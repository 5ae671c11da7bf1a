"""Near-duplicate detection: batch MinHash, banding, verified clusters, order-independent keepers."""

from __future__ import annotations

import random

import numpy as np

from llmops_ingestion.domain.minhash import MinHashScheme, cluster, estimated_similarity, fingerprint

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


def _run(texts: list[str], scheme: MinHashScheme, order_key: np.ndarray):
    signatures, has = scheme.signatures(texts)
    return cluster(scheme.band_keys(signatures).T, fingerprint(signatures), has, order_key, scheme.threshold)


def test_signature_of_a_text_does_not_depend_on_its_batch():
    scheme = MinHashScheme()
    texts = _texts(20)
    alone, _ = scheme.signatures([texts[7]])
    together, _ = scheme.signatures(texts)
    assert np.array_equal(alone[0], together[7])
    assert np.array_equal(scheme.signatures(["Same Text here"])[0], scheme.signatures(["same text HERE"])[0])


def test_banding_matches_datasketch_parameters():
    scheme = MinHashScheme(threshold=0.8, num_perm=128)
    assert (scheme.bands, scheme.rows) == (9, 13)


def test_estimated_similarity_tracks_jaccard():
    scheme = MinHashScheme(num_perm=256)
    base = _texts(30, seed=1)
    pairs = [(t, _edit(t, i)) for i, t in enumerate(base)] + list(zip(base[:15], base[15:], strict=True))
    sigs, _ = scheme.signatures([p for pair in pairs for p in pair])
    left, right = np.arange(0, len(sigs), 2), np.arange(1, len(sigs), 2)
    estimated = estimated_similarity(fingerprint(sigs), left, right)
    exact = np.array([_jaccard(a, b) for a, b in pairs])
    assert np.abs(estimated - exact).max() < 0.12


def test_near_duplicates_are_clustered_and_distinct_texts_are_not():
    scheme = MinHashScheme()
    originals = _texts(200, seed=2)
    copies = [_edit(t, i) for i, t in enumerate(originals[:50])]
    texts = originals + copies
    result = _run(texts, scheme, np.arange(len(texts), dtype=np.uint64))
    kept = result.kept
    assert kept[:200].all(), "no original may be dropped: they are pairwise dissimilar"
    # single-word edits of 60-word texts have Jaccard ~0.9; banding finds most of them
    assert (~kept[200:]).sum() >= 40
    for copy_index in np.flatnonzero(~kept):
        assert result.keeper[copy_index] == copy_index - 200


def test_keeper_is_chosen_by_order_key_not_by_position():
    scheme = MinHashScheme()
    original = _texts(1, seed=3)[0]
    texts = [original, _edit(original, 1), _edit(original, 2)]
    keys = np.array([30, 10, 20], dtype=np.uint64)
    forward = _run(texts, scheme, keys)
    backward = _run(texts[::-1], scheme, keys[::-1])
    assert forward.kept.tolist() == [False, True, False]
    assert backward.kept.tolist() == [False, True, False][::-1]
    assert forward.cluster_sizes() == {1: 3}


def test_texts_without_words_have_no_signature_and_are_never_duplicates():
    scheme = MinHashScheme()
    signatures, has = scheme.signatures(["", "   ", "two words", "one"])
    assert has.tolist() == [False, False, True, True]
    result = cluster(scheme.band_keys(signatures).T, fingerprint(signatures), has, np.arange(4, dtype=np.uint64), 0.8)
    assert result.kept.all()
