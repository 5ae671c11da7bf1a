"""The JSON report and the per-example outputs file: plain JSON (no NaN), failures listed with their
reasons, worst losses against the champion, and robustness to no baselines."""

from __future__ import annotations

import json
import math

import pytest
from evaluation_outcomes import BLEU_SIGNATURE, make_outcome, make_run
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_common.errors import InvalidArgument
from llmops_evaluation.report.build import build_report, outputs_jsonl, read_outputs


def _three_roles():
    return make_outcome(
        {"candidate": list("abcde"), "base": list("axyzw"), "champion": list("abqrs")},
        {"candidate": [0.5, 0.2, 0.9, 0.1, math.nan], "base": [0.0, 0.0, 0.0, 0.0, 0.0],
         "champion": [0.5, 0.6, 0.3, 0.8, 0.7]},
        errors={"champion": {4: "prompt longer than the context"}, "candidate": {4: "timeout"}})


def test_the_report_is_plain_json_with_the_run_metrics_signatures_and_comparisons() -> None:
    report = build_report(make_run(("base", "champion")), _three_roles())
    text = json.dumps(report, allow_nan=False)  # NaN anywhere would raise
    assert json.loads(text) == report
    assert report["run"]["run_id"] == "run-1" and report["run"]["created_at"] == "2026-01-02T03:04:05+00:00"
    assert report["run"]["spec"]["baselines"][1] == {"role": "champion", "model_version": "models:/m/1"}
    assert report["generation_params"] == {"max_tokens": 16, "temperature": 0.0, "stop": ["\n\n"]}
    assert report["signatures"] == {"bleu": BLEU_SIGNATURE}
    assert list(report["models"]) == ["candidate", "base", "champion"]
    candidate = report["models"]["candidate"]
    assert candidate["metrics"]["bleu"] == {"value": 30.0, "interval": {"low": 25.0, "high": 35.0, "confidence": 0.95},
                                            "count": 5, "greater_is_better": True, "signature": BLEU_SIGNATURE}
    judge = candidate["metrics"]["judge_score"]
    assert judge["value"] is None and judge["interval"] is None
    assert candidate["generation_failures"] == 1 and candidate["judge_failures"] == 1
    assert [(c["metric"], c["baseline_role"], c["verdict"]) for c in report["comparisons"]] == [
        ("rougeL", "base", "no change"), ("rougeL", "champion", "no change")]


def test_failures_are_listed_with_their_reasons() -> None:
    failures = build_report(make_run(("base", "champion")), _three_roles())["failures"]
    assert failures["generation"] == [
        {"role": "candidate", "record_id": "r4", "error": "timeout"},
        {"role": "champion", "record_id": "r4", "error": "prompt longer than the context"}]
    assert failures["judge"] == [{"role": "candidate", "record_id": "r0", "reason": "no 'Score: N' line"}]


def test_worst_losses_are_against_the_champion_lowest_first_with_both_outputs_and_the_reference() -> None:
    worst = build_report(make_run(("base", "champion")), _three_roles(), worst_count=5)["worst_losses"]
    assert worst["baseline_role"] == "champion" and worst["metric"] == "rougeL"
    assert (worst["compared"], worst["wins"], worst["losses"], worst["ties"]) == (4, 1, 2, 1)
    assert [e["record_id"] for e in worst["examples"]] == ["r3", "r1"]  # -0.7, then -0.4; r4 has no value
    first = worst["examples"][0]
    assert first["delta"] == pytest.approx(-0.7)
    assert first["reference"] == "answer 3" and first["prompt"] == "question 3"
    assert first["candidate"] == {"role": "candidate", "output": "d", "error": "", "score": 0.1}
    assert first["baseline"] == {"role": "champion", "output": "r", "error": "", "score": 0.8}
    assert sum(worst["differences"]["counts"]) == 4 and len(worst["differences"]["edges"]) == 31


def test_worst_losses_take_the_first_baseline_without_a_champion_and_respect_the_count() -> None:
    outcome = make_outcome({"candidate": ["a", "b"], "base": ["c", "d"]},
                           {"candidate": [0.1, 0.2], "base": [0.9, 0.8]})
    worst = build_report(make_run(("base",)), outcome, worst_count=1)["worst_losses"]
    assert worst["baseline_role"] == "base" and [e["record_id"] for e in worst["examples"]] == ["r0"]


def test_a_lower_is_better_metric_loses_where_the_candidate_is_higher() -> None:
    outcome = make_outcome({"candidate": ["a", "b"], "champion": ["c", "d"]},
                           {"candidate": [0.1, 0.2], "champion": [0.9, 0.1]})
    worst = build_report(make_run(), outcome, worst_metric="generation_failures")["worst_losses"]
    assert worst["greater_is_better"] is False and worst["compared"] == 0  # no per-example values: no losses
    for row in outcome.sample_scores["candidate"]:
        row["latency_ms"] = 100.0
    for row, value in zip(outcome.sample_scores["champion"], (50.0, 200.0), strict=True):
        row["latency_ms"] = value
    outcome.results["candidate"].metrics["latency_ms"] = outcome.results["candidate"].metrics["generation_failures"]
    worst = build_report(make_run(), outcome, worst_metric="latency_ms")["worst_losses"]
    assert [e["record_id"] for e in worst["examples"]] == ["r0"] and worst["wins"] == 1


def test_without_baselines_there_are_no_comparisons_and_no_worst_losses() -> None:
    outcome = make_outcome({"candidate": ["a", "b"]}, {"candidate": [0.1, math.nan]})
    report = build_report(make_run(()), outcome, sample_limit=1)
    json.dumps(report, allow_nan=False)
    assert report["comparisons"] == [] and report["worst_losses"] is None
    assert report["samples"] == [{"record_id": "r0", "prompt": "question 0", "reference": "answer 0",
                                  "outputs": {"candidate": {"output": "a", "error": "",
                                                            "scores": {"rougeL": 0.1, "judge_score": None}}}}]


def test_outputs_round_trip_with_nan_scores_as_null() -> None:
    outcome = _three_roles()
    data = outputs_jsonl(outcome)
    assert data.count(b"\n") == 5 and b"NaN" not in data
    rows = read_outputs(data)
    assert [r["record_id"] for r in rows] == ["r0", "r1", "r2", "r3", "r4"]
    assert rows[4]["outputs"]["candidate"] == {"output": "", "error": "timeout",
                                               "scores": {"rougeL": pytest.approx(math.nan, nan_ok=True),
                                                          "judge_score": pytest.approx(math.nan, nan_ok=True)}}
    assert rows[1]["outputs"]["champion"]["output"] == "b" and rows[1]["reference"] == "answer 1"


def test_line_separators_inside_outputs_do_not_split_rows() -> None:
    texts = ["one\u2028two", "three\x85four\rfive\nsix", "\x0c\x1c\u2029"]
    outcome = make_outcome({"candidate": texts}, {"candidate": [0.0] * 3})
    rows = read_outputs(outputs_jsonl(outcome))
    assert [r["outputs"]["candidate"]["output"] for r in rows] == texts


@settings(max_examples=50)
@given(st.lists(st.text(), min_size=1, max_size=4))
def test_any_text_survives_the_outputs_file(texts: list[str]) -> None:
    outcome = make_outcome({"candidate": texts}, {"candidate": [0.0] * len(texts)}, prompts=texts, references=texts)
    rows = read_outputs(outputs_jsonl(outcome))
    assert [(r["prompt"], r["reference"], r["outputs"]["candidate"]["output"]) for r in rows] == [
        (t, t, t) for t in texts]


@pytest.mark.parametrize(("data", "message"), [
    (b'{"record_id": "r0", "outputs": {}}\nnot json\n', "line 2 is not JSON"),
    (b'[1, 2]\n', "line 1 is not an example row"),
    (b'{"record_id": 5, "outputs": {}}\n', "line 1 is not an example row"),
    (b'{"record_id": "r0", "outputs": {"candidate": "x"}}\n', "line 1 is not an example row"),
])
def test_a_malformed_outputs_file_is_an_error_naming_the_line(data: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as caught:
        read_outputs(data)
    assert caught.value.field == "outputs"
