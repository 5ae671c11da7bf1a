"""``llmops train`` without a service: option parsing into the run and sweep specs, the loss curves
(building, comparing, drawing), the result and cost-table rows, and the commands' output contract
(``--json`` ends stdout with one JSON object; a failed run or a mismatch exits 1) over a faked client."""

from __future__ import annotations

import json
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmops.common.v1 import common_pb2
from llmops.training.v1 import training_pb2 as pb
from llmops.training.v1 import training_pb2_grpc
from llmops_cli import main, output, training
from llmops_cli.curves import compare, curves_from_updates, save_plot, text_plot
from llmops_cli.training_spec import build_spec, build_sweep, parse_param, parse_params
from llmops_common.errors import InvalidArgument

REQUIRED = {"base": "models:/tiny/1", "dataset": "qa@abc", "prompt": "qa@latest"}


def update(step: int, status: int = pb.RUN_STATUS_RUNNING, total: int = 0, **metrics: float):
    return pb.StreamProgressResponse(run_id="r1", status=status,
                                     progress=pb.Progress(step=step, total_steps=total, metrics=metrics))


def field_of(call) -> str:
    with pytest.raises(InvalidArgument) as info:
        call()
    return info.value.field


# -- run spec ---------------------------------------------------------------------------------------------


def test_build_spec_sets_given_options_and_leaves_the_rest_to_the_service():
    spec = build_spec(**REQUIRED, rank=4, alpha=8.0, target_modules=["q_proj,v_proj", " o_proj "], zero_stage=2,
                      cpu_offload=True, learning_rate=1e-3, schedule="linear", max_steps=50, micro_batch=2,
                      packing=True, seed=7, workers=2, gpus_per_worker=1.0, output_model="tiny-qa")
    assert (spec.base_model, spec.dataset_version, spec.prompt_version) == ("models:/tiny/1", "qa@abc", "qa@latest")
    assert spec.method == pb.TRAINING_METHOD_LORA
    assert (spec.lora.r, spec.lora.alpha, list(spec.lora.target_modules)) == (4, 8.0, ["q_proj", "v_proj", "o_proj"])
    assert spec.lora.dropout == 0  # not given: the service's default
    h = spec.hyperparameters
    assert (h.learning_rate, h.lr_scheduler, h.max_steps, h.per_device_batch_size, h.packing, h.seed) == (
        1e-3, "linear", 50, 2, True, 7)
    assert h.num_epochs == 0 and h.gradient_accumulation_steps == 0
    d = spec.distributed
    assert (d.num_workers, d.deepspeed_stage, d.cpu_offload, d.gpus_per_worker, d.use_gpu) == (2, 2, True, 1.0, True)
    assert spec.output_model_name == "tiny-qa"
    assert not build_spec(**REQUIRED).distributed.use_gpu


def test_build_spec_full_method_and_its_bad_inputs_name_the_option():
    assert build_spec(**REQUIRED, method="full").method == pb.TRAINING_METHOD_FULL
    assert field_of(lambda: build_spec(**REQUIRED, method="qlora2")) == "--method"
    assert field_of(lambda: build_spec(**REQUIRED, method="full", rank=8)) == "--method"
    assert field_of(lambda: build_spec(**REQUIRED, schedule="warm")) == "--schedule"
    assert field_of(lambda: build_spec(**REQUIRED, learning_rate=math.nan)) == "--learning-rate"
    assert field_of(lambda: build_spec(**REQUIRED, dropout=math.inf)) == "--dropout"


# -- sweep parameters ----------------------------------------------------------------------------------------


def test_param_ranges_and_typed_choices():
    lr = parse_param("hyperparameters.learning_rate=loguniform:1e-4:1e-2")
    assert lr.path == "hyperparameters.learning_rate" and lr.WhichOneof("space") == "range"
    assert (lr.range.min, lr.range.max, lr.range.log_scale, lr.range.integer) == (1e-4, 1e-2, True, False)
    rank = parse_param("lora.r=choice:4,8")
    assert [v.number_value for v in rank.choices.values] == [4, 8]
    batch = parse_param("hyperparameters.per_device_batch_size=int:1:8")
    assert (batch.range.integer, batch.range.log_scale) == (True, False)
    assert parse_param("hyperparameters.lr_scheduler=choice:cosine,linear").choices.values[1].string_value == "linear"
    assert [v.bool_value for v in parse_param("hyperparameters.packing=choice:true,false").choices.values] == [
        True, False]


@pytest.mark.parametrize("text, fragment", [
    ("hyperparameters.learning_rate", "PATH=choice"),
    ("hyperparameters.learning_rate=", "PATH=choice"),
    ("hyperparameters.learnin_rate=uniform:0:1", "no field 'learnin_rate'"),
    ("lora=choice:1", "not a single value"),
    ("lora.target_modules=choice:q,v", "not a single value"),
    ("tags=choice:a", "not a single value"),
    ("tags.x=choice:a", "has no fields"),
    ("base_model.x=choice:a", "has no fields"),
    ("hyperparameters.learning_rate=loguniform:0:1", "log scale needs LOW > 0"),
    ("hyperparameters.learning_rate=uniform:1:1", "must be below HIGH"),
    ("hyperparameters.learning_rate=uniform:nan:1", "not a finite number"),
    ("hyperparameters.learning_rate=uniform:1", "needs LOW:HIGH"),
    ("hyperparameters.learning_rate=gauss:0:1", "is not choice"),
    ("lora.r=choice:", "at least one value"),
    ("lora.r=choice:4,4", "twice"),
    ("lora.r=choice:4.5", "integers"),
    ("lora.r=int:1.5:4", "integer bounds"),
    ("hyperparameters.packing=choice:yes", "true or false"),
    ("base_model=uniform:0:1", "not a number"),
    ("1bad.path=choice:1", "dotted field path"),
])
def test_malformed_params_are_one_error_naming_the_option(text, fragment):
    with pytest.raises(InvalidArgument) as info:
        parse_param(text)
    assert info.value.field == "--param"
    assert fragment in info.value.message and "\n" not in str(info.value)


def test_params_need_one_and_each_path_once():
    assert field_of(lambda: parse_params([])) == "--param"
    with pytest.raises(InvalidArgument, match="lora.r given more than once"):
        parse_params(["lora.r=choice:4", "lora.r=choice:8"])


@given(st.text(max_size=80))
def test_any_param_text_parses_or_is_invalid_argument(text):
    try:
        space = parse_param(text)
    except InvalidArgument as exc:
        assert exc.field == "--param"
        assert len(exc.message) < 400  # a long bad value is quoted by a prefix, not echoed whole
    else:
        assert space.path and space.WhichOneof("space") in ("choices", "range")


@given(st.floats(1e-12, 1e6), st.floats(1.0001, 1e6))
def test_log_ranges_keep_their_bounds(low, factor):
    space = parse_param(f"hyperparameters.learning_rate=loguniform:{low!r}:{low * factor!r}")
    assert (space.range.min, space.range.max) == (low, low * factor)


def test_build_sweep_options():
    spec = build_sweep(build_spec(**REQUIRED), ["lora.r=choice:4,8"], trials=2, concurrent=2, objective="val_loss",
                       goal="min", margin=0.05, early_stopping=False)
    assert (spec.max_trials, spec.max_concurrent_trials, spec.goal, spec.early_stopping, spec.quality_margin) == (
        2, 2, pb.GOAL_MINIMIZE, "", 0.05)
    assert spec.base.base_model == "models:/tiny/1" and [p.path for p in spec.parameters] == ["lora.r"]
    kwargs = {"trials": 2, "concurrent": 1, "objective": "val_loss", "goal": "min", "margin": 0.05,
              "early_stopping": True}
    assert build_sweep(spec.base, ["lora.r=choice:4"], **kwargs).early_stopping == "asha"
    for option, bad in (("--trials", 0), ("--concurrent", 0), ("--goal", "down"), ("--margin", -0.1),
                        ("--margin", math.nan)):
        wrong = {**kwargs, option.removeprefix("--"): bad}
        assert field_of(lambda wrong=wrong: build_sweep(spec.base, ["lora.r=choice:4"], **wrong)) == option


# -- curves --------------------------------------------------------------------------------------------------


def test_curves_take_loss_and_val_loss_by_step_and_drop_what_a_resume_replaced():
    updates = [update(0, loss=9.0), update(10, loss=3.0), update(20, loss=2.5, val_loss=2.7), update(30, loss=2.4),
               update(40, loss=math.nan), update(25, loss=2.45), update(35, loss=2.3, val_loss=2.5),
               update(36, learning_rate=1e-4)]
    curves = curves_from_updates(updates)
    # resumed at 25: the old step 30 is gone, step 20 (before the checkpoint) stays; NaN and step 0 are skipped
    assert curves["loss"] == {10: 3.0, 20: 2.5, 25: 2.45, 35: 2.3}
    assert curves["val_loss"] == {20: 2.7, 35: 2.5}


def test_compare_reports_the_largest_difference_at_common_steps():
    a = {"loss": {1: 2.0, 2: 1.5, 3: 1.0}, "val_loss": {3: 1.2}}
    b = {"loss": {1: 2.0, 2: 1.52, 4: 0.9}, "val_loss": {3: 1.19}}
    result = compare(a, b, tolerance=0.02)
    assert result.steps_compared == 3 and result.worst == ("loss", 2)
    assert result.max_abs_diff == pytest.approx(0.02) and result.matches is (result.max_abs_diff <= 0.02)
    assert not compare(a, b, tolerance=0.01).matches
    assert compare(a, a, tolerance=0.0).matches and compare(a, a, 0.0).max_abs_diff == 0
    none = compare(a, {"loss": {7: 1.0}, "val_loss": {}}, tolerance=1.0)
    assert (none.steps_compared, none.max_abs_diff, none.matches) == (0, None, False)


def test_text_plot_draws_both_series_in_plain_characters():
    curves = {"loss": {s: 3.0 - s / 50 for s in range(1, 101)}, "val_loss": {50: 2.2, 100: 1.3}}
    plot = text_plot(curves, width=40, height=10)
    lines = plot.splitlines()
    assert len(lines) == 10 + 3
    assert lines[0].strip().startswith("2.98") and lines[9].strip().startswith("1")
    assert "*" in plot and "o" in plot and "step 1" in lines[-2] and lines[-2].rstrip().endswith("100")
    assert "* loss" in lines[-1] and "o val_loss" in lines[-1]
    assert all(ord(ch) < 128 for ch in plot)
    assert max(len(line) for line in lines) <= 40 + 10
    # the top-left point is the first loss, the bottom-right the last
    assert lines[0].split("|", 1)[1].startswith("*") and lines[9].split("|", 1)[1].rstrip().endswith(("*", "#", "o"))


def test_text_plot_edge_cases():
    assert text_plot({"loss": {}, "val_loss": {}}) == "(no loss reported yet)"
    one = text_plot({"loss": {5: 1.0}, "val_loss": {}}, width=10, height=3)
    assert "*" in one and "step 5" in one
    both = text_plot({"loss": {1: 1.0, 2: 2.0}, "val_loss": {1: 1.0}}, width=10, height=3)
    assert "#" in both.splitlines()[2]


def test_save_plot_writes_a_png(tmp_path):
    path = save_plot({"loss": {1: 2.0, 2: 1.0}, "val_loss": {2: 1.5}}, tmp_path / "curve.png", "run r1")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


# -- rows and text ---------------------------------------------------------------------------------------------


def test_run_summary_and_progress_text():
    run = pb.TrainingRun(run_id="r1", status=pb.RUN_STATUS_SUCCEEDED, model_version="models:/tiny-qa/1",
                         metrics={"loss": 1.25}, progress=pb.Progress(step=50, total_steps=50))
    summary = training.run_summary(run)
    assert summary | {"steps": 50} == summary and summary["status"] == "SUCCEEDED"
    assert (summary["model_version"], summary["loss"], summary["val_loss"], summary["error"]) == (
        "models:/tiny-qa/1", 1.25, None, None)
    failed = pb.TrainingRun(run_id="r2", status=pb.RUN_STATUS_FAILED,
                            error=common_pb2.ErrorDetail(message="loss is NaN at step 12"))
    summary = training.run_summary(failed, {"loss": {10: 3.5, 11: 3.0}, "val_loss": {}})
    assert (summary["model_version"], summary["loss"], summary["error"]) == (None, 3.0, "loss is NaN at step 12")
    text = training.progress_text(pb.Progress(metrics={"loss": 2.3456, "val_loss": 2.5, "tokens_per_s": 1234.5,
                                                       "eta_s": 83.4}))
    assert text == "loss 2.3456  val 2.5000  1,234 tok/s  ETA 0:01:23"
    assert training.progress_text(pb.Progress()) == "loss -"


def test_cost_rows_mark_the_best_and_the_cheapest_within_the_margin():
    params = {"lora.r": 8}
    trials = [pb.Trial(run_id="t1", status=pb.RUN_STATUS_SUCCEEDED, objective=1.0, compute_seconds=100,
                       tokens=1000, peak_memory_bytes=2**30, estimated_cost=0.5, steps=40),
              pb.Trial(run_id="t2", status=pb.RUN_STATUS_SUCCEEDED, objective=1.04, compute_seconds=20,
                       estimated_cost=0.1, steps=10, stopped_early=True),
              pb.Trial(run_id="t3", status=pb.RUN_STATUS_FAILED)]
    trials[0].parameters.update(params)
    sweep = pb.Sweep(sweep_id="s1", status=pb.RUN_STATUS_SUCCEEDED, best_run_id="t1", best_metric=1.0,
                     cheapest_run_id="t2", trials=trials,
                     spec=pb.SweepSpec(objective_metric="val_loss", quality_margin=0.05))
    rows = training.cost_rows(sweep)
    assert [r["marks"] for r in rows] == [["best"], ["cheapest"], []]
    assert rows[0]["parameters"] == params and rows[0]["peak_memory_bytes"] == 2**30
    assert rows[1]["stopped_early"] and rows[2]["objective"] is None and rows[2]["status"] == "FAILED"
    summary = training.sweep_summary(sweep)
    assert (summary["best_run_id"], summary["cheapest_run_id"], summary["best_objective"]) == ("t1", "t2", 1.0)


def test_reproduction_verdict_states_the_tolerance():
    assert "tolerance 0.02" in training.reproduction_verdict("a", "b", 0.001, 12, 0.02)
    assert "do not match" in training.reproduction_verdict("a", "b", 0.5, 12, 0.02)
    assert "no step in common" in training.reproduction_verdict("a", "b", None, 0, 0.02)


# -- commands over a faked client -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setattr(output.console, "width", 200)


def fake_service(monkeypatch, answers: dict[str, Any], updates: list[pb.StreamProgressResponse]) -> list:
    """Replies by method (a callable gets the request); ``stream`` yields ``updates``. Returns the calls."""
    calls: list[tuple[str, Any]] = []

    def call(method: str, request: Any, timeout: float = 30.0) -> Any:
        calls.append((method, request))
        answer = answers[method]
        return answer(request) if callable(answer) else answer

    monkeypatch.setattr(training.client, "call", call)
    monkeypatch.setattr(training, "stream", lambda run_id, from_start, timeout=None: iter(updates))
    return calls


def invoke(*args: str):
    return CliRunner().invoke(main.app, ["train", *args], catch_exceptions=False)


ARGS = ["--base", "models:/tiny/1", "--dataset", "qa@abc", "--prompt", "qa@latest"]


def test_submit_follow_json_ends_with_the_result_object(monkeypatch):
    done = pb.TrainingRun(run_id="r1", status=pb.RUN_STATUS_SUCCEEDED, model_version="models:/tiny-qa/1",
                          metrics={"loss": 1.5}, progress=pb.Progress(step=50, total_steps=50))
    calls = fake_service(monkeypatch, {"SubmitRun": pb.TrainingRun(run_id="r1", status=pb.RUN_STATUS_PENDING),
                                       "GetRun": done},
                         [update(10, total=50, loss=2.0), update(50, pb.RUN_STATUS_SUCCEEDED, 50, loss=1.5)])
    result = invoke("submit", *ARGS, "--max-steps", "50", "--workers", "2", "--follow", "--json")
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["run_id"] == "r1" and last["status"] == "SUCCEEDED"
    assert (last["model_version"], last["loss"]) == ("models:/tiny-qa/1", 1.5)
    submitted = calls[0][1]
    assert submitted.spec.hyperparameters.max_steps == 50 and submitted.spec.distributed.num_workers == 2
    assert submitted.request_id


def test_submit_exits_1_when_the_run_fails(monkeypatch):
    failed = pb.TrainingRun(run_id="r1", status=pb.RUN_STATUS_FAILED,
                            error=common_pb2.ErrorDetail(message="loss exploded at step 7"))
    fake_service(monkeypatch, {"SubmitRun": pb.TrainingRun(run_id="r1"), "GetRun": failed}, [])
    result = invoke("submit", *ARGS, "--follow")
    assert result.exit_code == 1 and "loss exploded at step 7" in result.stdout


def test_show_prints_the_run_and_its_curve(monkeypatch, tmp_path):
    run = pb.TrainingRun(run_id="r1", name="qa", status=pb.RUN_STATUS_SUCCEEDED,
                         spec=build_spec(**REQUIRED, rank=4), progress=pb.Progress(step=3, total_steps=3))
    fake_service(monkeypatch, {"GetRun": run}, [update(1, loss=3.0), update(2, loss=2.0), update(3, loss=1.0,
                                                                                             val_loss=1.4)])
    result = invoke("show", "r1", "--plot", str(tmp_path / "c.png"))
    assert result.exit_code == 0, result.output
    assert "models:/tiny/1" in result.stdout and "r=4" in result.stdout and "* loss" in result.stdout
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
    data = json.loads(invoke("show", "r1", "--json").stdout)
    assert data["curves"]["loss"] == [[1, 3.0], [2, 2.0], [3, 1.0]] and data["curves"]["val_loss"] == [[3, 1.4]]


def test_reproduce_resubmits_the_spec_and_compares_the_curves(monkeypatch):
    spec = build_spec(**REQUIRED, seed=11, max_steps=3)
    original = pb.TrainingRun(run_id="r1", name="qa", status=pb.RUN_STATUS_SUCCEEDED, spec=spec)
    again = pb.TrainingRun(run_id="r2", name="qa-repro", status=pb.RUN_STATUS_SUCCEEDED, spec=spec)
    calls = fake_service(monkeypatch, {"GetRun": lambda req: original if req.run_id == "r1" else again,
                                       "SubmitRun": pb.TrainingRun(run_id="r2", status=pb.RUN_STATUS_PENDING)},
                         [update(1, loss=3.0), update(2, loss=2.0)])
    result = invoke("reproduce", "r1", "--tolerance", "0.01", "--json")
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert (last["run_id"], last["matches"], last["max_abs_diff"], last["tolerance"]) == ("r2", True, 0.0, 0.01)
    submitted = next(req for method, req in calls if method == "SubmitRun")
    assert submitted.name == "qa-repro" and submitted.spec == spec and submitted.spec.hyperparameters.seed == 11


def test_reproduce_exits_1_on_a_mismatch(monkeypatch):
    original = pb.TrainingRun(run_id="r1", status=pb.RUN_STATUS_SUCCEEDED)
    runs = iter([original, pb.TrainingRun(run_id="r2", status=pb.RUN_STATUS_SUCCEEDED)])
    curves = iter([[update(1, loss=3.0)], [], [update(1, loss=2.0)]])  # original, the follow, the new run
    fake_service(monkeypatch, {"GetRun": lambda req: next(runs), "SubmitRun": pb.TrainingRun(run_id="r2")}, [])
    monkeypatch.setattr(training, "stream", lambda run_id, from_start, timeout=None: iter(next(curves)))
    result = invoke("reproduce", "r1")
    assert result.exit_code == 1 and "do not match" in result.stdout and "tolerance 0.02" in result.stdout


def test_a_bad_option_is_one_line_on_stderr(monkeypatch, capsys):
    """Even a long message (this one lists the section's fields) stays on one line."""
    monkeypatch.setattr(sys, "argv", ["llmops", "train", "sweep", *ARGS, "--param", "hyperparameters.lr=choice:1"])
    with pytest.raises(SystemExit) as info:
        main.run()
    err = capsys.readouterr().err.strip()
    assert info.value.code == 1 and len(err.splitlines()) == 1 and len(err) > 100
    assert err.startswith("error (invalid): --param: 'hyperparameters.lr'") and "learning_rate" in err


# -- the progress stream over real gRPC (an in-process fake service) ------------------------------------------


class FlakyTraining(training_pb2_grpc.TrainingServiceServicer):
    """Drops the first progress stream (UNAVAILABLE), then streams the rest of the run; checks the key."""

    def __init__(self) -> None:
        self.streams: list[pb.StreamProgressRequest] = []

    def StreamProgress(self, request, context):
        assert ("authorization", "Bearer k") in context.invocation_metadata()
        self.streams.append(request)
        if len(self.streams) == 1:
            yield update(1, loss=3.0)
            context.abort(grpc.StatusCode.UNAVAILABLE, "service restarting")
        yield update(2, loss=2.0)
        yield update(3, pb.RUN_STATUS_SUCCEEDED, loss=1.0)

    def GetRun(self, request, context):
        ended = len(self.streams) > 1
        return pb.TrainingRun(run_id=request.run_id,
                              status=pb.RUN_STATUS_SUCCEEDED if ended else pb.RUN_STATUS_RUNNING)


@pytest.fixture
def flaky_service(monkeypatch):
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    servicer = FlakyTraining()
    training_pb2_grpc.add_TrainingServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    monkeypatch.setattr(training.client, "target", f"127.0.0.1:{port}")
    monkeypatch.setattr(training.client, "api_key", "k")
    monkeypatch.setattr(training.time, "sleep", lambda seconds: None)
    yield servicer
    server.stop(None)


def test_watch_reconnects_after_a_dropped_stream_and_returns_the_ended_run(flaky_service):
    seen: list[int] = []
    run = training.watch("r1", lambda u: seen.append(u.progress.step))
    assert run.status == pb.RUN_STATUS_SUCCEEDED and seen == [1, 2, 3]
    assert [s.from_start for s in flaky_service.streams] == [False, False]


class Deadline(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.DEADLINE_EXCEEDED

    def details(self) -> str:
        return "deadline"


def test_show_of_a_running_run_plots_the_replay_so_far(monkeypatch):
    def replay_then_live(run_id, from_start, timeout=None):
        assert from_start and timeout == training.REPLAY_SECONDS
        yield update(1, loss=3.0)
        yield update(2, loss=2.5)
        raise Deadline()

    monkeypatch.setattr(training, "stream", replay_then_live)
    curves = training.fetch_curves(pb.TrainingRun(run_id="r1", status=pb.RUN_STATUS_RUNNING))
    assert curves["loss"] == {1: 3.0, 2: 2.5}
