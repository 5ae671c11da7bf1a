"""The evaluation service's use cases: start runs (by call or event), read them, compare them, and the
blind human review. Transports translate into these; the worker executes the runs."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.auth import Principal
from llmops_common.errors import AlreadyExists, DomainError, FailedPrecondition, InvalidArgument, NotFound
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted, EvaluationRunFailed
from llmops_common.events.training import TrainingRunCompleted
from llmops_common.pagination import Page
from llmops_common.storage import ArtifactStore
from llmops_common.templating.wire import template_from_wire
from llmops_common.validation import check_request_id, check_text, parse_uuid, quote
from llmops_evaluation.domain.results import CANDIDATE, MetricValue
from llmops_evaluation.domain.review import Review, Verdict
from llmops_evaluation.domain.run import EvaluationRun, RunStatus
from llmops_evaluation.domain.spec import MODEL_REF, Baseline, EvaluationSpec, GenerationParams
from llmops_evaluation.judge import check_template
from llmops_evaluation.metrics.suite import greater_is_better, known_metrics
from llmops_evaluation.references import References
from llmops_evaluation.report.build import read_outputs
from llmops_evaluation.reviewing import check_verdicts, draw_review, export_lines, score_review
from llmops_evaluation.settings import EvaluationSettings
from llmops_evaluation.store import RunQuery, UnitOfWorkFactory

TRAINING_CONSUMER = "evaluation-training-completed"
REQUEST_CONSUMER = "evaluation-run-requests"
MAX_REPORT_BYTES = 64 * 1024 * 1024
MAX_REVIEW_ITEMS = 10_000


@dataclass(frozen=True)
class StartRun:
    spec: EvaluationSpec
    request_id: str = ""


def parse_id(value: str, field: str, what: str = "evaluation run") -> str:
    return parse_uuid(value, field, what)


def check_spec(spec: EvaluationSpec) -> EvaluationSpec:
    spec.validate()
    known = known_metrics()
    for index, name in enumerate(spec.metrics):
        if name not in known:
            raise InvalidArgument(f"unknown metric {quote(name)}; known: {', '.join(sorted(known))}",
                                  field=f"spec.metrics[{index}].name")
    if spec.judge is None and "judge_score" in spec.metrics:
        raise InvalidArgument("judge_score needs a judge", field="spec.judge")
    return spec


async def preflight(refs: References, spec: EvaluationSpec) -> None:
    """Every reference the spec names exists (FAILED_PRECONDITION naming the one that does not)."""
    await refs.resolve_model(spec.model_version, "spec.model_version")
    for index, baseline in enumerate(spec.baselines):
        await refs.resolve_model(baseline.model_version, f"spec.baselines[{index}].model_version")
    await refs.resolve_dataset(spec.dataset_version, spec.split)
    if spec.prompt_version:
        await refs.resolve_prompt(spec.prompt_version, "spec.prompt_version")
    if spec.judge is not None:
        judge_prompt = await refs.resolve_prompt(spec.judge.prompt_version, "spec.judge.prompt_version")
        check_template(template_from_wire(judge_prompt.template), spec.judge.prompt_version)


async def start_run(uow: UnitOfWorkFactory, refs: References | None, cmd: StartRun, *, actor: Principal,
                    correlation_id: str | None = None, wake: Callable[[], None] | None = None) -> EvaluationRun:
    """Validate, check the references (when ``refs`` is given), and store the run PENDING for a worker.
    A repeated ``request_id`` returns the run it created."""
    if cmd.request_id:
        check_request_id(cmd.request_id)
        async with uow(readonly=True) as tx:
            existing = await tx.find_run_by_request(cmd.request_id)
        if existing is not None:
            return existing
    spec = check_spec(cmd.spec)
    if refs is not None:
        await preflight(refs, spec)
    run = EvaluationRun(str(uuid.uuid4()), spec, actor.name, request_id=cmd.request_id,
                        correlation_id=correlation_id or str(uuid.uuid4()))
    async with uow() as tx:
        try:
            stored = await tx.add_run(run)
        except AlreadyExists:
            found = await tx.find_run_by_request(cmd.request_id)
            if found is None:
                raise
            return found
        tx.audits.append(AuditEntry(actor.name, "evaluation.requested", run.run_id, correlation_id=run.correlation_id,
                                    detail={"model_version": spec.model_version,
                                            "dataset_version": spec.dataset_version}))
        await tx.commit()
    if wake:
        wake()
    return stored


async def on_training_completed(uow: UnitOfWorkFactory, refs: References, settings: EvaluationSettings,
                                envelope: Envelope[Any], *, actor: Principal,
                                wake: Callable[[], None] | None = None) -> EvaluationRun | None:
    """Evaluate a registered training output on its dataset's test split, with its prompt, against the
    version holding the champion alias (when one does, and it is not the candidate) and the base. The
    champion is pinned now, so a redelivery evaluates the same versions. None when there is nothing
    to evaluate (the run registered no version, or the trigger is off)."""
    payload: TrainingRunCompleted = envelope.payload
    match = MODEL_REF.fullmatch(payload.model_version or "")
    if not settings.champion_alias or match is None or not payload.dataset_version:
        return None
    baselines = []
    champion = await refs.champion(match["name"], settings.champion_alias)
    if champion is not None and champion.uri != payload.model_version:
        baselines.append(Baseline("champion", champion.uri))
    if payload.base_model_version and MODEL_REF.fullmatch(payload.base_model_version):
        baselines.append(Baseline("base", payload.base_model_version))
    spec = EvaluationSpec(payload.model_version, payload.dataset_version, settings.trigger_split,
                          payload.prompt_version, (), settings.trigger_max_samples,
                          GenerationParams(max_tokens=settings.trigger_max_tokens), payload.run_id, tuple(baselines),
                          bootstrap_samples=settings.bootstrap_samples)
    return await start_run(uow, None, StartRun(spec, f"event:{envelope.event_id}"), actor=actor,
                           correlation_id=envelope.correlation_id, wake=wake)


async def reject_request(uow: UnitOfWorkFactory, envelope: Envelope[Any], exc: DomainError) -> bool:
    """Answer a request that can never become a run with ``run.failed``, once per event."""
    async with uow() as tx:
        if not await tx.claim_event(REQUEST_CONSUMER, envelope.event_id):
            return False
        tx.follow(envelope)
        tx.emit(EvaluationRunFailed(evaluation_run_id="", reason=str(exc)[:2000], code=exc.code.value))
        await tx.commit()
    return True


async def get_run(uow: UnitOfWorkFactory, run_id: str) -> EvaluationRun:
    key = parse_id(run_id, "run_id")
    async with uow(readonly=True) as tx:
        run = await tx.get_run(key)
    if run is None:
        raise NotFound(f"evaluation run {quote(run_id)} not found", field="run_id")
    return run


async def list_runs(uow: UnitOfWorkFactory, query: RunQuery, page: Page) -> tuple[list[EvaluationRun], tuple | None]:
    check_text(query.model_version, "model_version", max_len=1024)
    check_text(query.dataset_version, "dataset_version", max_len=300)
    async with uow(readonly=True) as tx:
        runs = await tx.list_runs(query, page)
    return runs, page.next_key(runs, lambda r: (r.created_at, uuid.UUID(r.run_id)))


async def get_report(uow: UnitOfWorkFactory, artifacts: ArtifactStore, run_id: str) -> tuple[EvaluationRun, dict]:
    """The run and its JSON report (FAILED_PRECONDITION until it completed)."""
    run = await get_run(uow, run_id)
    if run.status is not RunStatus.COMPLETED or not run.report_uri:
        raise FailedPrecondition(f"evaluation run {run.run_id} is {run.status.value}; its report comes when it "
                                 "completes", field="run_id")
    return run, await asyncio.to_thread(_read_json, artifacts, run.report_uri)


def _read_json(artifacts: ArtifactStore, uri: str) -> dict:
    if artifacts.stat(uri).size > MAX_REPORT_BYTES:
        raise FailedPrecondition(f"the report at {uri} is too large to return", field="run_id")
    return json.loads(artifacts.get_bytes(uri))


@dataclass(frozen=True)
class RunValue:
    run_id: str
    value: float
    delta: float
    relative_delta: float


@dataclass(frozen=True)
class MetricRow:
    metric: str
    values: list[RunValue]
    best_run_id: str


async def compare_runs(uow: UnitOfWorkFactory, run_ids: list[str], baseline_run_id: str,
                       metric_names: list[str]) -> tuple[str, list[MetricRow]]:
    """Each metric of completed runs against the baseline run (the first when empty); the best in the
    metric's own direction. Only metrics every run has, unless named."""
    if len(run_ids) < 2 or len(run_ids) > 50:
        raise InvalidArgument("compare 2 to 50 runs", field="run_ids")
    runs = [await get_run(uow, r) for r in run_ids]
    for index, run in enumerate(runs):
        if run.status is not RunStatus.COMPLETED:
            raise FailedPrecondition(f"evaluation run {run.run_id} is {run.status.value}", field=f"run_ids[{index}]")
    base_id = parse_id(baseline_run_id, "baseline_run_id") if baseline_run_id else runs[0].run_id
    baseline = next((r for r in runs if r.run_id == base_id), None)
    if baseline is None:
        raise InvalidArgument("the baseline must be one of the compared runs", field="baseline_run_id")
    shared = set.intersection(*(set(_own_metrics(r)) for r in runs))
    names = metric_names or sorted(shared)
    rows = []
    for index, name in enumerate(names):
        if name not in shared:
            raise InvalidArgument(f"not every run has metric {quote(name)}", field=f"metric_names[{index}]")
        base = baseline.metrics[name]
        values = [RunValue(r.run_id, r.metrics[name], r.metrics[name] - base,
                           (r.metrics[name] - base) / abs(base) if base else math.nan) for r in runs]
        sign = 1.0 if greater_is_better(name) else -1.0
        rows.append(MetricRow(name, values, max(values, key=lambda v: sign * v.value).run_id))
    return baseline.run_id, rows


def _own_metrics(run: EvaluationRun) -> list[str]:
    """The candidate's own values: not intervals, p-values, comparisons or the baselines' values."""
    roles = tuple(f"_{b.role}" for b in run.spec.baselines)
    return [k for k in run.metrics if not k.endswith(("_ci_low", "_ci_high", "_p_value") + roles)
            and "_delta_" not in k]


async def export_review(uow: UnitOfWorkFactory, artifacts: ArtifactStore, settings: EvaluationSettings, run_id: str,
                        baseline_role: str, sample_size: int, seed: int, *, actor: Principal) -> Review:
    run = await get_run(uow, run_id)
    if run.status is not RunStatus.COMPLETED:
        raise FailedPrecondition(f"evaluation run {run.run_id} is {run.status.value}", field="run_id")
    roles = [b.role for b in run.spec.baselines]
    if not roles:
        raise FailedPrecondition("the run has no baseline to set against the candidate", field="baseline_role")
    role = baseline_role or roles[0]
    if role not in roles:
        raise InvalidArgument(f"the run has no baseline {quote(role)}; it has {', '.join(roles)}",
                              field="baseline_role")
    if not 0 <= sample_size <= MAX_REVIEW_ITEMS:
        raise InvalidArgument(f"sample_size must be 0..{MAX_REVIEW_ITEMS}", field="sample_size")
    outputs_uri = run.report_uri.rsplit("/", 1)[0] + "/outputs.jsonl"
    rows = read_outputs(await asyncio.to_thread(artifacts.get_bytes, outputs_uri))
    review_id = str(uuid.uuid4())
    review = draw_review(run.run_id, role, rows, sample_size or 100, seed, review_id)
    uri = f"{run.report_uri.rsplit('/', 1)[0]}/reviews/{review_id}.jsonl"
    await asyncio.to_thread(artifacts.put_bytes, uri, export_lines(review), content_type="application/jsonl")
    review = replace(review, uri=uri, created_by=actor.name)
    async with uow() as tx:
        stored = await tx.add_review(review)
        await tx.commit()
    return stored


async def import_verdicts(uow: UnitOfWorkFactory, settings: EvaluationSettings, review_id: str,
                          verdicts: list[Verdict], *, actor: Principal) -> tuple[Review, int, int, int, MetricValue]:
    """Store the verdicts and attach the candidate's win rate so far to its version (through
    ``evaluation.run.completed``; each import is a new result, the latest counts)."""
    key = parse_id(review_id, "review_id", "review")
    async with uow() as tx:
        review = await tx.get_review(key)
        if review is None:
            raise NotFound(f"review {quote(review_id)} not found", field="review_id")
        checked = check_verdicts(review, verdicts)
        run = await tx.get_run(review.run_id)
        await tx.put_verdicts(key, checked)
        everything = await tx.verdicts(key)
        wins, losses, ties, rate = score_review(review, everything, confidence=run.spec.confidence,
                                                bootstrap_samples=settings.bootstrap_samples,
                                                seed=settings.statistics_seed)
        candidate = run.resolved_models.get(CANDIDATE, "")
        match = MODEL_REF.fullmatch(candidate)
        if match is not None and match["version"]:
            metrics = {"human_win_rate": rate.value, "human_verdicts": float(rate.count)}
            if rate.interval is not None:
                metrics |= {"human_win_rate_ci_low": rate.interval.low, "human_win_rate_ci_high": rate.interval.high}
            tx.emit(EvaluationRunCompleted(
                evaluation_run_id=f"review-{key}-{len(everything)}", model_name=match["name"],
                model_version=int(match["version"]), metrics={k: v for k, v in metrics.items() if math.isfinite(v)},
                report_uri=review.uri, dataset_version=run.spec.dataset_version,
                baselines={review.baseline_role: run.resolved_models.get(review.baseline_role, "")}),
                correlation_id=run.correlation_id)
        tx.audits.append(AuditEntry(actor.name, "review.verdicts", key, correlation_id=run.correlation_id,
                                    detail={"verdicts": len(checked)}))
        await tx.commit()
    return review, wins, losses, ties, rate
