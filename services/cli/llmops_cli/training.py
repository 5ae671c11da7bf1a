"""``llmops train``: fine-tuning runs and sweeps on the training service, over its gRPC API.

``submit --follow`` draws a live progress bar from ``StreamProgress`` (step / total, loss, validation
loss, tokens/s, ETA); ``show`` prints a run with its loss curves; ``sweep --follow`` ends with the
quality-vs-cost table; ``reproduce`` re-runs a run's spec and compares the two loss curves. With
``--json``, ``submit``, ``sweep`` and ``reproduce`` print one JSON object as the last line of stdout
(the progress bar then goes to stderr); ``show`` and ``list`` print the reply as proto3 JSON like the
other groups. A run that fails or is cancelled, or a reproduction that does not match, exits with 1.
Bad options are one line naming the option; a gRPC error is ``error (<STATUS>): <details>``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from google.protobuf import json_format
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from llmops.training.v1 import training_pb2 as pb
from llmops.training.v1 import training_pb2_grpc
from llmops_cli.curves import Curves, compare, curves_from_updates, save_plot, text_plot
from llmops_cli.output import console, err_console
from llmops_cli.rpc import ServiceClient
from llmops_cli.services import SERVICES
from llmops_cli.toolkit import ApiKeyOpt, JsonOpt, PageSizeOpt, PageTokenOpt, emit, fmt, next_page, page, to_dict
from llmops_cli.training_spec import build_spec, build_sweep, choice, finite
from llmops_common.errors import FailedPrecondition, InvalidArgument

train_app = typer.Typer(help="Fine-tuning on Ray: runs, progress, sweeps with their cost, reproduction.",
                        no_args_is_help=True)

ENDED = frozenset({pb.RUN_STATUS_SUCCEEDED, pb.RUN_STATUS_FAILED, pb.RUN_STATUS_CANCELLED})
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
MAX_RECONNECTS = 20  # a progress stream dropped this many times in a row gives up
REPLAY_SECONDS = 5.0  # how long `show` reads the replayed progress of a run still going

# -- gRPC plumbing ---------------------------------------------------------------------------------------

client = ServiceClient(SERVICES["training"], training_pb2_grpc.TrainingServiceStub)


@train_app.callback()
def _connect(
    training: Annotated[str | None, typer.Option("--training", envvar="LLMOPS_TRAINING_ENDPOINT",
                                                 help="Training service gRPC endpoint HOST:PORT.")] = None,
    api_key: ApiKeyOpt = None,
) -> None:
    client.configure(training, api_key)


def _fail(exc: grpc.RpcError) -> typer.Exit:
    details = (exc.details() or "").replace("\n", " ")
    typer.echo(f"error ({exc.code().name}): {details}", err=True)
    return typer.Exit(1)


def stream(run_id: str, *, from_start: bool, timeout: float | None = None) -> Iterator[pb.StreamProgressResponse]:
    """The run's progress updates as the service streams them (raises ``grpc.RpcError``)."""
    metadata = [("authorization", f"Bearer {client.key()}")]
    request = pb.StreamProgressRequest(run_id=run_id, from_start=from_start)
    with grpc.insecure_channel(client.address()) as channel:
        yield from training_pb2_grpc.TrainingServiceStub(channel).StreamProgress(request, metadata=metadata,
                                                                                 timeout=timeout)


def watch(run_id: str, on_update: Callable[[pb.StreamProgressResponse], None]) -> pb.TrainingRun:
    """Follow the run's progress until it ends (reconnecting when the stream drops); the ended run."""
    failures = 0
    while True:
        try:
            for update in stream(run_id, from_start=False):
                failures = 0
                on_update(update)
        except grpc.RpcError as exc:
            failures += 1
            if exc.code() not in RETRYABLE or failures >= MAX_RECONNECTS:
                raise _fail(exc) from None
            time.sleep(min(0.5 * 2 ** failures, 10.0))
        run = client.call("GetRun", pb.GetRunRequest(run_id=run_id))
        if run.status in ENDED:
            return run


def fetch_curves(run: pb.TrainingRun) -> Curves:
    """Loss and validation loss from the run's replayed progress (so far, for a run still going)."""
    updates: list[pb.StreamProgressResponse] = []
    try:
        updates.extend(stream(run.run_id, from_start=True, timeout=None if run.status in ENDED else REPLAY_SECONDS))
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED or run.status in ENDED:
            raise _fail(exc) from None
    return curves_from_updates(updates)


# -- pure formatting ---------------------------------------------------------------------------------------


def status_name(status: int) -> str:
    return pb.RunStatus.Name(status).removeprefix("RUN_STATUS_")


def progress_text(progress: pb.Progress) -> str:
    """``loss 2.31  val 2.40  1,234 tok/s  ETA 0:01:23`` from what the progress holds."""
    m = progress.metrics
    parts = [f"loss {m['loss']:.4f}" if "loss" in m else "loss -"]
    if "val_loss" in m:
        parts.append(f"val {m['val_loss']:.4f}")
    if "tokens_per_s" in m:
        parts.append(f"{m['tokens_per_s']:,.0f} tok/s")
    if "eta_s" in m:
        parts.append(f"ETA {timedelta(seconds=round(max(m['eta_s'], 0)))}")
    return "  ".join(parts)


def run_summary(run: pb.TrainingRun, curves: Curves | None = None) -> dict[str, Any]:
    """The result of a run as one flat object: id, status, registered version, final loss and val loss."""
    def final(name: str) -> float | None:
        value = run.metrics.get(name)
        if value is None and curves and curves.get(name):
            value = curves[name][max(curves[name])]
        return run.progress.metrics.get(name) if value is None else value

    return {"run_id": run.run_id, "name": run.name, "status": status_name(run.status),
            "model_version": run.model_version or None, "loss": final("loss"), "val_loss": final("val_loss"),
            "steps": run.progress.step, "output_uri": run.output_uri or None,
            "error": run.error.message if run.HasField("error") and run.error.message else None}


def _given(value: Any) -> str:
    """A spec value, or ``default`` where it is unset (0 or empty): the service's default applies."""
    if isinstance(value, float):
        return f"{value:g}" if value else "default"
    return str(value) if value else "default"


def spec_summary(spec: pb.TrainingSpec) -> dict[str, str]:
    """The spec in a few readable rows (the method, its LoRA settings, optimisation, resources)."""
    h, d, lora = spec.hyperparameters, spec.distributed, spec.lora
    method = pb.TrainingMethod.Name(spec.method).removeprefix("TRAINING_METHOD_").lower()
    if spec.method in (pb.TRAINING_METHOD_LORA, pb.TRAINING_METHOD_UNSPECIFIED):
        method += (f" (r={_given(lora.r)}, alpha={_given(lora.alpha)}, dropout={_given(lora.dropout)}, "
                   f"modules={','.join(lora.target_modules) or 'default'})")
    steps = f"max_steps={h.max_steps}" if h.max_steps else f"epochs={_given(h.num_epochs)}"
    return {
        "base": spec.base_model, "dataset": spec.dataset_version, "prompt": spec.prompt_version or "-",
        "method": method,
        "optimisation": f"lr={_given(h.learning_rate)} schedule={_given(h.lr_scheduler)} "
                        f"warmup_steps={_given(h.warmup_steps)} {steps} micro_batch={_given(h.per_device_batch_size)} "
                        f"grad_accum={_given(h.gradient_accumulation_steps)}",
        "data": f"max_seq_length={_given(h.max_seq_length)} packing={'yes' if h.packing else 'no'} seed={h.seed}",
        "resources": f"workers={_given(d.num_workers)} gpus_per_worker={d.gpus_per_worker:g} "
                     f"zero_stage={d.deepspeed_stage}{' +cpu_offload' if d.cpu_offload else ''}",
        "output model": spec.output_model_name or "-",
    }


def _plain(value: Any) -> Any:
    """A Struct number as written: 8, not 8.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _bytes(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n else "-"


def cost_rows(sweep: pb.Sweep) -> list[dict[str, Any]]:
    """One row per trial for the quality-vs-cost table, marking the best and the cheapest within margin."""
    rows = []
    for i, trial in enumerate(sweep.trials, 1):
        marks = [m for m, run in (("best", sweep.best_run_id), ("cheapest", sweep.cheapest_run_id))
                 if run and run == trial.run_id]
        rows.append({
            "trial": i, "run_id": trial.run_id, "status": status_name(trial.status),
            "parameters": {k: _plain(v) for k, v in json_format.MessageToDict(trial.parameters).items()},
            "objective": trial.objective if trial.HasField("objective") else None,
            "steps": trial.steps, "compute_seconds": trial.compute_seconds, "tokens": trial.tokens,
            "peak_memory_bytes": trial.peak_memory_bytes, "estimated_cost": trial.estimated_cost,
            "stopped_early": trial.stopped_early, "marks": marks,
        })
    return rows


def sweep_summary(sweep: pb.Sweep) -> dict[str, Any]:
    return {"sweep_id": sweep.sweep_id, "name": sweep.name, "status": status_name(sweep.status),
            "objective": sweep.spec.objective_metric, "best_run_id": sweep.best_run_id or None,
            "best_objective": sweep.best_metric if sweep.best_run_id else None,
            "cheapest_run_id": sweep.cheapest_run_id or None, "quality_margin": sweep.spec.quality_margin,
            "error": sweep.error.message if sweep.HasField("error") and sweep.error.message else None,
            "trials": cost_rows(sweep)}


def emit_line(data: dict[str, Any]) -> None:
    """The one JSON object a ``--json`` command ends stdout with."""
    typer.echo(json.dumps(data, separators=(",", ":")))


# -- rendering ---------------------------------------------------------------------------------------------


def _kv_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, fmt(value))
    return table


def _show_run(run: pb.TrainingRun, curves: Curves) -> None:
    p = run.progress
    rows: dict[str, Any] = {"run id": run.run_id, "name": run.name, "status": status_name(run.status)}
    rows.update(spec_summary(run.spec))
    rows["progress"] = f"step {p.step}/{p.total_steps or '?'}  {progress_text(p)}"
    if run.checkpoints:
        last = run.checkpoints[-1]
        rows["checkpoints"] = f"{len(run.checkpoints)} (last: step {last.step}, {last.uri})"
    for key, value in (("metrics", dict(run.metrics)), ("output", run.output_uri),
                       ("model version", run.model_version), ("sweep", run.sweep_id),
                       ("config hash", run.config_hash)):
        if value:
            rows[key] = value
    if run.HasField("error") and run.error.message:
        rows["error"] = run.error.message
    console.print(_kv_table(f"run {run.run_id}", rows))
    console.print(text_plot(curves), style=None)


def _show_result(run: pb.TrainingRun) -> None:
    summary = run_summary(run)
    style = "green" if run.status == pb.RUN_STATUS_SUCCEEDED else "red"
    console.print(Text.assemble(("run ", ""), (run.run_id, "bold"), " ", (summary["status"].lower(), style)))
    console.print(_kv_table("result", {k: v for k, v in summary.items() if v is not None and k != "run_id"}))


def _show_sweep(sweep: pb.Sweep) -> None:
    summary = sweep_summary(sweep)
    table = Table(title=f"sweep {sweep.sweep_id} ({summary['status'].lower()}): quality vs cost")
    for col in ("trial", "parameters", summary["objective"] or "objective", "steps", "compute s", "tokens",
                "peak memory", "est. cost", "stopped early", ""):
        table.add_column(col)
    for row in summary["trials"]:
        objective = "-" if row["objective"] is None else f"{row['objective']:.4f}"
        params = " ".join(f"{path.rsplit('.', 1)[-1]}={value}" for path, value in row["parameters"].items())
        table.add_row(f"{row['trial']} {row['run_id']}", params, objective, str(row["steps"]),
                      f"{row['compute_seconds']:,.1f}", f"{row['tokens']:,}", _bytes(row["peak_memory_bytes"]),
                      f"{row['estimated_cost']:.4f}", "yes" if row["stopped_early"] else "no",
                      ", ".join(row["marks"]))
    console.print(table)
    if sweep.best_run_id:
        console.print(f"best: {sweep.best_run_id} ({summary['objective']} {sweep.best_metric:.4f})")
    if sweep.cheapest_run_id:
        console.print(f"cheapest within {sweep.spec.quality_margin:.0%} of the best: {sweep.cheapest_run_id}")
    if summary["error"]:
        console.print(Text.assemble(("error", "red"), f": {summary['error']}"))


def follow(run: pb.TrainingRun, screen: Console) -> pb.TrainingRun:
    """The run's live progress bar on ``screen`` until it ends; the ended run."""
    columns = (TextColumn("{task.description}", markup=False), BarColumn(),
               TextColumn("step {task.completed:.0f}/{task.fields[steps_total]}", markup=False),
               TextColumn("{task.fields[metrics]}", markup=False))
    with Progress(*columns, console=screen, transient=True) as bar:
        task = bar.add_task(status_name(run.status).lower(), total=None, steps_total="?", metrics="")

        def update(message: pb.StreamProgressResponse) -> None:
            p = message.progress
            bar.update(task, description=status_name(message.status).lower() if message.status else "running",
                       completed=p.step, total=p.total_steps or None, steps_total=p.total_steps or "?",
                       metrics=progress_text(p))

        return watch(run.run_id, update)


# -- commands ----------------------------------------------------------------------------------------------

Base = Annotated[str, typer.Option("--base", help="Base model: models:/NAME/VERSION or models:/NAME@ALIAS.")]
Dataset = Annotated[str, typer.Option("--dataset", help="Dataset version NAME@VERSION.")]
Prompt = Annotated[str, typer.Option("--prompt", help="Prompt that renders each record: NAME@LABEL or NAME/VERSION.")]
Method = Annotated[str, typer.Option("--method", help="lora or full.")]
Rank = Annotated[int | None, typer.Option("--rank", help="LoRA rank r.")]
Alpha = Annotated[float | None, typer.Option("--alpha", help="LoRA alpha.")]
Dropout = Annotated[float | None, typer.Option("--dropout", help="LoRA dropout.")]
Modules = Annotated[list[str] | None, typer.Option("--target-modules", help="LoRA target modules, comma "
                                                                           "separated or repeated.")]
Zero = Annotated[int | None, typer.Option("--zero-stage", help="DeepSpeed ZeRO stage 0-3 (0: DeepSpeed off).")]
Offload = Annotated[bool, typer.Option("--cpu-offload", help="Offload optimizer state to CPU (ZeRO 1-3).")]
Lr = Annotated[float | None, typer.Option("--learning-rate", help="Learning rate.")]
Schedule = Annotated[str | None, typer.Option("--schedule", help="linear, cosine or constant.")]
Warmup = Annotated[int | None, typer.Option("--warmup-steps", help="Warm-up steps.")]
Epochs = Annotated[float | None, typer.Option("--epochs", help="Epochs (when --max-steps is not given).")]
MaxSteps = Annotated[int | None, typer.Option("--max-steps", help="Optimizer steps (wins over --epochs).")]
MicroBatch = Annotated[int | None, typer.Option("--micro-batch", help="Sequences per worker per micro-step.")]
GradAccum = Annotated[int | None, typer.Option("--grad-accum", help="Gradient accumulation steps.")]
SeqLen = Annotated[int | None, typer.Option("--max-seq-length", help="Maximum sequence length in tokens.")]
Packing = Annotated[bool, typer.Option("--packing", help="Pack short examples into one sequence.")]
Seed = Annotated[int | None, typer.Option("--seed", help="Random seed.")]
EvalEvery = Annotated[int | None, typer.Option("--eval-every", help="Steps between validation passes.")]
CkptEvery = Annotated[int | None, typer.Option("--checkpoint-every", help="Steps between checkpoints.")]
Workers = Annotated[int | None, typer.Option("--workers", help="Ray Train workers.")]
Gpus = Annotated[float | None, typer.Option("--gpus-per-worker", help="GPUs per worker (0: CPU).")]
OutputModel = Annotated[str | None, typer.Option("--output-model", help="Register the result under this model "
                                                                        "name (default: the service's).")]
Name = Annotated[str, typer.Option("--name", help="Display name.")]
Follow = Annotated[bool, typer.Option("--follow", help="Follow it live until it ends.")]


@train_app.command("submit")
def submit(base: Base, dataset: Dataset, prompt: Prompt, method: Method = "lora", rank: Rank = None,
           alpha: Alpha = None, dropout: Dropout = None, target_modules: Modules = None, zero_stage: Zero = None,
           cpu_offload: Offload = False, learning_rate: Lr = None, schedule: Schedule = None,
           warmup_steps: Warmup = None, epochs: Epochs = None, max_steps: MaxSteps = None,
           micro_batch: MicroBatch = None, grad_accum: GradAccum = None, max_seq_length: SeqLen = None,
           packing: Packing = False, seed: Seed = None, eval_every: EvalEvery = None,
           checkpoint_every: CkptEvery = None, workers: Workers = None, gpus_per_worker: Gpus = None,
           output_model: OutputModel = None, name: Name = "", follow_run: Follow = False,
           as_json: JsonOpt = False) -> None:
    """Submit a fine-tuning run (with --follow: a live progress bar, then the result)."""
    spec = build_spec(
        base=base, dataset=dataset, prompt=prompt, method=method, rank=rank, alpha=alpha, dropout=dropout,
        target_modules=target_modules, zero_stage=zero_stage, cpu_offload=cpu_offload,
        learning_rate=learning_rate, schedule=schedule, warmup_steps=warmup_steps, epochs=epochs,
        max_steps=max_steps, micro_batch=micro_batch, grad_accum=grad_accum, max_seq_length=max_seq_length,
        packing=packing, seed=seed, eval_every=eval_every, checkpoint_every=checkpoint_every, workers=workers,
        gpus_per_worker=gpus_per_worker, output_model=output_model)
    run = client.call("SubmitRun", pb.SubmitRunRequest(name=name, spec=spec, request_id=str(uuid.uuid4())))
    _finish(run, follow_run, as_json)


def _finish(run: pb.TrainingRun, follow_run: bool, as_json: bool) -> None:
    if not as_json:
        console.print(Text.assemble("submitted run ", (run.run_id, "bold")))
    if follow_run:
        run = follow(run, err_console if as_json else console)
    if as_json:
        emit_line(run_summary(run))
    elif follow_run:
        _show_result(run)
    if run.status in (pb.RUN_STATUS_FAILED, pb.RUN_STATUS_CANCELLED):
        raise typer.Exit(1)


@train_app.command("show")
def show(run_id: Annotated[str, typer.Argument(help="Run id.")],
         plot: Annotated[Path | None, typer.Option("--plot", dir_okay=False,
                                                   help="Also draw the curves into this PNG file.")] = None,
         as_json: JsonOpt = False) -> None:
    """A run: status, spec, progress, checkpoints, model version, error, and its loss curves."""
    run = client.call("GetRun", pb.GetRunRequest(run_id=run_id))
    curves = fetch_curves(run)
    if plot is not None:
        save_plot(curves, plot, f"{run.name or run.run_id} ({status_name(run.status).lower()})")
    if as_json:
        data = to_dict(run)
        data["curves"] = {name: [[step, curve[step]] for step in sorted(curve)] for name, curve in curves.items()}
        typer.echo(json.dumps(data, indent=2))
        return
    _show_run(run, curves)
    if plot is not None:
        console.print(f"plot: {plot}")


@train_app.command("list")
def list_runs(status: Annotated[list[str] | None, typer.Option("--status", help="Only runs in this state "
                                                                               "(repeatable), e.g. running.")] = None,
              sweep: Annotated[str, typer.Option("--sweep", help="Only the trials of this sweep.")] = "",
              page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "", as_json: JsonOpt = False) -> None:
    """Training runs, newest first."""
    names = [v.name.removeprefix("RUN_STATUS_").lower() for v in pb.RunStatus.DESCRIPTOR.values if v.number]
    statuses = [pb.RunStatus.Value(f"RUN_STATUS_{choice(s.lower(), names, '--status').upper()}")
                for s in status or []]
    reply = client.call("ListRuns", pb.ListRunsRequest(statuses=statuses, sweep_id=sweep,
                                                      page=page(page_size, page_token)))

    def render(reply: pb.ListRunsResponse) -> None:
        table = Table("run id", "name", "status", "base", "dataset", "step", "loss", "model version")
        for run in reply.runs:
            loss = run_summary(run)["loss"]
            table.add_row(run.run_id, run.name, status_name(run.status).lower(), run.spec.base_model,
                          run.spec.dataset_version, f"{run.progress.step}/{run.progress.total_steps or '?'}",
                          "-" if loss is None else f"{loss:.4f}", run.model_version or "-")
        console.print(table)
        next_page(reply.page)

    emit(reply, as_json, render)


@train_app.command("cancel")
def cancel(run_id: Annotated[str, typer.Argument(help="Run id.")],
           reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the run).")] = "",
           as_json: JsonOpt = False) -> None:
    """Cancel a pending or running run; its Ray job is stopped and its resources freed."""
    run = client.call("CancelRun", pb.CancelRunRequest(run_id=run_id, reason=reason))
    emit(run, as_json, lambda r: console.print(f"run {r.run_id}: {status_name(r.status).lower()}"))


@train_app.command("sweep")
def sweep(base: Base, dataset: Dataset, prompt: Prompt,
          param: Annotated[list[str] | None, typer.Option(
              "--param", help="PATH=choice:A,B or PATH=KIND:LOW:HIGH (KIND: uniform, loguniform, int, logint); "
                              "PATH is a field of the run spec, e.g. hyperparameters.learning_rate, lora.r "
                              "(repeatable).")] = None,
          trials: Annotated[int, typer.Option("--trials", help="Trials to run.")] = 4,
          concurrent: Annotated[int, typer.Option("--concurrent", help="Trials at once.")] = 1,
          objective: Annotated[str, typer.Option("--objective", help="Metric to optimise.")] = "val_loss",
          goal: Annotated[str, typer.Option("--goal", help="min or max.")] = "min",
          margin: Annotated[float, typer.Option("--margin", help="Quality margin of the cheapest acceptable "
                                                                 "trial: 0.05 = within 5% of the best.")] = 0.05,
          no_early_stopping: Annotated[bool, typer.Option("--no-early-stopping",
                                                          help="Run every trial to its end (no ASHA).")] = False,
          method: Method = "lora", rank: Rank = None, alpha: Alpha = None, dropout: Dropout = None,
          target_modules: Modules = None, zero_stage: Zero = None, cpu_offload: Offload = False,
          learning_rate: Lr = None, schedule: Schedule = None, warmup_steps: Warmup = None, epochs: Epochs = None,
          max_steps: MaxSteps = None, micro_batch: MicroBatch = None, grad_accum: GradAccum = None,
          max_seq_length: SeqLen = None, packing: Packing = False, seed: Seed = None,
          eval_every: EvalEvery = None, workers: Workers = None, gpus_per_worker: Gpus = None, name: Name = "",
          follow_sweep: Follow = False,
          poll: Annotated[float, typer.Option("--poll", help="Seconds between status checks.")] = 2.0,
          as_json: JsonOpt = False) -> None:
    """Submit a hyperparameter sweep (Ray Tune, ASHA early stopping); with --follow, the quality-vs-cost
    table at the end, naming the best trial and the cheapest within the margin."""
    base_spec = build_spec(
        base=base, dataset=dataset, prompt=prompt, method=method, rank=rank, alpha=alpha, dropout=dropout,
        target_modules=target_modules, zero_stage=zero_stage, cpu_offload=cpu_offload,
        learning_rate=learning_rate, schedule=schedule, warmup_steps=warmup_steps, epochs=epochs,
        max_steps=max_steps, micro_batch=micro_batch, grad_accum=grad_accum, max_seq_length=max_seq_length,
        packing=packing, seed=seed, eval_every=eval_every, workers=workers, gpus_per_worker=gpus_per_worker)
    spec = build_sweep(base_spec, param, trials=trials, concurrent=concurrent, objective=objective, goal=goal,
                       margin=margin, early_stopping=not no_early_stopping)
    finite(poll, "--poll", positive=True)
    reply = client.call("SubmitSweep", pb.SubmitSweepRequest(name=name, spec=spec, request_id=str(uuid.uuid4())))
    if not as_json:
        console.print(Text.assemble("submitted sweep ", (reply.sweep_id, "bold")))
    if follow_sweep:
        with (err_console if as_json else console).status("sweep running") as spinner:
            while reply.status not in ENDED:
                time.sleep(poll)
                reply = client.call("GetSweep", pb.GetSweepRequest(sweep_id=reply.sweep_id))
                done = sum(t.status in ENDED for t in reply.trials)
                spinner.update(f"sweep {status_name(reply.status).lower()}: {done}/{reply.spec.max_trials} trials done")
    if as_json:
        emit_line(sweep_summary(reply))
    else:
        _show_sweep(reply)
    if reply.status in (pb.RUN_STATUS_FAILED, pb.RUN_STATUS_CANCELLED):
        raise typer.Exit(1)


@train_app.command("reproduce")
def reproduce(run_id: Annotated[str, typer.Argument(help="Id of a succeeded run.")],
              tolerance: Annotated[float, typer.Option("--tolerance", help="Largest absolute loss difference "
                                                                           "at any step that still matches.")] = 0.02,
              follow_run: Follow = False, as_json: JsonOpt = False) -> None:
    """Re-run a run with its exact spec and seed (named <name>-repro), wait for it, and compare the loss
    curves step by step; exit 1 unless they match within the tolerance."""
    if finite(tolerance, "--tolerance") < 0:
        raise InvalidArgument(f"{tolerance:g} is below 0", field="--tolerance")
    original = client.call("GetRun", pb.GetRunRequest(run_id=run_id))
    if original.status != pb.RUN_STATUS_SUCCEEDED:
        raise FailedPrecondition(f"run {run_id} is {status_name(original.status).lower()}; only a succeeded run "
                                 "can be reproduced")
    reference = fetch_curves(original)
    request = pb.SubmitRunRequest(name=f"{original.name or original.run_id}-repro", spec=original.spec,
                                  request_id=str(uuid.uuid4()))
    run = client.call("SubmitRun", request)
    if not as_json:
        console.print(Text.assemble("reproducing ", (run_id, "bold"), " as run ", (run.run_id, "bold")))
    run = follow(run, err_console if as_json else console) if follow_run else watch(run.run_id, lambda _: None)
    result = compare(reference, fetch_curves(run), tolerance)
    data = {**run_summary(run), "original_run_id": run_id, "tolerance": tolerance,
            "max_abs_diff": result.max_abs_diff, "points_compared": result.steps_compared,
            "worst": list(result.worst) if result.worst else None, "matches": result.matches}
    if as_json:
        emit_line(data)
    else:
        _show_result(run)
        console.print(reproduction_verdict(run_id, run.run_id, result.max_abs_diff, result.steps_compared,
                                           tolerance), style="green" if result.matches else "red")
    if not result.matches or run.status != pb.RUN_STATUS_SUCCEEDED:
        raise typer.Exit(1)


def reproduction_verdict(original: str, new: str, max_abs_diff: float | None, points: int, tolerance: float) -> str:
    if max_abs_diff is None:
        return f"run {new} reported no step in common with run {original}: no match (tolerance {tolerance:g})"
    verdict = "match" if max_abs_diff <= tolerance else "do not match"
    return (f"loss curves of {original} and {new} {verdict}: max |difference| {max_abs_diff:.6g} over {points} "
            f"points, tolerance {tolerance:g}")
