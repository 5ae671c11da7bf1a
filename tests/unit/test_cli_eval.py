"""``llmops eval`` without a service: option and verdict-file parsing, the metric and comparison tables'
formatting, polling, the commands' output contract over a faked client (``run --wait`` ends with the
table, a failed run exits 1, ``--json`` ends with one object, review export/import round-trip), and the
evaluation service's place among the services ``llmops up`` runs."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmops.common.v1 import common_pb2
from llmops.evaluation.v1 import evaluation_pb2 as pb
from llmops_cli import evaluation, main, output
from llmops_cli.evaluation_spec import MAX_VERDICT_BYTES, build_eval_spec, parse_baselines, parse_verdicts
from llmops_cli.services import SERVICES
from llmops_common.errors import InvalidArgument

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {"model": "models:/qa/3", "dataset": "qa@abc"}


def field_of(call) -> str:
    with pytest.raises(InvalidArgument) as info:
        call()
    return info.value.field


def metric(name: str, role: str, value: float, low: float = math.nan, high: float = math.nan,
           confidence: float = 0.95, signature: str = "") -> pb.MetricResult:
    return pb.MetricResult(name=name, model_role=role, value=value, ci_low=low, ci_high=high,
                           confidence=confidence, signature=signature, count=100)


# -- the run spec -----------------------------------------------------------------------------------------------


def test_build_eval_spec_sets_given_options_and_leaves_the_rest_to_the_service():
    spec = build_eval_spec(**REQUIRED, split="validation", prompt="qa@production",
                           baselines=["champion=models:/qa@production", " base = models:/tiny/1 "],
                           metrics=["bleu,chrf", " rougeL "], max_samples=50, judge_model="judge@production",
                           judge_prompt="rubric/2", confidence=0.9, bootstrap_samples=2000)
    assert (spec.model_version, spec.dataset_version, spec.split, spec.prompt_version) == (
        "models:/qa/3", "qa@abc", "validation", "qa@production")
    assert [(b.role, b.model_version) for b in spec.baselines] == [("champion", "models:/qa@production"),
                                                                   ("base", "models:/tiny/1")]
    assert [m.name for m in spec.metrics] == ["bleu", "chrf", "rougeL"]
    assert (spec.max_samples, spec.confidence, spec.bootstrap_samples) == (50, 0.9, 2000)
    assert (spec.judge.model, spec.judge.prompt_version) == ("judge@production", "rubric/2")
    plain = build_eval_spec(**REQUIRED)
    assert plain.split == "test" and not plain.HasField("judge") and not plain.metrics and not plain.baselines
    assert (plain.confidence, plain.bootstrap_samples, plain.max_samples) == (0.0, 0, 0)  # the service's defaults


def test_bad_run_options_name_the_option():
    assert field_of(lambda: build_eval_spec(**REQUIRED, judge_model="judge@production")) == "--judge-prompt"
    assert field_of(lambda: build_eval_spec(**REQUIRED, judge_prompt="rubric/1")) == "--judge-model"
    assert field_of(lambda: build_eval_spec(**REQUIRED, max_samples=-1)) == "--max-samples"
    assert field_of(lambda: build_eval_spec(**REQUIRED, confidence=math.nan)) == "--confidence"
    assert field_of(lambda: build_eval_spec(**REQUIRED, confidence=0.5)) == "--confidence"
    assert field_of(lambda: build_eval_spec(**REQUIRED, bootstrap_samples=0)) == "--bootstrap-samples"
    for bad in (["champion"], ["=models:/qa/1"], ["champion="], ["a=models:/x/1", "a=models:/y/1"]):
        assert field_of(lambda bad=bad: parse_baselines(bad)) == "--baseline"


# -- verdict files -----------------------------------------------------------------------------------------------


def test_verdicts_take_the_three_fields_and_ignore_the_rest():
    data = (b'{"item_id": "i1", "input": "q", "output_a": "x", "output_b": "y", "choice": "A", "rater": "ann"}\n'
            b"\n"
            b'{"item_id": "i2", "choice": "tie", "rater": "bob"}\r\n')
    verdicts = parse_verdicts(data)
    assert [(v.item_id, v.choice, v.rater) for v in verdicts] == [("i1", "a", "ann"), ("i2", "tie", "bob")]


@pytest.mark.parametrize(("data", "field"), [
    (b'{"item_id": "i1", "choice": "a", "rater": "ann"}\n[1]\n', "verdicts line 2"),
    (b"not json\n", "verdicts line 1"),
    (b'{"item_id": "i1", "choice": NaN, "rater": "ann"}\n', "verdicts line 1"),
    (b'{"item_id": "i1", "choice": "a"}\n', "verdicts line 1.rater"),
    (b'{"item_id": 7, "choice": "a", "rater": "ann"}\n', "verdicts line 1.item_id"),
    (b'{"item_id": "i1", "choice": "", "rater": "ann"}\n', "verdicts line 1.choice"),
    (b"\n  \n", "verdicts"),
    (b"\xff\xfe", "verdicts"),
    (b" " * (MAX_VERDICT_BYTES + 1), "verdicts"),
])
def test_bad_verdict_files_name_the_line_and_field(data, field):
    assert field_of(lambda: parse_verdicts(data)) == field


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_verdict_file_parses_or_is_invalid_argument(data):
    try:
        verdicts = parse_verdicts(data)
    except InvalidArgument as exc:
        assert exc.field.startswith("verdicts")
    else:
        assert verdicts and all(v.item_id and v.choice and v.rater for v in verdicts)


def test_exported_lines_with_choices_added_import_as_verdicts():
    review = pb.Review(review_id="rv1", items=[
        pb.ReviewItem(item_id="i1", input="Q ü", reference="R", output_a="A\nB", output_b="[bold]x"),
        pb.ReviewItem(item_id="i2", input="Q2", output_a="a", output_b="b")])
    lines = evaluation.review_lines(review).decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows[0] == {"item_id": "i1", "input": "Q ü", "reference": "R", "output_a": "A\nB",
                       "output_b": "[bold]x"}
    rated = "\n".join(json.dumps({**row, "choice": c, "rater": "ann"}) for row, c in zip(rows, "ab", strict=True))
    assert [(v.item_id, v.choice) for v in parse_verdicts(rated.encode())] == [("i1", "a"), ("i2", "b")]


# -- formatting -------------------------------------------------------------------------------------------------


def test_numbers_keep_four_significant_digits_and_signs():
    assert [evaluation.number(x) for x in (34.1234, 0.341234, 1234.4, 12345.6, 0.0, math.nan)] == [
        "34.12", "0.3412", "1234", "12,346", "0", "nan"]
    assert [evaluation.signed(x) for x in (1.5, -0.25, 0.0)] == ["+1.5", "-0.25", "+0"]


def test_metric_cells_show_the_interval_only_where_there_is_one():
    assert evaluation.metric_cell(metric("bleu", "candidate", 34.12, 31.0, 37.3)) == "34.12 [31, 37.3]"
    assert evaluation.metric_cell(metric("generation_failures", "candidate", 3.0)) == "3"  # NaN bounds
    assert evaluation.metric_cell(metric("tokens_per_second", "candidate", 50.0, 0.0, 0.0, confidence=0.0)) == "50"


def test_metric_table_has_a_row_per_metric_and_a_column_per_role_candidate_first():
    roles, rows = evaluation.metric_table([
        metric("bleu", "champion", 30.0, 28.0, 32.0), metric("bleu", "candidate", 34.0, 31.0, 37.0),
        metric("rougeL", "candidate", 0.5, 0.45, 0.55), metric("bleu", "base", 10.0, 9.0, 11.0),
        metric("judge_score", "candidate", 4.1, 3.9, 4.3)])
    assert roles == ["candidate", "champion", "base"]
    assert rows == [("bleu", ["34 [31, 37]", "30 [28, 32]", "10 [9, 11]"]),
                    ("rougeL", ["0.5 [0.45, 0.55]", "-", "-"]),
                    ("judge_score", ["4.1 [3.9, 4.3]", "-", "-"])]
    assert evaluation.metric_table([]) == ([], [])


def test_comparison_rows_show_delta_interval_p_and_verdict():
    bleu = pb.MetricComparisonResult(name="bleu", baseline_role="champion", delta=2.5, ci_low=0.4, ci_high=4.6,
                                     p_value=0.012, test="approximate_randomization", verdict="better")
    rouge = pb.MetricComparisonResult(name="rougeL", baseline_role="base", delta=-0.01, ci_low=-0.03, ci_high=0.01,
                                      p_value=0.41, test="paired_bootstrap", verdict="no change")
    assert evaluation.comparison_row(bleu) == ["bleu", "champion", "+2.5 [+0.4, +4.6]", "0.012 (AR)", "better"]
    assert evaluation.comparison_row(rouge) == ["rougeL", "base", "-0.01 [-0.03, +0.01]", "0.41 (bootstrap)",
                                                "no change"]


def test_compare_table_marks_differences_from_the_baseline_run():
    reply = pb.CompareRunsResponse(baseline_run_id="e1", comparisons=[
        pb.MetricComparison(metric_name="bleu", best_run_id="e2", values=[
            pb.RunMetricValue(run_id="e1", value=30.0),
            pb.RunMetricValue(run_id="e2", value=33.0, delta=3.0, relative_delta=0.1)]),
        pb.MetricComparison(metric_name="latency_ms", best_run_id="e1", values=[
            pb.RunMetricValue(run_id="e1", value=100.0),
            pb.RunMetricValue(run_id="e3", value=150.0, delta=50.0, relative_delta=0.5)])])
    runs, rows = evaluation.compare_table(reply)
    assert runs == ["e1", "e2", "e3"]
    assert rows == [["bleu", "30", "33 (+3, +10.0%)", "-", "e2"], ["latency_ms", "100", "-", "150 (+50, +50.0%)", "e1"]]


def test_progress_label_and_win_rate_text():
    running = pb.EvaluationRun(status=pb.EVALUATION_STATUS_RUNNING,
                               progress=pb.Progress(stage="generating", done=120, total=500))
    assert evaluation.progress_label(running) == "generating 120/500"
    assert evaluation.progress_label(pb.EvaluationRun(status=pb.EVALUATION_STATUS_COMPLETED)) == "completed"
    result = pb.ReviewResult(wins=31, losses=17, ties=2, win_rate=pb.MetricResult(
        name="human_win_rate", value=0.64, ci_low=0.51, ci_high=0.76, confidence=0.95))
    assert evaluation.win_rate_text(result) == ("human_win_rate 0.64 [0.51, 0.76] at 95%: 31 wins, 17 losses, "
                                                "2 ties")


def test_poll_run_fetches_until_the_run_ends():
    states = iter([pb.EvaluationRun(run_id="e1", status=pb.EVALUATION_STATUS_RUNNING,
                                    progress=pb.Progress(stage="scoring", done=1, total=2)),
                   pb.EvaluationRun(run_id="e1", status=pb.EVALUATION_STATUS_COMPLETED)])
    seen, sleeps = [], []
    ended = evaluation.poll_run(pb.EvaluationRun(run_id="e1", status=pb.EVALUATION_STATUS_PENDING),
                                lambda run_id: next(states), lambda run: seen.append(evaluation.progress_label(run)),
                                interval=0.5, sleep=sleeps.append)
    assert ended.status == pb.EVALUATION_STATUS_COMPLETED
    assert seen == ["pending", "scoring 1/2", "completed"] and sleeps == [0.5, 0.5]


# -- commands over a faked client ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setattr(output.console, "width", 250)


def fake_service(monkeypatch, answers: dict[str, Any]) -> list:
    """Replies by method (a callable gets the request; an iterator gives its next); returns the calls."""
    calls: list[tuple[str, Any]] = []

    def call(method: str, request: Any, timeout: float = 30.0) -> Any:
        calls.append((method, request))
        answer = answers[method]
        if callable(answer):
            return answer(request)
        return next(answer) if hasattr(answer, "__next__") else answer

    monkeypatch.setattr(evaluation.client, "call", call)
    return calls


def invoke(*args: str):
    return CliRunner().invoke(main.app, ["eval", *args], catch_exceptions=False)


SPEC = pb.EvaluationSpec(model_version="models:/qa/3", dataset_version="qa@abc", split="test",
                         baselines=[pb.Baseline(role="champion", model_version="models:/qa@production")])
DONE = pb.EvaluationRun(run_id="e1", status=pb.EVALUATION_STATUS_COMPLETED, spec=SPEC, metrics={"bleu": 34.0},
                        resolved_models={"candidate": "models:/qa/3", "champion": "models:/qa/2"},
                        report_uri="s3://artifacts/evaluation/e1/report.json",
                        html_report_uri="s3://artifacts/evaluation/e1/report.html")
REPORT = pb.EvaluationReport(
    run=DONE,
    metrics=[metric("bleu", "candidate", 34.0, 31.0, 37.0, signature="nrefs:1|case:mixed|tok:13a"),
             metric("bleu", "champion", 30.0, 27.0, 33.0, signature="nrefs:1|case:mixed|tok:13a"),
             metric("generation_failures", "candidate", 2.0)],
    comparisons=[pb.MetricComparisonResult(name="bleu", baseline_role="champion", delta=4.0, ci_low=1.0,
                                           ci_high=7.0, p_value=0.004, test="approximate_randomization",
                                           verdict="better")],
    samples=[pb.SampleResult(record_id="r1", model_role="candidate", prediction="out", reference="ref",
                             error="prompt longer than the context")])


def test_run_wait_polls_then_prints_the_metric_table(monkeypatch):
    progress = iter([pb.EvaluationRun(run_id="e1", status=pb.EVALUATION_STATUS_RUNNING,
                                      progress=pb.Progress(stage="generating", done=5, total=10)), DONE])
    calls = fake_service(monkeypatch, {"RunEvaluation": pb.EvaluationRun(run_id="e1"),
                                       "GetEvaluationRun": progress, "GetReport": REPORT})
    result = invoke("run", "models:/qa/3", "--dataset", "qa@abc", "--baseline", "champion=models:/qa@production",
                    "--metric", "bleu", "--wait", "--poll", "0.001")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "started evaluation e1" in out and "34 [31, 37]" in out and "30 [27, 33]" in out
    assert "+4 [+1, +7]" in out and "better" in out and "0.004 (AR)" in out
    assert "bleu: nrefs:1|case:mixed|tok:13a" in out and "report: s3://artifacts/evaluation/e1/report.json" in out
    submitted = calls[0][1]
    assert submitted.request_id and submitted.spec.baselines[0].role == "champion"
    assert [m for m, _ in calls] == ["RunEvaluation", "GetEvaluationRun", "GetEvaluationRun", "GetReport"]


def test_run_wait_json_ends_with_one_object_and_a_failure_exits_1(monkeypatch):
    failed = pb.EvaluationRun(run_id="e2", status=pb.EVALUATION_STATUS_FAILED, spec=SPEC,
                              error=common_pb2.ErrorDetail(message="the split 'test' of qa@abc is empty"))
    fake_service(monkeypatch, {"RunEvaluation": pb.EvaluationRun(run_id="e2"), "GetEvaluationRun": failed})
    result = invoke("run", "models:/qa/3", "--dataset", "qa@abc", "--wait", "--poll", "0.001", "--json")
    assert result.exit_code == 1
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert (last["run_id"], last["status"], last["error"]) == ("e2", "failed", "the split 'test' of qa@abc is empty")
    text = invoke("run", "models:/qa/3", "--dataset", "qa@abc", "--wait", "--poll", "0.001")
    assert text.exit_code == 1 and "failed: the split 'test' of qa@abc is empty" in text.stdout


def test_show_prints_tables_samples_and_json(monkeypatch):
    calls = fake_service(monkeypatch, {"GetReport": REPORT})
    result = invoke("show", "e1", "--samples", "5")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "metrics [95% interval]" in out and "candidate model" in out and "models:/qa/2" in out
    assert "generation_failures" in out and "prompt longer than the context" in out
    assert "html report: s3://artifacts/evaluation/e1/report.html" in out
    assert calls[0][1].sample_limit == 5
    data = json.loads(invoke("show", "e1", "--json").stdout)
    assert data["comparisons"][0]["verdict"] == "better" and data["run"]["run_id"] == "e1"


def test_list_filters_and_refuses_an_unknown_status(monkeypatch, capsys):
    calls = fake_service(monkeypatch, {"ListEvaluationRuns": pb.ListEvaluationRunsResponse(runs=[DONE])})
    result = invoke("list", "--model", "models:/qa/3", "--status", "Completed")
    assert result.exit_code == 0 and "e1" in result.stdout and "champion" in result.stdout
    request = calls[0][1]
    assert (request.model_version, request.status) == ("models:/qa/3", pb.EVALUATION_STATUS_COMPLETED)
    assert field_of(lambda: invoke("list", "--status", "done")) == "--status"


def test_compare_sends_the_runs_and_prints_the_best(monkeypatch):
    reply = pb.CompareRunsResponse(baseline_run_id="e1", comparisons=[pb.MetricComparison(
        metric_name="bleu", best_run_id="e2", values=[pb.RunMetricValue(run_id="e1", value=30.0),
                                                      pb.RunMetricValue(run_id="e2", value=33.0, delta=3.0,
                                                                        relative_delta=0.1)])])
    calls = fake_service(monkeypatch, {"CompareRuns": reply})
    result = invoke("compare", "e1", "e2", "--metric", "bleu")
    assert result.exit_code == 0 and "e1 (baseline)" in result.stdout and "33 (+3, +10.0%)" in result.stdout
    assert list(calls[0][1].run_ids) == ["e1", "e2"] and list(calls[0][1].metric_names) == ["bleu"]


def test_review_export_then_import_prints_the_win_rate(monkeypatch, tmp_path):
    review = pb.Review(review_id="rv1", run_id="e1", baseline_role="champion", uri="s3://a/rv1.jsonl",
                       items=[pb.ReviewItem(item_id="i1", input="q", output_a="x", output_b="y")])
    result_reply = pb.ReviewResult(review_id="rv1", wins=1, win_rate=pb.MetricResult(
        name="human_win_rate", value=1.0, ci_low=1.0, ci_high=1.0, confidence=0.95))
    calls = fake_service(monkeypatch, {"ExportReview": review, "ImportReviewVerdicts": result_reply})
    path = tmp_path / "review.jsonl"
    exported = invoke("review-export", "e1", "--size", "1", "--seed", "7", "-o", str(path))
    assert exported.exit_code == 0 and "review rv1: 1 items" in exported.stdout
    assert (calls[0][1].sample_size, calls[0][1].seed) == (1, 7)
    row = json.loads(path.read_text())
    path.write_text(json.dumps({**row, "choice": "b", "rater": "ann"}) + "\n")
    imported = invoke("review-import", "rv1", str(path))
    assert imported.exit_code == 0 and "human_win_rate 1 [1, 1] at 95%: 1 wins" in imported.stdout
    sent = calls[1][1]
    assert sent.review_id == "rv1" and [(v.item_id, v.choice, v.rater) for v in sent.verdicts] == [("i1", "b", "ann")]
    stdout_export = invoke("review-export", "e1")
    assert json.loads(stdout_export.stdout.splitlines()[0])["item_id"] == "i1"
    as_json = invoke("review-export", "e1", "--json", "-o", str(tmp_path / "again.jsonl"))
    assert json.loads(as_json.stdout)["review_id"] == "rv1"
    assert json.loads((tmp_path / "again.jsonl").read_text())["item_id"] == "i1"


def test_the_commands_print_data_literally(monkeypatch):
    hostile = "[bold]x[/bold] :x:"
    report = pb.EvaluationReport(run=pb.EvaluationRun(run_id="e1", status=pb.EVALUATION_STATUS_FAILED,
                                                      error=common_pb2.ErrorDetail(message=hostile)),
                                 samples=[pb.SampleResult(record_id="r1", prediction=hostile)])
    fake_service(monkeypatch, {"GetReport": report})
    out = invoke("show", "e1", "--samples", "1").stdout
    assert out.count(hostile) == 2 and "❌" not in out


# -- the service among those `llmops up` runs ----------------------------------------------------------------------


def test_evaluation_is_a_service_on_its_ports_with_its_schema_and_entry_point(monkeypatch):
    monkeypatch.delenv("LLMOPS_EVALUATION_GRPC_PORT", raising=False)
    spec = SERVICES["evaluation"]
    assert (spec.default_grpc_port(), spec.settings_class().model_fields["metrics_port"].default) == (50054, 9104)
    assert spec.bootstrap == "llmops_evaluation.schema" and spec.http is False
    assert any(m.id.startswith("llmops_evaluation/") for m in spec.migrations())
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["llmops-evaluation"] == f"{spec.module}:main"
    monkeypatch.setattr(evaluation.client, "target", None)
    assert evaluation.client.address() == "127.0.0.1:50054"


def test_models_by_role_put_the_candidate_first_and_prefer_resolved_versions():
    run = pb.EvaluationRun(spec=pb.EvaluationSpec(model_version="models:/qa@staging", baselines=[
        pb.Baseline(role="champion", model_version="models:/qa@production"),
        pb.Baseline(role="base", model_version="models:/tiny/1")]),
        resolved_models={"base": "models:/tiny/1", "champion": "models:/qa/2", "candidate": "models:/qa/3"})
    assert list(evaluation.models_by_role(run).items()) == [
        ("candidate", "models:/qa/3"), ("champion", "models:/qa/2"), ("base", "models:/tiny/1")]
    run.ClearField("resolved_models")
    assert evaluation.models_by_role(run)["champion"] == "models:/qa@production"
