"""Feedback into training records (the flywheel): instruction/response pairs from corrected answers
and from outputs users rated well, deduplicated within the batch and against the model's training data
by a hash of their normalised content. PII redaction is ingestion's job when the records become a
dataset version."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from llmops_monitoring.store import FeedbackRow

#: a score at or above this (1..5) makes an uncorrected output worth training on
GOOD_SCORE = 4.0
_SPACE = re.compile(r"\s+")


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def record_hash(instruction: str, output: str) -> str:
    """SHA-256 of the NFKC-normalised, case-folded, whitespace-collapsed pair: the same exchange typed
    differently hashes the same."""
    payload = _normalise(instruction) + "\x00" + _normalise(output)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class Curated:
    records: list[dict[str, str]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    hashes: list[str] = field(default_factory=list)  # record_hash of each record, in order


def _pick(row: FeedbackRow) -> tuple[str, str]:
    """(the response to train on, "") or ("", the reason the row is skipped)."""
    feedback, inference = row.feedback, row.inference
    if not inference.prompt.strip():
        return "", "no_prompt"  # redacted or never logged
    if feedback.correction.strip():
        return feedback.correction, ""
    if feedback.rating == "negative":
        return "", "negative"
    if feedback.score is not None and feedback.score < GOOD_SCORE and feedback.rating != "positive":
        return "", "low_score"
    if feedback.rating == "positive" or (feedback.score is not None and feedback.score >= GOOD_SCORE):
        return ("", "no_output") if not inference.output.strip() else (inference.output, "")
    return "", "unrated"


def curate(rows: list[FeedbackRow], *, known_hashes: set[str]) -> Curated:
    """Records ``{"instruction", "output", "feedback_id", "inference_id", "model_version"}``: a corrected
    answer always; otherwise the model's output when rated positive or scored >= ``GOOD_SCORE``; a
    negative rating without a correction is skipped. Later duplicates of a record in the batch
    (``duplicate``) and records already in ``known_hashes`` (``in_training_data``) are skipped too."""
    curated, skipped, seen = Curated(), Counter[str](), set(known_hashes)
    for row in rows:
        output, reason = _pick(row)
        if reason:
            skipped[reason] += 1
            continue
        digest = record_hash(row.inference.prompt, output)
        if digest in seen:
            skipped["in_training_data" if digest in known_hashes else "duplicate"] += 1
            continue
        seen.add(digest)
        curated.hashes.append(digest)
        curated.records.append({"instruction": row.inference.prompt, "output": output,
                                "feedback_id": row.feedback.feedback_id, "inference_id": row.inference.inference_id,
                                "model_version": row.inference.model_version or row.feedback.model_version})
    curated.skipped = dict(skipped)
    return curated
