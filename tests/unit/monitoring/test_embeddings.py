"""Embedders: unit-length float32 rows; MiniLM loaded once per process and safe across threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_monitoring.detectors import embeddings
from llmops_monitoring.detectors.embeddings import HashingEmbedder, MiniLMEmbedder

TEXTS = [
    "How do I bake bread at home?",
    "What is a simple recipe for homemade bread?",
    "Explain the theory of general relativity.",
    "The stock market fell sharply today.",
]


@pytest.fixture(scope="module")
def minilm_rows() -> np.ndarray:
    return MiniLMEmbedder().encode(TEXTS)


def test_minilm_rows_are_unit_float32(minilm_rows):
    assert minilm_rows.shape == (len(TEXTS), MiniLMEmbedder.dim) and minilm_rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(minilm_rows, axis=1), 1.0, atol=1e-5)


def test_minilm_places_paraphrases_closer_than_unrelated_texts(minilm_rows):
    sims = minilm_rows @ minilm_rows.T
    assert sims[0, 1] > 0.6 and sims[0, 1] > sims[0, 2] + 0.3 and sims[0, 1] > sims[0, 3] + 0.3


def test_the_model_is_loaded_once_per_process(minilm_rows):
    model = embeddings._shared_model()
    MiniLMEmbedder(batch_size=8).encode(["another instance"])
    assert embeddings._shared_model() is model


def test_concurrent_encoding_matches_serial(minilm_rows):
    embedder = MiniLMEmbedder(batch_size=2)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: embedder.encode(TEXTS), range(4)))
    for rows in results:
        np.testing.assert_allclose(rows, minilm_rows, atol=1e-5)


def test_minilm_clips_long_texts_and_handles_empty_input():
    embedder = MiniLMEmbedder(max_chars=50)
    long, short = embedder.encode(["bread " * 200_000, "bread " * 9])
    np.testing.assert_allclose(long, short, atol=1e-5)  # both read as the same 50 characters
    assert embedder.encode([]).shape == (0, MiniLMEmbedder.dim)


def test_hashing_embedder_is_deterministic_and_normalised():
    a, b = HashingEmbedder(dim=64), HashingEmbedder(dim=64)
    rows = a.encode(TEXTS)
    np.testing.assert_array_equal(rows, b.encode(TEXTS))
    assert rows.shape == (len(TEXTS), 64) and rows.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert HashingEmbedder().encode([]).shape == (0, 256)


def test_hashing_embedder_scores_shared_words():
    rows = HashingEmbedder().encode(["the red fox jumps", "the red fox sleeps", "quantum chromodynamics lecture"])
    assert rows[0] @ rows[1] > rows[0] @ rows[2]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=5))
def test_hashing_rows_are_unit_or_zero(texts):
    rows = HashingEmbedder(dim=32).encode(texts)
    assert rows.shape == (len(texts), 32) and np.isfinite(rows).all()
    assert all(np.isclose(n, 1.0, atol=1e-5) or n == 0.0 for n in np.linalg.norm(rows, axis=1))
