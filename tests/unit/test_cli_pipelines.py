"""The pipelines command group's pure parts and the demo's: following a run, what a step shows, the demo's
pipeline definition (valid for the service), reading the CLI's JSON, the expected answers."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from llmops.pipelines.v1 import pipelines_pb2 as pb
from llmops_cli import demo_data, pipelines
from llmops_cli.demo_flow import expected_answer
from llmops_cli.demo_setup import Tuning, last_json, pipeline_definition
from llmops_cli.pipelines import current_step, follow, settled, step_detail
from llmops_pipelines.domain.policy import parse_definition


def _run(status: int, *steps: tuple[str, str]) -> pb.PipelineRun:
    return pb.PipelineRun(run_id="r1", status=status, steps=[pb.Step(name=n, status=s) for n, s in steps])


def test_following_a_run_stops_when_it_ends_or_waits_for_people():
    sequence = [_run(pb.RUN_STATUS_RUNNING, ("train", "succeeded"), ("evaluate", "requested")),
                _run(pb.RUN_STATUS_WAITING_APPROVAL, ("train", "succeeded"), ("evaluate", "succeeded"),
                     ("promote-production", "waiting_approval"))]
    fetched: list[str] = []

    def fetch(run_id: str) -> pb.PipelineRun:
        fetched.append(run_id)
        return sequence.pop(0)

    first = _run(pb.RUN_STATUS_RUNNING, ("train", "requested"))
    done = follow(first, fetch, Console(file=io.StringIO()), interval=0, sleep=lambda _: None)
    assert done.status == pb.RUN_STATUS_WAITING_APPROVAL and fetched == ["r1", "r1"]
    assert settled(_run(pb.RUN_STATUS_FAILED)) and not settled(_run(pb.RUN_STATUS_RUNNING))
    assert current_step(done).name == "promote-production"
    assert current_step(_run(pb.RUN_STATUS_SUCCEEDED, ("train", "succeeded"))) is None


def test_a_step_shows_its_version_its_headline_figures_and_its_error():
    step = pb.Step(name="train", outputs={"model_version": "models:/m/2", "adapter_uri": "s3://x"},
                   metrics={"loss": 1.23456, "bleu_ci_low": 3.0, "bleu": 31.5}, error="boom")
    assert step_detail(step) == "models:/m/2; bleu=31.5; loss=1.235; boom"


def test_a_reproduction_shows_each_metric_with_its_delta_or_overflow(monkeypatch):
    screen = Console(file=io.StringIO(), width=200)
    monkeypatch.setattr(pipelines, "console", screen)
    run = _run(pb.RUN_STATUS_SUCCEEDED, ("train", "succeeded"))
    run.reproduces = "r0"
    run.comparison.extend([
        pb.MetricComparison(metric="bleu", original=30.0, reproduced=29.5, delta=-0.5, within_interval=True),
        pb.MetricComparison(metric="loss", original=1e308, reproduced=-1e308, within_interval=False)])
    pipelines.show_run(run)
    rows = {line.split()[1]: line.split()[2:] for line in screen.file.getvalue().splitlines()
            if line.split()[1:2] in (["bleu"], ["loss"])}
    assert "-0.5" in rows["bleu"] and "yes" in rows["bleu"]
    assert "overflow" in rows["loss"] and "no" in rows["loss"]


def test_the_demo_pipeline_is_a_valid_definition():
    definition = parse_definition(pipeline_definition(Tuning(), "demo-qa/1"))
    assert definition.train.spec["distributed"] == {"num_workers": 2, "deepspeed_stage": 2}
    assert [p.alias for p in definition.promote] == ["staging", "production"]
    assert definition.promote[1].approvals == 1 and definition.trigger.datasets == ["demo-qa", "demo-qa-feedback"]


@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": 1}', {"a": 1}),
    ('{"a": 1}\n{\n  "b": {"c": 2}\n}\n', {"b": {"c": 2}}),
    ('progress {not json}\n{"done": true}', {"done": True}),
    ("no json here", None),
])
def test_the_last_json_document_of_a_command(text, expected):
    assert last_json(text) == expected


def test_the_expected_answer_follows_the_task():
    question = demo_data.task_questions(1, seed=5)[0]
    stem = question.split("land")[0].split()[-1]
    assert expected_answer(question) == demo_data.answer(stem)
    assert expected_answer("What is the weather?") == ""
