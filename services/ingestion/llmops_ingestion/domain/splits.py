"""The deterministic split: a record's split follows from its content hash and the salt alone, so the
same record lands in the same split however the input is ordered or batched."""

from __future__ import annotations

import hashlib

from llmops_ingestion.domain.config import SplitStep

TRAIN, VALIDATION, TEST = "train", "validation", "test"
SPLITS = (TRAIN, VALIDATION, TEST)


def split_of(record_id: bytes, step: SplitStep) -> str:
    """``test`` for the lowest ``test_fraction`` of the hash range, then ``validation``, else ``train``."""
    digest = hashlib.blake2b(record_id, digest_size=8, key=step.salt.encode()[:64], person=b"llmops-split").digest()
    position = int.from_bytes(digest, "big") / 2**64
    if position < step.test_fraction:
        return TEST
    if position < step.test_fraction + step.validation_fraction:
        return VALIDATION
    return TRAIN
