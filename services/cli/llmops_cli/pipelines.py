"""``llmops pipelines``: lifecycle pipelines over the pipelines service's gRPC API.

``apply FILE`` stores a definition (YAML; docs/pipelines.md) as the pipeline's next version; ``start``
runs it by hand; ``status RUN`` prints the run's steps (``--wait`` draws a progress bar over the steps
until the run ends or waits for an approval); ``list`` lists pipelines, ``list --runs`` their runs;
``reproduce RUN`` trains and evaluates again with the run's exact inputs and prints the comparison;
``cancel RUN`` stops one. With ``--json`` the reply is printed as proto3 JSON. A run that ended
failed, rejected or cancelled exits with 1 under ``--wait``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from llmops.pipelines.v1 import pipelines_pb2 as pb
from llmops.pipelines.v1 import pipelines_pb2_grpc
from llmops_cli.output import console, err_console
from llmops_cli.rpc import ServiceClient
from llmops_cli.services import SERVICES
from llmops_cli.toolkit import ApiKeyOpt, JsonOpt, PageSizeOpt, PageTokenOpt, ReasonOpt, emit, next_page, page

pipelines_app = typer.Typer(help="Lifecycle pipelines: train, evaluate and promote on new data, a schedule or "
                                 "an alert.", no_args_is_help=True)
client = ServiceClient(SERVICES["pipelines"], pipelines_pb2_grpc.PipelinesServiceStub)

MAX_DEFINITION_BYTES = 64 * 1024
ENDED = frozenset({pb.RUN_STATUS_SUCCEEDED, pb.RUN_STATUS_FAILED, pb.RUN_STATUS_REJECTED, pb.RUN_STATUS_CANCELLED})
STYLES = {"succeeded": "green", "failed": "red", "rejected": "red", "cancelled": "yellow",
          "waiting_approval": "yellow", "requested": "cyan"}
WaitOpt = Annotated[bool, typer.Option("--wait", help="Follow the run until it ends or waits for an approval.")]
RunId = Annotated[str, typer.Argument(help="Pipeline run id.")]


@pipelines_app.callback()
def _connect(
    pipelines: Annotated[str | None, typer.Option("--pipelines", envvar="LLMOPS_PIPELINES_ENDPOINT",
                                                  help="Pipelines service gRPC endpoint HOST:PORT.")] = None,
    api_key: ApiKeyOpt = None,
) -> None:
    client.configure(pipelines, api_key)


def status_name(status: int) -> str:
    return pb.RunStatus.Name(status).removeprefix("RUN_STATUS_").lower()


def settled(run: pb.PipelineRun) -> bool:
    """Ended, or waiting for people (an approval may take days)."""
    return run.status in ENDED or run.status == pb.RUN_STATUS_WAITING_APPROVAL


def current_step(run: pb.PipelineRun) -> pb.Step | None:
    return next((s for s in run.steps if s.status != "succeeded"), None)


def step_detail(step: pb.Step) -> str:
    """What a step produced, in a few words: the model version, the metric values, the promotion."""
    outputs = dict(step.outputs)
    parts = [outputs[k] for k in ("model_version", "evaluation_run_id", "promotion_id") if outputs.get(k)]
    parts += [f"{k}={v:.4g}" for k, v in sorted(step.metrics.items()) if "_" not in k or k.endswith("loss")][:4]
    if step.error:
        parts.append(step.error)
    return "; ".join(parts)


def show_run(run: pb.PipelineRun) -> None:
    status = status_name(run.status)
    console.print(Text.assemble(f"run {run.run_id}  pipeline {run.pipeline} v{run.pipeline_version}  "
                                f"trigger {run.trigger} {run.trigger_detail}  ", (status, STYLES.get(status, ""))))
    inputs = Table("input", "value", title="inputs")
    for key, value in sorted(run.inputs.items()):
        inputs.add_row(key, value)
    console.print(inputs)
    steps = Table("step", "status", "attempt", "detail", title="steps")
    for step in run.steps:
        steps.add_row(step.name, Text(step.status, STYLES.get(step.status, "")), str(step.attempt),
                      step_detail(step))
    console.print(steps)
    if run.comparison:
        table = Table("metric", "original", "reproduced", "delta", "within interval",
                      title=f"reproduction of {run.reproduces}")
        for row in run.comparison:
            delta = f"{row.delta:+.4g}" if row.HasField("delta") else "overflow"
            table.add_row(row.metric, f"{row.original:.4g}", f"{row.reproduced:.4g}", delta,
                          Text("yes") if row.within_interval else Text("no", "red"))
        console.print(table)
    if run.error:
        console.print(f"error: {run.error}")
    step = current_step(run)
    if run.status == pb.RUN_STATUS_WAITING_APPROVAL and step is not None:
        console.print(f"waiting for approval: llmops models approve {step.outputs.get('promotion_id', '')}")


def follow(run: pb.PipelineRun, fetch: Callable[[str], pb.PipelineRun], screen: Console, *, interval: float,
           sleep: Callable[[float], None] = time.sleep) -> pb.PipelineRun:
    """A progress bar over the run's steps until it has settled; the settled run."""
    columns = (TextColumn("{task.description}", markup=False), BarColumn(),
               TextColumn("{task.completed}/{task.total} steps", markup=False))
    with Progress(*columns, console=screen, transient=True) as bar:
        task = bar.add_task("", total=len(run.steps))
        while True:
            step = current_step(run)
            label = f"{step.name}: {step.status} (attempt {step.attempt})" if step else status_name(run.status)
            bar.update(task, description=label, completed=sum(s.status == "succeeded" for s in run.steps))
            if settled(run):
                return run
            sleep(interval)
            run = fetch(run.run_id)


def _get(run_id: str) -> pb.PipelineRun:
    return client.call("GetRun", pb.GetRunRequest(run_id=run_id))


def _finish(run: pb.PipelineRun, as_json: bool, wait: bool, interval: float) -> None:
    if wait:
        run = follow(run, _get, err_console if as_json else console, interval=interval)
    emit(run, as_json, show_run)
    if wait and run.status in ENDED and run.status != pb.RUN_STATUS_SUCCEEDED:
        raise typer.Exit(1)


@pipelines_app.command("apply")
def apply_cmd(
    path: Annotated[Path, typer.Argument(help="The definition, a YAML file.", exists=True, dir_okay=False)],
    as_json: JsonOpt = False,
) -> None:
    """Store a definition as the pipeline's next version (the same one again changes nothing)."""
    if path.stat().st_size > MAX_DEFINITION_BYTES:
        raise typer.BadParameter(f"{path} is larger than {MAX_DEFINITION_BYTES // 1024} KiB")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text") from None
    reply = client.call("ApplyPipeline", pb.ApplyPipelineRequest(definition_yaml=text))
    emit(reply, as_json, lambda p: console.print(f"pipeline {p.name} version {p.version} ({p.digest[:12]})"))


@pipelines_app.command("start")
def start_cmd(
    name: Annotated[str, typer.Argument(help="Pipeline name.")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset version NAME@VERSION to train on (default: "
                                                           "the newest of the pipeline's dataset).")] = "",
    request_id: Annotated[str, typer.Option("--request-id", help="Idempotency key.")] = "",
    wait: WaitOpt = False,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between polls.")] = 2.0,
    as_json: JsonOpt = False,
) -> None:
    """Start a run of the pipeline's latest version."""
    run = client.call("StartRun", pb.StartRunRequest(pipeline=name, dataset_version=dataset, request_id=request_id))
    _finish(run, as_json, wait, interval)


@pipelines_app.command("status")
def status_cmd(
    run_id: RunId,
    wait: WaitOpt = False,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between polls.")] = 2.0,
    as_json: JsonOpt = False,
) -> None:
    """A run with its inputs and steps."""
    _finish(_get(run_id), as_json, wait, interval)


@pipelines_app.command("list")
def list_cmd(
    runs: Annotated[bool, typer.Option("--runs", help="List runs instead of pipelines.")] = False,
    pipeline: Annotated[str, typer.Option("--pipeline", help="Only this pipeline's runs.")] = "",
    status: Annotated[str, typer.Option("--status", help="Only runs in this status (running, succeeded, ...).")] = "",
    page_size: PageSizeOpt = 0,
    page_token: PageTokenOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Pipelines (their latest versions), or with --runs their runs, newest first."""
    if not runs:
        reply = client.call("ListPipelines", pb.ListPipelinesRequest(page=page(page_size, page_token)))

        def render(r: pb.ListPipelinesResponse) -> None:
            table = Table("name", "version", "model", "triggers", "created by", title="pipelines")
            for p in r.pipelines:
                trigger = dict(p.definition.fields["trigger"].struct_value.fields) if "trigger" in p.definition.fields \
                    else {}
                words = [f"{k}={v.string_value or [x.string_value for x in v.list_value.values]}"
                         for k, v in trigger.items() if v.string_value or v.list_value.values]
                table.add_row(p.name, str(p.version), p.definition.fields["model_name"].string_value,
                              ", ".join(words) or "-", p.created_by)
            console.print(table)
            next_page(r.page)

        emit(reply, as_json, render)
        return
    try:
        status_value = pb.RunStatus.Value(f"RUN_STATUS_{status.upper()}") if status else 0
    except ValueError:
        raise typer.BadParameter(f"unknown status {status!r}") from None
    reply = client.call("ListRuns", pb.ListRunsRequest(pipeline=pipeline, status=status_value,
                                                       page=page(page_size, page_token)))

    def render_runs(r: pb.ListRunsResponse) -> None:
        table = Table("run", "pipeline", "trigger", "status", "step", "model version", title="runs")
        for run in r.runs:
            step = current_step(run)
            model = next((s.outputs.get("model_version", "") for s in run.steps if s.kind == "train"), "")
            table.add_row(run.run_id, f"{run.pipeline} v{run.pipeline_version}", run.trigger,
                          status_name(run.status), step.name if step else "-", model or "-")
        console.print(table)
        next_page(r.page)

    emit(reply, as_json, render_runs)


@pipelines_app.command("reproduce")
def reproduce_cmd(
    run_id: RunId,
    request_id: Annotated[str, typer.Option("--request-id", help="Idempotency key.")] = "",
    wait: WaitOpt = False,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between polls.")] = 2.0,
    as_json: JsonOpt = False,
) -> None:
    """Train and evaluate again with the run's exact inputs; compare the results (with --wait)."""
    run = client.call("ReproduceRun", pb.ReproduceRunRequest(run_id=run_id, request_id=request_id))
    _finish(run, as_json, wait, interval)


@pipelines_app.command("cancel")
def cancel_cmd(run_id: RunId, reason: ReasonOpt = "", as_json: JsonOpt = False) -> None:
    """Cancel a run that has not ended."""
    emit(client.call("CancelRun", pb.CancelRunRequest(run_id=run_id, reason=reason)), as_json, show_run)
