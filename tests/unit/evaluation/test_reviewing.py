"""Blind A/B review: the seeded draw, the export without the answer key, hostile verdicts refused by
field, and the win rate with its bootstrap interval."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops.evaluation.v1 import evaluation_pb2 as pb
from llmops_common.errors import FailedPrecondition, InvalidArgument
from llmops_evaluation.domain.review import Review, ReviewItem, Verdict
from llmops_evaluation.reviewing import MAX_VERDICTS, check_verdicts, draw_review, export_lines, score_review


def _rows(n: int, *, failing: dict[str, set[int]] | None = None) -> list[dict]:
    failing = failing or {}
    return [{"record_id": f"r{i}", "prompt": f"q{i}", "reference": f"ref{i}", "outputs": {
        role: {"output": "" if i in failing.get(role, set()) else f"{role}-{i}",
               "error": "boom" if i in failing.get(role, set()) else "", "scores": {}}
        for role in ("candidate", "base", "champion")}} for i in range(n)]


def test_the_draw_takes_only_examples_both_sides_answered_and_hides_the_candidate_at_random() -> None:
    rows = _rows(300, failing={"candidate": {0, 1}, "champion": {2}, "base": {3}})
    review = draw_review("run-1", "champion", rows, 500, seed=7, review_id="rev-1")
    assert review.baseline_role == "champion" and review.seed == 7 and len(review.items) == 297
    drawn = {i.record_id for i in review.items}
    assert drawn.isdisjoint({"r0", "r1", "r2"}) and "r3" in drawn
    assert len({i.item_id for i in review.items}) == 297
    for item in review.items:
        n = item.record_id[1:]
        pair = (item.output_a, item.output_b) if item.candidate_side == "a" else (item.output_b, item.output_a)
        assert (*pair, item.input, item.reference) == (f"candidate-{n}", f"champion-{n}", f"q{n}", f"ref{n}")
    sides = [item.candidate_side for item in review.items]
    assert 100 < sides.count("a") < 197  # both sides, in no fixed pattern
    assert [i.record_id for i in review.items] != sorted((i.record_id for i in review.items), key=lambda r: int(r[1:]))


def test_the_draw_is_reproducible_by_seed_and_sized_by_request() -> None:
    rows = _rows(150)
    first = draw_review("run-1", "", rows, 20, seed=1, review_id="rev")
    assert first == draw_review("run-1", "", rows, 20, seed=1, review_id="rev")
    assert first.baseline_role == "base" and len(first.items) == 20
    assert first.items != draw_review("run-1", "", rows, 20, seed=2, review_id="rev").items
    assert len(draw_review("run-1", "base", rows, 0, seed=1, review_id="rev").items) == 100


@pytest.mark.parametrize(("baseline", "sample_size", "seed", "error", "field"), [
    ("candidate", 10, 0, InvalidArgument, "baseline_role"),
    ("nobody", 10, 0, FailedPrecondition, "baseline_role"),
    ("base", -1, 0, InvalidArgument, "sample_size"),
    ("base", 10_001, 0, InvalidArgument, "sample_size"),
    ("base", 10, -1, InvalidArgument, "seed"),
])
def test_a_draw_that_cannot_be_made_is_refused(baseline: str, sample_size: int, seed: int, error: type,
                                               field: str) -> None:
    with pytest.raises(error) as caught:
        draw_review("run-1", baseline, _rows(5), sample_size, seed, "rev")
    assert caught.value.field == field


def test_a_run_where_no_example_has_both_outputs_cannot_be_reviewed() -> None:
    with pytest.raises(FailedPrecondition, match="no example") as caught:
        draw_review("run-1", "base", _rows(3, failing={"candidate": {0, 1}, "base": {2}}), 10, 0, "rev")
    assert caught.value.field == "run_id"


def test_the_export_has_no_answer_key() -> None:
    review = draw_review("run-1", "champion", _rows(10), 10, seed=3, review_id="rev")
    lines = [json.loads(line) for line in export_lines(review).decode().splitlines()]
    assert len(lines) == 10
    assert all(set(line) == {"review_id", "item_id", "record_id", "input", "reference", "output_a", "output_b"}
               for line in lines)
    assert lines[0]["output_a"] == review.items[0].output_a and lines[0]["item_id"] == review.items[0].item_id


# -- verdicts ---------------------------------------------------------------------------------------------

REVIEW = Review("rev", "run-1", "champion", 0, tuple(
    ReviewItem(f"item-{i}", f"r{i}", "q", "ref", "x", "y", "a" if i % 2 == 0 else "b") for i in range(6)))
GOOD = {"item_id": "item-0", "choice": "a", "rater": "ann"}


@pytest.mark.parametrize(("bad", "field"), [
    ({"item_id": "item-99"}, "item_id"),
    ({"item_id": None}, "item_id"),
    ({"item_id": ["item-0"]}, "item_id"),
    ({"item_id": "item-0\x00"}, "item_id"),
    ({"choice": "A"}, "choice"),
    ({"choice": "left"}, "choice"),
    ({"choice": 1}, "choice"),
    ({"rater": ""}, "rater"),
    ({"rater": "   "}, "rater"),
    ({"rater": "x" * 201}, "rater"),
    ({"rater": "ann\x00"}, "rater"),
    ({"rater": "ann\nbob"}, "rater"),
    ({"rater": None}, "rater"),
])
def test_hostile_verdicts_are_refused_naming_the_field(bad: dict, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_verdicts(REVIEW, [GOOD, {**GOOD, **bad}])
    assert caught.value.field == f"verdicts[1].{field}"
    assert len(caught.value.message) < 200


def test_verdict_batches_are_bounded_and_not_empty() -> None:
    with pytest.raises(InvalidArgument, match="at most 10,000") as caught:
        check_verdicts(REVIEW, [GOOD] * (MAX_VERDICTS + 1))
    assert caught.value.field == "verdicts"
    with pytest.raises(InvalidArgument, match="no verdicts"):
        check_verdicts(REVIEW, [])
    assert len(check_verdicts(REVIEW, [GOOD] * MAX_VERDICTS)) == MAX_VERDICTS


def test_verdicts_are_read_from_mappings_or_messages() -> None:
    message = pb.ReviewVerdict(item_id="item-1", choice="tie", rater="Zoë Ω")
    assert check_verdicts(REVIEW, [GOOD, message]) == [Verdict("item-0", "a", "ann"), Verdict("item-1", "tie", "Zoë Ω")]


FIELD_VALUES = st.none() | st.integers() | st.text(max_size=300) | st.sampled_from(["item-1", "a", "tie"])


@given(st.lists(st.dictionaries(st.sampled_from(["item_id", "choice", "rater"]), FIELD_VALUES), max_size=5))
def test_check_verdicts_raises_nothing_but_invalid_argument(verdicts: list[dict]) -> None:
    try:
        checked = check_verdicts(REVIEW, verdicts)
    except InvalidArgument as exc:
        assert exc.field is not None and exc.field.startswith("verdicts")
    else:
        assert all(v.choice in ("a", "b", "tie") and v.item_id.startswith("item-") for v in checked)


# -- the win rate ---------------------------------------------------------------------------------------------


def test_wins_losses_ties_and_the_rate_count_a_raters_last_verdict_and_average_raters() -> None:
    verdicts = [
        Verdict("item-0", "b", "ann"), Verdict("item-0", "a", "ann"),  # ann changes her mind: a win (a is candidate)
        Verdict("item-0", "b", "bob"),  # a loss: item-0 scores (1 + 0) / 2
        Verdict("item-1", "b", "ann"),  # a win (b is the candidate): item-1 scores 1
        Verdict("item-2", "tie", "ann"),  # item-2 scores 0.5
    ]
    wins, losses, ties, rate = score_review(REVIEW, verdicts, confidence=0.9, bootstrap_samples=500, seed=1)
    assert (wins, losses, ties) == (2, 1, 1)
    assert rate.name == "human_win_rate" and rate.count == 3 and rate.greater_is_better
    assert rate.value == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert rate.interval is not None and rate.interval.confidence == 0.9
    assert 0.5 <= rate.interval.low <= rate.value <= rate.interval.high <= 1.0
    assert score_review(REVIEW, verdicts, confidence=0.9, bootstrap_samples=500, seed=1)[3] == rate


def test_unanimous_and_missing_verdicts() -> None:
    _, _, _, rate = score_review(REVIEW, [Verdict("item-0", "a", "ann"), Verdict("item-1", "b", "ann")])
    assert rate.value == 1.0 and (rate.interval.low, rate.interval.high) == (1.0, 1.0)
    wins, losses, ties, rate = score_review(REVIEW, [])
    assert (wins, losses, ties, rate.count, rate.interval) == (0, 0, 0, 0, None) and math.isnan(rate.value)
    with pytest.raises(InvalidArgument):
        score_review(REVIEW, [Verdict("item-99", "a", "ann")])


def test_the_interval_covers_the_true_win_rate_at_about_its_stated_rate() -> None:
    items = 80
    review = Review("rev", "run", "champion", 0, tuple(ReviewItem(f"i{k}", f"r{k}", "", "", "", "", "a")
                                                        for k in range(items)))
    rng, covered, trials = np.random.default_rng(0), 0, 100
    for trial in range(trials):
        verdicts = [Verdict(f"i{k}", "a" if rng.random() < 0.7 else "b", "ann") for k in range(items)]
        _, _, _, rate = score_review(review, verdicts, confidence=0.9, bootstrap_samples=400, seed=trial)
        covered += rate.interval.holds(0.7)
    assert 0.8 <= covered / trials <= 0.97
