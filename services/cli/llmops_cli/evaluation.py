"""``llmops eval``: evaluation runs, reports, comparisons and blind human review, over the evaluation
service's gRPC API.

``run --wait`` draws a progress bar from ``GetEvaluationRun`` (stage, done/total), then prints the
report's tables; ``show`` prints them: one row per metric and one column per model role, each value
with its confidence interval, then the candidate against each baseline (delta with its interval,
p-value, verdict). ``review-export`` writes a blind A/B sample as JSON Lines; raters add ``choice``
("a", "b" or "tie") and ``rater`` to each line, and ``review-import`` sends the verdicts and prints
the candidate's win rate with its interval. With ``--json``, ``run`` prints one JSON object as the
last line of stdout (the progress bar then goes to stderr); ``show``, ``compare``, ``list`` and
``review-import`` print the reply as proto3 JSON like the other groups. A run that fails exits with 1.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from llmops.evaluation.v1 import evaluation_pb2 as pb
from llmops.evaluation.v1 import evaluation_pb2_grpc
from llmops_cli.evaluation_spec import MAX_VERDICT_BYTES, build_eval_spec, parse_verdicts
from llmops_cli.output import console, err_console
from llmops_cli.rpc import ServiceClient
from llmops_cli.services import SERVICES
from llmops_cli.toolkit import ApiKeyOpt, JsonOpt, PageSizeOpt, PageTokenOpt, emit, next_page, page, to_dict
from llmops_cli.training_spec import choice, finite

eval_app = typer.Typer(help="Evaluation: metrics with intervals against baselines, reports, human review.",
                       no_args_is_help=True)

ENDED = frozenset({pb.EVALUATION_STATUS_COMPLETED, pb.EVALUATION_STATUS_FAILED})
CANDIDATE = "candidate"
VERDICT_STYLES = {"better": "green", "worse": "red"}
SAMPLE_CHARS = 80  # a sample's text in the table, cut to this many characters

client = ServiceClient(SERVICES["evaluation"], evaluation_pb2_grpc.EvaluationServiceStub)


@eval_app.callback()
def _connect(
    evaluation: Annotated[str | None, typer.Option("--evaluation", envvar="LLMOPS_EVALUATION_ENDPOINT",
                                                   help="Evaluation service gRPC endpoint HOST:PORT.")] = None,
    api_key: ApiKeyOpt = None,
) -> None:
    client.configure(evaluation, api_key)


# -- pure formatting ---------------------------------------------------------------------------------------


def status_name(status: int) -> str:
    return pb.EvaluationStatus.Name(status).removeprefix("EVALUATION_STATUS_").lower()


def number(value: float) -> str:
    """Four significant digits, thousands grouped from 10,000 on: 34.12, 0.3412, 1234, 12,345."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def signed(value: float) -> str:
    return number(value) if not math.isfinite(value) or value < 0 else f"+{number(value)}"


def has_interval(low: float, high: float, confidence: float) -> bool:
    """Whether a reply carries an interval: the service leaves ``confidence`` 0 (or the bounds NaN)
    where one means nothing, e.g. for a count."""
    return confidence > 0 and math.isfinite(low) and math.isfinite(high)


def metric_cell(m: pb.MetricResult) -> str:
    """``34.12 [31.02, 37.3]``, or the value alone where it has no interval."""
    if has_interval(m.ci_low, m.ci_high, m.confidence):
        return f"{number(m.value)} [{number(m.ci_low)}, {number(m.ci_high)}]"
    return number(m.value)


def metric_table(metrics: Sequence[pb.MetricResult]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(roles, rows): the roles as columns, the candidate first, then in reply order; one row per
    metric in reply order, a cell per role ("-" where that role lacks the metric)."""
    roles: list[str] = [CANDIDATE] if any(m.model_role == CANDIDATE for m in metrics) else []
    cells: dict[str, dict[str, str]] = {}
    for m in metrics:
        if m.model_role not in roles:
            roles.append(m.model_role)
        cells.setdefault(m.name, {})[m.model_role] = metric_cell(m)
    return roles, [(name, [row.get(role, "-") for role in roles]) for name, row in cells.items()]


def comparison_row(c: pb.MetricComparisonResult) -> list[str]:
    """metric, baseline, ``delta [low, high]``, p-value (with its test), verdict."""
    test = "AR" if c.test == "approximate_randomization" else "bootstrap"
    return [c.name, c.baseline_role, f"{signed(c.delta)} [{signed(c.ci_low)}, {signed(c.ci_high)}]",
            f"{c.p_value:.3g} ({test})", c.verdict]


def signatures(metrics: Sequence[pb.MetricResult]) -> dict[str, str]:
    """Each metric's signature (e.g. sacrebleu's), once per metric."""
    found: dict[str, str] = {}
    for m in metrics:
        if m.signature:
            found.setdefault(m.name, m.signature)
    return found


def progress_label(run: pb.EvaluationRun) -> str:
    """``generating 120/500`` while running, else the status."""
    p = run.progress
    if run.status != pb.EVALUATION_STATUS_RUNNING or not p.stage:
        return status_name(run.status)
    return f"{p.stage} {p.done}/{p.total}" if p.total else p.stage


def models_by_role(run: pb.EvaluationRun) -> dict[str, str]:
    """The versions evaluated, the candidate first and then the baselines in spec order: the resolved
    ``models:/name/N`` where the service has resolved them, else as the spec names them."""
    named = {CANDIDATE: run.spec.model_version, **{b.role: b.model_version for b in run.spec.baselines}}
    resolved = dict(run.resolved_models)
    return {role: resolved.get(role, named.get(role, "")) for role in [*named, *sorted(set(resolved) - set(named))]}


def when(stamp: Timestamp) -> str:
    return stamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S") if stamp.seconds or stamp.nanos else "-"


def run_summary(run: pb.EvaluationRun) -> dict[str, Any]:
    """A run as one flat object: id, status, the models by role, data, flat metrics, reports, error."""
    return {"run_id": run.run_id, "status": status_name(run.status),
            "model_version": run.spec.model_version, "resolved_models": dict(run.resolved_models),
            "dataset_version": run.spec.dataset_version, "split": run.spec.split,
            "metrics": dict(sorted(run.metrics.items())), "report_uri": run.report_uri or None,
            "html_report_uri": run.html_report_uri or None,
            "error": run.error.message if run.HasField("error") and run.error.message else None}


def comparison_cell(value: pb.RunMetricValue, baseline: str) -> str:
    """A run's value in ``compare``: the baseline's alone, another's with its absolute and relative
    difference from it."""
    if value.run_id == baseline:
        return number(value.value)
    relative = f", {value.relative_delta:+.1%}" if math.isfinite(value.relative_delta) else ""
    return f"{number(value.value)} ({signed(value.delta)}{relative})"


def compare_table(reply: pb.CompareRunsResponse) -> tuple[list[str], list[list[str]]]:
    """(run ids in reply order, rows: metric, a cell per run, the best run)."""
    runs: list[str] = []
    for comparison in reply.comparisons:
        runs.extend(v.run_id for v in comparison.values if v.run_id not in runs)
    rows = []
    for comparison in reply.comparisons:
        by_run = {v.run_id: comparison_cell(v, reply.baseline_run_id) for v in comparison.values}
        rows.append([comparison.metric_name, *(by_run.get(r, "-") for r in runs), comparison.best_run_id or "-"])
    return runs, rows


def win_rate_text(result: pb.ReviewResult) -> str:
    """``human_win_rate 0.62 [0.51, 0.73] at 95%: 31 wins, 17 losses, 2 ties``."""
    w = result.win_rate
    level = f" at {w.confidence:.0%}" if has_interval(w.ci_low, w.ci_high, w.confidence) else ""
    return (f"{w.name or 'human_win_rate'} {metric_cell(w)}{level}: {result.wins} wins, {result.losses} losses, "
            f"{result.ties} ties")


def review_lines(review: pb.Review) -> bytes:
    """The review's items as JSON Lines, for raters (they add ``choice`` and ``rater``)."""
    keys = ("item_id", "input", "reference", "output_a", "output_b")
    return b"".join(json.dumps({k: getattr(item, k) for k in keys}, ensure_ascii=False).encode() + b"\n"
                    for item in review.items)


def clip(text: str, limit: int = SAMPLE_CHARS) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def poll_run(run: pb.EvaluationRun, fetch: Callable[[str], pb.EvaluationRun],
             on_update: Callable[[pb.EvaluationRun], None], *, interval: float,
             sleep: Callable[[float], None] = time.sleep) -> pb.EvaluationRun:
    """Fetch the run every ``interval`` seconds, telling ``on_update``, until it has ended; the ended run."""
    on_update(run)
    while run.status not in ENDED:
        sleep(interval)
        run = fetch(run.run_id)
        on_update(run)
    return run


# -- rendering ---------------------------------------------------------------------------------------------


def _kv_table(title: str, rows: dict[str, str]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, value)
    return table


def show_report(report: pb.EvaluationReport, samples: int = 0) -> None:
    """The run, the metric table, the comparisons, up to ``samples`` sample results, the report URIs."""
    run = report.run
    rows = {"run id": run.run_id, "status": status_name(run.status),
            **{f"{role} model": uri for role, uri in models_by_role(run).items()},
            "dataset": f"{run.spec.dataset_version} ({run.spec.split or 'test'})",
            "prompt": run.spec.prompt_version or "-"}
    if run.spec.HasField("judge"):
        rows["judge"] = f"{run.spec.judge.model} with {run.spec.judge.prompt_version}"
    if run.HasField("error") and run.error.message:
        rows["error"] = run.error.message
    console.print(_kv_table(f"evaluation {run.run_id}", rows))
    if report.metrics:
        roles, metric_rows = metric_table(report.metrics)
        level = next((m.confidence for m in report.metrics if m.confidence > 0), 0.0)
        table = Table(title=f"metrics [{level:.0%} interval]" if level else "metrics")
        table.add_column("metric", no_wrap=True)
        for role in roles:
            table.add_column(role)
        for name, cells in metric_rows:
            table.add_row(name, *cells)
        console.print(table)
        for name, signature in signatures(report.metrics).items():
            console.print(f"{name}: {signature}")
    if report.comparisons:
        table = Table("metric", "baseline", "delta [interval]", "p", "verdict",
                      title="candidate against the baselines (paired, on the same examples)")
        for c in report.comparisons:
            *cells, verdict = comparison_row(c)
            table.add_row(*cells, Text(verdict, VERDICT_STYLES.get(verdict, "")))
        console.print(table)
    if samples > 0 and report.samples:
        table = Table("record", "role", "output", "reference", "error", title="samples")
        for s in report.samples[:samples]:
            table.add_row(s.record_id, s.model_role, clip(s.prediction), clip(s.reference), clip(s.error) or "-")
        console.print(table)
    for label, uri in (("report", run.report_uri), ("html report", run.html_report_uri)):
        if uri:
            console.print(f"{label}: {uri}")


def wait(run: pb.EvaluationRun, screen: Console, interval: float) -> pb.EvaluationRun:
    """A progress bar on ``screen`` (stage, done/total) until the run ends; the ended run."""
    columns = (TextColumn("{task.description}", markup=False), BarColumn(),
               TextColumn("{task.fields[count]}", markup=False))
    with Progress(*columns, console=screen, transient=True) as bar:
        task = bar.add_task(status_name(run.status), total=None, count="")

        def update(current: pb.EvaluationRun) -> None:
            p = current.progress
            bar.update(task, description=p.stage or status_name(current.status), completed=p.done,
                       total=p.total or None, count=f"{p.done}/{p.total}" if p.total else "")

        def fetch(run_id: str) -> pb.EvaluationRun:
            return client.call("GetEvaluationRun", pb.GetEvaluationRunRequest(run_id=run_id))

        return poll_run(run, fetch, update, interval=interval)


# -- commands ----------------------------------------------------------------------------------------------

RunId = Annotated[str, typer.Argument(help="Evaluation run id.")]


@eval_app.command("run")
def run_cmd(
    model: Annotated[str, typer.Argument(help="The candidate: models:/NAME/VERSION or models:/NAME@ALIAS.")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset version NAME@VERSION.")],
    split: Annotated[str, typer.Option("--split", help="Split to evaluate on.")] = "test",
    prompt: Annotated[str, typer.Option("--prompt", help="Prompt that renders each record: NAME@LABEL or "
                                                         "NAME/VERSION.")] = "",
    baseline: Annotated[list[str] | None, typer.Option(
        "--baseline", help="ROLE=models:/NAME/VERSION to compare with, e.g. champion=models:/qa@production "
                           "(repeatable).")] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Metric, comma separated or repeated "
                                                                      "(default: the service's set).")] = None,
    max_samples: Annotated[int, typer.Option("--max-samples", help="Examples to evaluate (0: all).")] = 0,
    judge_model: Annotated[str, typer.Option("--judge-model", help="Served model that judges every output, "
                                                                   "e.g. judge@production.")] = "",
    judge_prompt: Annotated[str, typer.Option("--judge-prompt", help="Its judge prompt, NAME@LABEL or "
                                                                     "NAME/VERSION.")] = "",
    confidence: Annotated[float | None, typer.Option("--confidence", help="Level of every interval, "
                                                                          "in (0.5, 1).")] = None,
    bootstrap_samples: Annotated[int | None, typer.Option("--bootstrap-samples",
                                                          help="Bootstrap resamples per interval.")] = None,
    wait_run: Annotated[bool, typer.Option("--wait", help="Show a progress bar until it ends, then the "
                                                          "report.")] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between progress checks.")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Start an evaluation run of MODEL (with --wait: a progress bar, then the metric table)."""
    spec = build_eval_spec(model=model, dataset=dataset, split=split, prompt=prompt, baselines=baseline,
                           metrics=metric, max_samples=max_samples, judge_model=judge_model,
                           judge_prompt=judge_prompt, confidence=confidence, bootstrap_samples=bootstrap_samples)
    finite(poll, "--poll", positive=True)
    run = client.call("RunEvaluation", pb.RunEvaluationRequest(spec=spec, request_id=str(uuid.uuid4())))
    if not as_json:
        console.print(Text.assemble("started evaluation ", (run.run_id, "bold")))
    if wait_run:
        run = wait(run, err_console if as_json else console, poll)
    if as_json:
        typer.echo(json.dumps(run_summary(run), separators=(",", ":")))
    elif run.status == pb.EVALUATION_STATUS_COMPLETED:
        show_report(client.call("GetReport", pb.GetReportRequest(run_id=run.run_id)))
    elif wait_run:
        console.print(Text.assemble("evaluation ", (run.run_id, "bold"), " ", ("failed", "red"), ": ",
                                    run.error.message or "no reason given"))
    if run.status == pb.EVALUATION_STATUS_FAILED:
        raise typer.Exit(1)


@eval_app.command("show")
def show(run_id: RunId,
         samples: Annotated[int, typer.Option("--samples", help="Sample results to print too.")] = 0,
         as_json: JsonOpt = False) -> None:
    """A run's report: metrics with intervals per model role, the comparisons, the report URIs."""
    if samples < 0:
        raise typer.BadParameter(f"{samples} is below 0", param_hint="--samples")
    report = client.call("GetReport", pb.GetReportRequest(run_id=run_id, sample_limit=samples))
    emit(report, as_json, lambda r: show_report(r, samples))


@eval_app.command("compare")
def compare(run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
            baseline: Annotated[str, typer.Option("--baseline", help="Baseline run (default: the first).")] = "",
            metric: Annotated[list[str] | None, typer.Option("--metric", help="Metrics to compare (repeatable; "
                                                                              "default: all shared).")] = None,
            as_json: JsonOpt = False) -> None:
    """Runs side by side: each metric's value per run, its difference from the baseline run, the best."""
    reply = client.call("CompareRuns", pb.CompareRunsRequest(run_ids=run_ids, baseline_run_id=baseline,
                                                             metric_names=metric or []))

    def render(reply: pb.CompareRunsResponse) -> None:
        runs, rows = compare_table(reply)
        table = Table("metric", *(f"{r} (baseline)" if r == reply.baseline_run_id else r for r in runs), "best",
                      title="evaluation runs compared")
        for row in rows:
            table.add_row(*row)
        console.print(table)

    emit(reply, as_json, render)


@eval_app.command("list")
def list_runs(model: Annotated[str, typer.Option("--model", help="Only runs of this model version.")] = "",
              dataset: Annotated[str, typer.Option("--dataset", help="Only runs on this dataset version.")] = "",
              status: Annotated[str, typer.Option("--status", help="Only runs in this state, e.g. "
                                                                   "completed.")] = "",
              page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "", as_json: JsonOpt = False) -> None:
    """Evaluation runs, newest first."""
    names = [v.name.removeprefix("EVALUATION_STATUS_").lower() for v in pb.EvaluationStatus.DESCRIPTOR.values
             if v.number]
    wanted = pb.EvaluationStatus.Value(f"EVALUATION_STATUS_{choice(status.lower(), names, '--status').upper()}") \
        if status else pb.EVALUATION_STATUS_UNSPECIFIED
    reply = client.call("ListEvaluationRuns", pb.ListEvaluationRunsRequest(
        model_version=model, dataset_version=dataset, status=wanted, page=page(page_size, page_token)))

    def render(reply: pb.ListEvaluationRunsResponse) -> None:
        table = Table("run id", "status", "model", "baselines", "dataset", "progress", "created")
        for run in reply.runs:
            table.add_row(run.run_id, status_name(run.status), run.spec.model_version,
                          ", ".join(b.role for b in run.spec.baselines) or "-",
                          f"{run.spec.dataset_version} ({run.spec.split or 'test'})", progress_label(run),
                          when(run.created_at))
        console.print(table)
        next_page(reply.page)

    emit(reply, as_json, render)


@eval_app.command("review-export")
def review_export(run_id: RunId,
                  baseline_role: Annotated[str, typer.Option("--baseline-role", help="Baseline set against the "
                                                                                     "candidate (default: the "
                                                                                     "first).")] = "",
                  size: Annotated[int, typer.Option("--size", help="Items to draw (0: the service's 100).")] = 0,
                  seed: Annotated[int, typer.Option("--seed", help="Seed of the draw and the A/B order.")] = 0,
                  out: Annotated[Path | None, typer.Option("-o", "--output", dir_okay=False,
                                                           help="Write the JSON Lines here (default: "
                                                                "stdout).")] = None,
                  as_json: Annotated[bool, typer.Option("--json", help="Print the reply as JSON instead of "
                                                                       "the lines.")] = False) -> None:
    """A blind A/B sample of a completed run for raters, as JSON Lines: item_id, input, reference,
    output_a, output_b (which output is the candidate's stays with the service)."""
    review = client.call("ExportReview", pb.ExportReviewRequest(run_id=run_id, baseline_role=baseline_role,
                                                                sample_size=size, seed=seed))
    lines = review_lines(review)
    if as_json:
        if out is not None:
            out.write_bytes(lines)
        typer.echo(json.dumps(to_dict(review), indent=2))
        return
    where = f"review {review.review_id}: {len(review.items)} items, {review.baseline_role} against the candidate"
    if review.uri:
        where += f" (also at {review.uri})"
    if out is None:
        typer.echo(lines.decode(), nl=False)
        err_console.print(where)
        return
    out.write_bytes(lines)
    console.print(f"{where}; written to {out}")
    console.print(f"add \"choice\" (a, b or tie) and \"rater\" to each line, then: llmops eval review-import "
                  f"{review.review_id} {out}")


@eval_app.command("review-import")
def review_import(review_id: Annotated[str, typer.Argument(help="Review id.")],
                  verdicts: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                                           help="JSON Lines of {item_id, choice, rater}.")],
                  as_json: JsonOpt = False) -> None:
    """Send raters' verdicts; prints the candidate's win rate (ties count half) with its interval."""
    with verdicts.open("rb") as file:
        parsed = parse_verdicts(file.read(MAX_VERDICT_BYTES + 1))
    result = client.call("ImportReviewVerdicts", pb.ImportReviewVerdictsRequest(review_id=review_id,
                                                                                verdicts=parsed))
    emit(result, as_json, lambda r: console.print(win_rate_text(r)))

