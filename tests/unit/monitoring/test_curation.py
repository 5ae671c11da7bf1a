"""Curating feedback into instruction/response records for the next training set."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from llmops_monitoring.curation import curate, record_hash
from llmops_monitoring.domain.records import Feedback, Inference
from llmops_monitoring.store import FeedbackRow

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _row(n: int, *, prompt: str = "", output: str = "", rating: str = "", score: float | None = None,
         correction: str = "") -> FeedbackRow:
    inference = Inference(inference_id=f"i{n}", model_version="models:/m/3", created_at=T0,
                          prompt=prompt or f"user: question {n}", output=output or f"answer {n}")
    return FeedbackRow(Feedback(feedback_id=f"f{n}", inference_id=f"i{n}", rating=rating, score=score,
                                correction=correction), inference)


def test_corrections_always_and_well_rated_outputs_become_records_with_lineage() -> None:
    rows = [_row(1, rating="negative", correction="the right answer"), _row(2, rating="positive"), _row(3, score=4),
            _row(4, score=5, rating="negative", correction="fixed"), _row(5, rating="positive", score=1)]
    curated = curate(rows, known_hashes=set())
    assert curated.records == [
        {"instruction": "user: question 1", "output": "the right answer", "feedback_id": "f1", "inference_id": "i1",
         "model_version": "models:/m/3"},
        {"instruction": "user: question 2", "output": "answer 2", "feedback_id": "f2", "inference_id": "i2",
         "model_version": "models:/m/3"},
        {"instruction": "user: question 3", "output": "answer 3", "feedback_id": "f3", "inference_id": "i3",
         "model_version": "models:/m/3"},
        {"instruction": "user: question 4", "output": "fixed", "feedback_id": "f4", "inference_id": "i4",
         "model_version": "models:/m/3"},
        {"instruction": "user: question 5", "output": "answer 5", "feedback_id": "f5", "inference_id": "i5",
         "model_version": "models:/m/3"},
    ]
    assert curated.skipped == {}
    assert curated.hashes == [record_hash(r["instruction"], r["output"]) for r in curated.records]


def test_negative_low_unrated_and_unlogged_rows_are_skipped_by_reason() -> None:
    rows = [_row(1, rating="negative"), _row(2, score=2), _row(3, score=3.5), _row(4),
            _row(5, rating="positive", prompt="  "), _row(6, rating="positive", output=" \n")]
    curated = curate(rows, known_hashes=set())
    assert curated.records == []
    assert curated.skipped == {"negative": 1, "low_score": 2, "unrated": 1, "no_prompt": 1, "no_output": 1}


def test_duplicates_within_the_batch_and_of_the_training_data_are_skipped() -> None:
    known = {record_hash("user: question 1", "answer 1")}
    rows = [_row(1, rating="positive"), _row(2, rating="positive"),
            _row(3, prompt="USER:  Question 2", output="Answer\t2 ", rating="positive"),
            _row(4, prompt="user: question 2", correction="answer 2")]
    curated = curate(rows, known_hashes=known)
    assert [r["feedback_id"] for r in curated.records] == ["f2"]
    assert curated.skipped == {"in_training_data": 1, "duplicate": 2}
    assert known == {record_hash("user: question 1", "answer 1")}  # the caller's set is left alone


def test_record_hash_ignores_case_spacing_and_compatibility_forms_but_not_content() -> None:
    assert record_hash("What is  2+2?", "Four") == record_hash(" what is 2+2? ", "FOUR\n")
    assert record_hash("ｆｕｌｌ width", "x") == record_hash("full width", "x")  # NFKC
    assert record_hash("a", "b c") != record_hash("a b", "c")  # the boundary is kept


_ratings = st.sampled_from(["", "positive", "negative"])
_scores = st.one_of(st.none(), st.integers(1, 5).map(float))


@given(st.lists(st.tuples(st.sampled_from(["p1", "p2", "p3"]), st.sampled_from(["o1", "O1 ", "o2"]), _ratings,
                          _scores, st.sampled_from(["", "c1", "C1"])), max_size=30))
def test_every_row_is_kept_or_skipped_once_and_kept_records_are_unique(rows: list) -> None:
    feedback = [_row(n, prompt=p, output=o, rating=r, score=s, correction=c) for n, (p, o, r, s, c) in enumerate(rows)]
    curated = curate(feedback, known_hashes={record_hash("p3", "o2")})
    assert len(curated.records) + sum(curated.skipped.values()) == len(rows)
    assert len(set(curated.hashes)) == len(curated.hashes)
    assert record_hash("p3", "o2") not in curated.hashes
    for record in curated.records:
        row = feedback[int(record["feedback_id"][1:])]
        assert record["output"] == (row.feedback.correction or row.inference.output)
