"""Blind A/B human review: draw a seeded sample of a completed run's examples, show each as the
candidate's and one baseline's output in a random order, and turn raters' verdicts into the
candidate's win rate with a bootstrap interval over items (``scipy.stats.bootstrap``).

Verdicts come from outside (a file of ratings, an RPC), so each is checked and an error names
``verdicts[i].<field>``. A rater's later verdict on an item replaces their earlier one; several raters
on one item are averaged into that item's score (win 1, tie 0.5, loss 0) before resampling items.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from llmops_common.errors import FailedPrecondition, InvalidArgument
from llmops_common.validation import quote
from llmops_evaluation.domain.results import CANDIDATE, Interval, MetricValue
from llmops_evaluation.domain.review import Review, ReviewItem, Verdict

DEFAULT_SAMPLE_SIZE = 100
MAX_ITEMS = 10_000
MAX_VERDICTS = 10_000
MAX_RATER = 200
MAX_ITEM_ID = 64
CHOICES = ("a", "b", "tie")
METRIC = "human_win_rate"
#: resampled values held at once by the bootstrap (bounds its memory)
BOOTSTRAP_CELLS = 4_000_000


def _output(row: Mapping[str, Any], role: str) -> str | None:
    """The role's output on this row, or None when it is missing or its generation failed."""
    model = row.get("outputs", {}).get(role)
    if not isinstance(model, Mapping) or model.get("error") or not isinstance(model.get("output"), str):
        return None
    return model["output"]


def draw_review(run_id: str, baseline_role: str, rows: Sequence[Mapping[str, Any]], sample_size: int, seed: int,
                review_id: str) -> Review:
    """``sample_size`` examples (0: ``DEFAULT_SAMPLE_SIZE``; all of them when fewer qualify) where the
    candidate and ``baseline_role`` (empty: the first baseline) both produced output, in a seeded random
    order, each with the candidate on a seeded random side."""
    if not 0 <= sample_size <= MAX_ITEMS:
        raise InvalidArgument(f"must be 0..{MAX_ITEMS:,}", field="sample_size")
    if not 0 <= seed < 2**63:
        raise InvalidArgument("must be 0..2^63-1", field="seed")
    roles = list(dict.fromkeys(role for row in rows for role in row.get("outputs", {}) if role != CANDIDATE))
    baseline = baseline_role or (roles[0] if roles else "")
    if baseline == CANDIDATE:
        raise InvalidArgument("the candidate cannot be its own baseline", field="baseline_role")
    if baseline not in roles:
        raise FailedPrecondition(f"run {quote(run_id)} has no baseline {quote(baseline)}; it has {roles[:8]}",
                                 field="baseline_role")
    eligible = [row for row in rows if _output(row, CANDIDATE) is not None and _output(row, baseline) is not None]
    if not eligible:
        raise FailedPrecondition(f"no example of run {quote(run_id)} has output from both the candidate and "
                                 f"{quote(baseline)}", field="run_id")
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(eligible))[:sample_size or DEFAULT_SAMPLE_SIZE]
    sides = rng.integers(0, 2, size=len(chosen))
    items = []
    for number, (index, side) in enumerate(zip(chosen.tolist(), sides.tolist(), strict=True), start=1):
        row = eligible[index]
        candidate, other = _output(row, CANDIDATE), _output(row, baseline)
        a, b = (candidate, other) if side == 0 else (other, candidate)
        items.append(ReviewItem(f"item-{number:05d}", str(row["record_id"]), str(row.get("prompt", "")),
                                str(row.get("reference", "")), a, b, "a" if side == 0 else "b"))
    return Review(review_id, run_id, baseline, seed, tuple(items))


def export_lines(review: Review) -> bytes:
    """The items as JSON Lines for raters: no record of which side is the candidate's."""
    return "".join(json.dumps({"review_id": review.review_id, "item_id": item.item_id, "record_id": item.record_id,
                               "input": item.input, "reference": item.reference, "output_a": item.output_a,
                               "output_b": item.output_b}, ensure_ascii=False) + "\n"
                   for item in review.items).encode("utf-8")


def _field(verdict: Any, name: str) -> Any:
    return verdict.get(name) if isinstance(verdict, Mapping) else getattr(verdict, name, None)


def check_verdicts(review: Review, verdicts: Sequence[Any]) -> list[Verdict]:
    """Verdicts (mappings or objects with ``item_id``, ``choice``, ``rater``) checked against the
    review: a known item, a choice of "a", "b" or "tie", a rater name of 1..200 characters without
    NUL or control characters."""
    if len(verdicts) > MAX_VERDICTS:
        raise InvalidArgument(f"at most {MAX_VERDICTS:,} verdicts per call; got {len(verdicts):,}", field="verdicts")
    if not verdicts:
        raise InvalidArgument("no verdicts", field="verdicts")
    known = {item.item_id for item in review.items}
    checked = []
    for index, verdict in enumerate(verdicts):
        where = f"verdicts[{index}]"
        item_id, choice, rater = (_field(verdict, name) for name in ("item_id", "choice", "rater"))
        if not isinstance(item_id, str) or item_id not in known:
            shown = quote(item_id) if isinstance(item_id, str) else type(item_id).__name__
            raise InvalidArgument(f"{shown} is not an item of review {quote(review.review_id)}",
                                  field=f"{where}.item_id")
        if not isinstance(choice, str) or choice not in CHOICES:
            shown = quote(choice) if isinstance(choice, str) else type(choice).__name__
            raise InvalidArgument(f"{shown} is not one of {', '.join(CHOICES)}", field=f"{where}.choice")
        if not isinstance(rater, str) or not rater.strip():
            raise InvalidArgument("a verdict needs the rater's name", field=f"{where}.rater")
        if len(rater) > MAX_RATER or not rater.isprintable():
            raise InvalidArgument(f"{quote(rater)} is not a name of at most {MAX_RATER} printable characters",
                                  field=f"{where}.rater")
        checked.append(Verdict(item_id, choice, rater))
    return checked


def score_review(review: Review, verdicts: Sequence[Verdict], *, confidence: float = 0.95,
                 bootstrap_samples: int = 1000, seed: int = 12345) -> tuple[int, int, int, MetricValue]:
    """(wins, losses, ties, the candidate's win rate): counts over the verdicts that stand (a rater's
    last on each item); the rate is the mean over rated items of each item's mean score, with a
    percentile bootstrap interval over items. No verdicts yet: a NaN rate with no interval."""
    sides = {item.item_id: item.candidate_side for item in review.items}
    standing: dict[tuple[str, str], str] = {}
    for verdict in verdicts:
        if verdict.item_id not in sides:
            raise InvalidArgument(f"{quote(verdict.item_id)} is not an item of review {quote(review.review_id)}",
                                  field="verdicts")
        standing[verdict.item_id, verdict.rater] = verdict.choice
    per_item: dict[str, list[float]] = {}
    wins = losses = ties = 0
    for (item_id, _), choice in standing.items():
        if choice == "tie":
            ties, score = ties + 1, 0.5
        elif choice == sides[item_id]:
            wins, score = wins + 1, 1.0
        else:
            losses, score = losses + 1, 0.0
        per_item.setdefault(item_id, []).append(score)
    scores = np.array([np.mean(values) for values in per_item.values()])
    if scores.size == 0:
        return 0, 0, 0, MetricValue(METRIC, math.nan, None, 0)
    value = float(scores.mean())
    if np.all(scores == scores[0]):  # every resample has the same mean (scipy would warn and answer NaN)
        interval = Interval(value, value, confidence)
    else:
        result = stats.bootstrap((scores,), np.mean, confidence_level=confidence, n_resamples=bootstrap_samples,
                                 method="percentile", rng=np.random.default_rng(seed),
                                 batch=max(1, BOOTSTRAP_CELLS // scores.size))
        interval = Interval(float(result.confidence_interval.low), float(result.confidence_interval.high), confidence)
    return wins, losses, ties, MetricValue(METRIC, value, interval, int(scores.size))
