"""A blind A/B review: items drawn from a completed run, each the candidate's and one baseline's output
in a random order that only the service knows, and raters' verdicts on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Side = Literal["a", "b"]
Choice = Literal["a", "b", "tie"]


@dataclass(frozen=True)
class ReviewItem:
    item_id: str
    record_id: str
    input: str
    reference: str
    output_a: str
    output_b: str
    candidate_side: Side  # never exported


@dataclass(frozen=True)
class Review:
    review_id: str
    run_id: str
    baseline_role: str
    seed: int
    items: tuple[ReviewItem, ...]
    uri: str = ""  # the JSON Lines export in S3
    created_by: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    item_id: str
    choice: Choice
    rater: str
