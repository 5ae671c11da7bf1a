"""The use cases: apply a definition, start, reproduce and cancel runs, the triggers (a dataset version,
a schedule, an alert), the answers that move a run's step (training, evaluation and registry events),
and the driver's pass over due runs. Every change commits with its events (outbox) and audit rows."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from llmops_common.audit import AuditEntry
from llmops_common.auth import Principal
from llmops_common.bus import is_permanent as is_permanent_error
from llmops_common.errors import AlreadyExists, DomainError, FailedPrecondition, InvalidArgument, NotFound
from llmops_common.events import Envelope, EventPayload
from llmops_common.pagination import Page
from llmops_common.validation import check_request_id, check_text, quote
from llmops_pipelines.domain import run as machine
from llmops_pipelines.domain.pipeline import StoredPipeline
from llmops_pipelines.domain.policy import DATASET_REF, parse_definition
from llmops_pipelines.domain.reproduction import compare
from llmops_pipelines.domain.requests import evaluation_request, promotion_request, training_request
from llmops_pipelines.domain.run import PipelineRun, RunStatus, Step, StepStatus, Trigger
from llmops_pipelines.governance import Governance, PromotionOutcome
from llmops_pipelines.store import PipelinesUnitOfWork, RunQuery, UnitOfWorkFactory

ACTOR = "pipelines"
DATASET_CONSUMER = "pipelines-datasets"
ALERT_CONSUMER = "pipelines-alerts"
ANSWER_CONSUMER = "pipelines-answers"  # suffixed with the answering context
MAX_REASON = 1000
log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """What the handlers that act on runs need besides the store."""

    governance: Governance
    code_version: str  # recorded on every run and passed to training
    recheck_seconds: float = 60.0  # how often a waiting promotion is looked at again


# -- definitions ----------------------------------------------------------------------------------------


async def apply_pipeline(uow: UnitOfWorkFactory, governance: Governance, text: str, *, actor: Principal,
                         at: datetime | None = None) -> StoredPipeline:
    """Validate the definition and store it as the next version, after setting its registry policies;
    the same definition as the latest version returns that version unchanged."""
    definition = parse_definition(text)
    digest = definition.digest()
    async with uow(readonly=True) as tx:
        latest = await tx.get_pipeline(definition.name)
    if latest is not None and latest.digest == digest:
        return latest
    await governance.apply_policies(definition, reason=f"pipeline {definition.name} applied by {actor.name}")
    at = at or now()
    every = definition.trigger.every_seconds
    pipeline = StoredPipeline(definition, 0, text, digest, actor.name,
                              next_scheduled_at=at + timedelta(seconds=every) if every else None)
    async with uow() as tx:
        stored = await tx.add_pipeline(pipeline)
        tx.audits.append(AuditEntry(actor.name, "pipeline.applied", stored.name, version=stored.version,
                                    detail={"digest": digest, "version": stored.version}))
        await tx.commit()
    return stored


async def get_pipeline(uow: UnitOfWorkFactory, name: str, version: int = 0) -> StoredPipeline:
    check_text(name, "name", max_len=128)
    if version < 0:
        raise InvalidArgument("must not be negative", field="version")
    async with uow(readonly=True) as tx:
        pipeline = await tx.get_pipeline(name, version)
    if pipeline is None:
        raise NotFound(f"pipeline {quote(name)}{f' version {version}' if version else ''} not found", field="name")
    return pipeline


async def list_pipelines(uow: UnitOfWorkFactory, page: Page) -> tuple[list[StoredPipeline], tuple | None]:
    async with uow(readonly=True) as tx:
        rows = await tx.list_pipelines(page)
    return rows, page.next_key(rows, lambda p: (p.name,))


# -- runs -----------------------------------------------------------------------------------------------


async def start_run(uow: UnitOfWorkFactory, services: Services, pipeline_name: str, *, dataset_version: str = "",
                    request_id: str = "", actor: Principal) -> PipelineRun:
    """A run of the pipeline's latest version on ``dataset_version`` (default: the newest version seen of
    its dataset); a repeated ``request_id`` returns the run it started."""
    check_request_id(request_id)
    if dataset_version:
        check_text(dataset_version, "dataset_version", max_len=300)
        match = DATASET_REF.fullmatch(dataset_version)
        if match is None or not match["version"]:
            raise InvalidArgument(f"{quote(dataset_version)} is not <dataset>@<version>", field="dataset_version")
    pipeline = await get_pipeline(uow, pipeline_name)
    if request_id:
        async with uow(readonly=True) as tx:
            if existing := await tx.find_run_by_request(request_id):
                return existing
    async with uow() as tx:
        run = await _new_run(tx, services, pipeline, Trigger.MANUAL, dataset_version, actor.name,
                             dataset_version=dataset_version, request_id=request_id)
        try:
            await tx.commit()
        except AlreadyExists:
            async with uow(readonly=True) as again:
                return await again.find_run_by_request(request_id) or run
    return run


async def get_run(uow: UnitOfWorkFactory, run_id: str) -> PipelineRun:
    check_text(run_id, "run_id", max_len=100)
    async with uow(readonly=True) as tx:
        run = await tx.get_run(run_id)
    if run is None:
        raise NotFound(f"pipeline run {quote(run_id)} not found", field="run_id")
    return run


async def list_runs(uow: UnitOfWorkFactory, query: RunQuery, page: Page) -> tuple[list[PipelineRun], tuple | None]:
    check_text(query.pipeline, "pipeline", max_len=128)
    async with uow(readonly=True) as tx:
        rows = await tx.list_runs(query, page)
    return rows, page.next_key(rows, lambda r: (r.created_at, uuid.UUID(r.run_id)))


async def reproduce_run(uow: UnitOfWorkFactory, services: Services, run_id: str, *, request_id: str = "",
                        actor: Principal) -> PipelineRun:
    """Train and evaluate again with the original's exact dataset, prompt and base versions, its
    definition (configuration and seed), code version and champion; nothing is promoted."""
    check_request_id(request_id)
    original = await get_run(uow, run_id)
    train, evaluate = original.step("train"), original.step("evaluate")
    if original.status.active or evaluate.status is not StepStatus.SUCCEEDED:
        raise FailedPrecondition(f"run {original.run_id} has not finished its training and evaluation "
                                 f"(it is {original.status.value}); only those can be reproduced", field="run_id")
    if request_id:
        async with uow(readonly=True) as tx:
            if existing := await tx.find_run_by_request(request_id):
                return existing
    inputs = {**original.inputs, "dataset_version": train.outputs["dataset_version"],
              "base_model": train.outputs["base_model_version"]}
    if train.outputs.get("prompt_version"):
        inputs["prompt_version"] = train.outputs["prompt_version"]
    inputs["executed_code_version"] = services.code_version
    run = PipelineRun(str(uuid.uuid4()), original.pipeline, original.pipeline_version, original.definition,
                      Trigger.REPRODUCE, original.run_id, inputs, reproduces=original.run_id, created_by=actor.name,
                      request_id=request_id)
    async with uow() as tx:
        await _add(tx, run, actor.name, "run.reproduce")
        await tx.commit()
    return run


async def cancel_run(uow: UnitOfWorkFactory, run_id: str, *, reason: str = "", actor: Principal) -> PipelineRun:
    check_text(reason, "reason", max_len=MAX_REASON)
    async with uow() as tx:
        run = await tx.get_run(run_id, lock=True)
        if run is None:
            raise NotFound(f"pipeline run {quote(run_id)} not found", field="run_id")
        if not run.status.active:
            raise FailedPrecondition(f"run {run.run_id} is {run.status.value}", field="run_id")
        _emit(tx, run, machine.cancel(run, now(), reason or f"cancelled by {actor.name}"))
        tx.audits.append(AuditEntry(actor.name, "run.cancelled", run.run_id, reason=reason,
                                    correlation_id=run.correlation_id))
        await tx.save_run(run)
        await tx.commit()
    return run


async def _new_run(tx: PipelinesUnitOfWork, services: Services, pipeline: StoredPipeline, trigger: Trigger,
                   detail: str, created_by: str, *, dataset_version: str = "", request_id: str = "") -> PipelineRun:
    definition = pipeline.definition
    if not dataset_version:
        dataset = definition.training_dataset
        dataset_version = await tx.newest_dataset(dataset) if dataset else None
        if not dataset_version:
            raise FailedPrecondition(f"no version of dataset {quote(dataset)} has been ingested yet; name one"
                                     if dataset else "the pipeline names no dataset; name a dataset version",
                                     field="dataset_version")
    seed = definition.train.spec.get("hyperparameters", {}).get("seed", 0)
    inputs = {"dataset_version": dataset_version, "base_model": definition.train.base_model,
              "code_version": services.code_version, "seed": str(seed)}
    if definition.train.prompt_version:
        inputs["prompt_version"] = definition.train.prompt_version
    run = PipelineRun(str(uuid.uuid4()), pipeline.name, pipeline.version, definition, trigger, detail, inputs,
                      created_by=created_by, request_id=request_id)
    await _add(tx, run, created_by, f"run.started.{trigger.value}")
    return run


async def _add(tx: PipelinesUnitOfWork, run: PipelineRun, actor: str, action: str) -> None:
    events = machine.start(run, now())
    await tx.add_run(run)
    tx.audits.append(AuditEntry(actor, action, run.run_id, version=run.pipeline_version,
                                detail={"pipeline": run.pipeline, "pipeline_version": run.pipeline_version,
                                        "trigger_detail": run.trigger_detail},
                                correlation_id=run.correlation_id))
    _emit(tx, run, events)


def _emit(tx: PipelinesUnitOfWork, run: PipelineRun, events: list[EventPayload]) -> None:
    for payload in events:
        tx.emit(payload, run.correlation_id)


# -- triggers -------------------------------------------------------------------------------------------


async def on_dataset_ingested(uow: UnitOfWorkFactory, services: Services, envelope: Envelope[Any]) -> list[str]:
    """Remember the dataset's newest version, and start a run of every pipeline it triggers, on it."""
    payload = envelope.payload
    version = f"{payload.dataset_name}@{payload.version}"
    async with uow() as tx:
        if not await tx.claim_event(DATASET_CONSUMER, envelope.event_id):
            return []
        await tx.note_dataset(payload.dataset_name, payload.version, envelope.occurred_at)
        started = [await _new_run(tx, services, p, Trigger.DATASET, version, ACTOR, dataset_version=version)
                   for p in await tx.pipelines_on_dataset(payload.dataset_name)]
        await tx.commit()
    return [r.run_id for r in started]


async def on_alert_raised(uow: UnitOfWorkFactory, services: Services, envelope: Envelope[Any]) -> list[str]:
    """Start a run, on the newest data, of every pipeline that retrains on this kind of alert about its
    model's versions; a pipeline with a run still going is skipped (that run already takes the newest data)."""
    payload = envelope.payload
    model_name = payload.model_version.removeprefix("models:/").split("/")[0].split("@")[0]
    started: list[str] = []
    async with uow() as tx:
        if not await tx.claim_event(ALERT_CONSUMER, envelope.event_id):
            return []
        if model_name:
            for pipeline in await tx.pipelines_on_alert(payload.kind, model_name):
                started += await _start_unless_active(tx, services, pipeline, Trigger.ALERT,
                                                      payload.alert_id or str(envelope.event_id))
        await tx.commit()
    return started


async def _start_unless_active(tx: PipelinesUnitOfWork, services: Services, pipeline: StoredPipeline,
                               trigger: Trigger, detail: str) -> list[str]:
    if await tx.active_runs(pipeline.name):
        tx.audits.append(AuditEntry(ACTOR, f"trigger.skipped.{trigger.value}", pipeline.name, version=pipeline.version,
                                    reason="a run of the pipeline is still going", detail={"detail": detail}))
        return []
    try:
        run = await _new_run(tx, services, pipeline, trigger, detail, ACTOR)
    except FailedPrecondition as exc:
        tx.audits.append(AuditEntry(ACTOR, f"trigger.skipped.{trigger.value}", pipeline.name,
                                    version=pipeline.version, reason=exc.message, detail={"detail": detail}))
        return []
    return [run.run_id]


async def fire_schedules(uow: UnitOfWorkFactory, services: Services, at: datetime) -> list[str]:
    """Start a run of every pipeline whose schedule is due, and set its next time."""
    started: list[str] = []
    while True:
        async with uow() as tx:
            pipeline = await tx.due_schedule(at)
            if pipeline is None:
                return started
            every = timedelta(seconds=pipeline.definition.trigger.every_seconds)
            await tx.set_next_schedule(pipeline.name, at + every)
            started += await _start_unless_active(tx, services, pipeline, Trigger.SCHEDULE,
                                                  pipeline.next_scheduled_at.isoformat())
            await tx.commit()


# -- answers --------------------------------------------------------------------------------------------


async def on_answer(uow: UnitOfWorkFactory, envelope: Envelope[Any]) -> bool:
    """Apply a training, evaluation or registry event to the run it answers (by correlation id, or by
    the promotion it waits on); an event for no run, or for a step the run is no longer on, changes
    nothing. Once per event (inbox)."""
    context = envelope.type.split(".")[1]
    async with uow() as tx:
        if not await tx.claim_event(f"{ANSWER_CONSUMER}-{context}", envelope.event_id):
            return False
        run = await _answered_run(tx, envelope)
        step = run.current if run else None
        changed = step is not None and _apply_answer(tx, run, step, envelope)
        if changed:
            if run.reproduces and run.status is RunStatus.SUCCEEDED:
                await _compare(tx, run)
            await tx.save_run(run)
        await tx.commit()
    return changed


async def _answered_run(tx: PipelinesUnitOfWork, envelope: Envelope[Any]) -> PipelineRun | None:
    if envelope.type.startswith("llmops.registry.promotion."):
        return await tx.run_awaiting(envelope.payload.request_id)
    return await tx.get_run(envelope.correlation_id, lock=True)


def _apply_answer(tx: PipelinesUnitOfWork, run: PipelineRun, step: Step, envelope: Envelope[Any]) -> bool:
    kind, payload, at = envelope.type, envelope.payload, now()
    waiting = step.status is StepStatus.REQUESTED
    events: list[EventPayload] = []
    if step.kind == "train" and waiting and kind == "llmops.training.run.completed":
        machine.record(run, step, at, {"training_run_id": payload.run_id, "model_version": payload.model_version,
                                       "adapter_uri": payload.adapter_uri,
                                       "base_model_version": payload.base_model_version,
                                       "dataset_version": payload.dataset_version,
                                       "prompt_version": payload.prompt_version, "config_hash": payload.config_hash},
                       payload.metrics)
        if not _is_version_of(payload.model_version, run.definition.model_name):
            events = machine.fail(run, step, at, f"training registered {quote(payload.model_version)}, not a version"
                                  f" of {run.definition.model_name}", permanent=True)
        else:
            events = machine.succeed(run, step, at)
    elif step.kind == "train" and waiting and kind == "llmops.training.run.failed":
        events = machine.fail(run, step, at, payload.reason, permanent=machine.is_permanent(payload.code))
    elif step.kind == "evaluate" and waiting and kind == "llmops.evaluation.run.completed" \
            and _is_candidate(run, payload.model_name, payload.model_version):
        machine.record(run, step, at, {"evaluation_run_id": payload.evaluation_run_id,
                                       "report_uri": payload.report_uri or "",
                                       "html_report_uri": payload.html_report_uri}, payload.metrics)
        events = _evaluated(run, step, at)
    elif step.kind == "evaluate" and waiting and kind == "llmops.registry.evaluation.attached" \
            and _is_candidate(run, payload.model_name, payload.version):
        machine.record(run, step, at, {"attached_run_id": payload.evaluation_run_id})
        events = _evaluated(run, step, at)
    elif step.kind == "evaluate" and waiting and kind == "llmops.evaluation.run.failed":
        events = machine.fail(run, step, at, payload.reason, permanent=machine.is_permanent(payload.code))
    elif step.kind == "promote" and step.status is StepStatus.WAITING_APPROVAL \
            and kind == "llmops.registry.promotion.approved" and _decides(run, step, payload):
        machine.record(run, step, at, {"approvals": str(payload.approvals), "approved_by": payload.approved_by})
        if payload.approvals < payload.required_approvals:
            return True
        events = machine.succeed(run, step, at)
    elif step.kind == "promote" and step.status is StepStatus.WAITING_APPROVAL \
            and kind == "llmops.registry.promotion.rejected" and _decides(run, step, payload):
        events = machine.reject(run, step, at, f"rejected by {payload.rejected_by}: {payload.reason}")
    else:
        return False
    _emit(tx, run, events)
    return True


def _is_candidate(run: PipelineRun, model_name: str, version: int) -> bool:
    """Whether an answer is about the version this run trained (evaluations and decisions of other
    versions can share a correlation id or a request id only by mistake or forgery)."""
    return model_name == run.definition.model_name \
        and f"models:/{model_name}/{version}" == run.output("train", "model_version")


def _decides(run: PipelineRun, step: Step, payload: Any) -> bool:
    """A registry decision moves the step only when it is about the run's version, to the step's alias."""
    return payload.alias == step.alias and _is_candidate(run, payload.model_name, payload.version)


def _is_version_of(model_version: str, model_name: str) -> bool:
    name, _, version = model_version.removeprefix("models:/").rpartition("/")
    return model_version.startswith("models:/") and name == model_name and version.isascii() \
        and version.isdigit() and 0 < int(version) < 2**63


def _evaluated(run: PipelineRun, step: Step, at: datetime) -> list[EventPayload]:
    """The evaluate step needs both answers: the results, and the registry's note that it attached
    them (the gates of the promotion that follows read them there)."""
    ran = step.outputs.get("evaluation_run_id")
    if ran and ran == step.outputs.get("attached_run_id"):
        return machine.succeed(run, step, at)
    return []


# -- the driver -----------------------------------------------------------------------------------------


async def drive_due_runs(uow: UnitOfWorkFactory, services: Services, *, limit: int = 100) -> int:
    """Act on up to ``limit`` runs whose ``due_at`` has come, each in its own transaction."""
    done = 0
    while done < limit:
        async with uow() as tx:
            run = await tx.due_run(now())
            if run is None:
                return done
            try:
                await _drive(tx, services, run)
            except psycopg.Error:
                raise  # an outage: the run stays due, the next pass tries again
            except Exception as exc:  # a defect must not block the runs due after this one
                log.exception("pipeline run %s failed in the driver", run.run_id)
                step = run.current
                tx.events.clear()
                _emit(tx, run, machine.fail(run, step, now(), f"internal error: {type(exc).__name__}", permanent=True)
                      if step else [])
            await tx.save_run(run)
            await tx.commit()
        done += 1
    return done


async def _drive(tx: PipelinesUnitOfWork, services: Services, run: PipelineRun) -> None:
    at = now()
    step = run.current
    if step is None:  # not reached: a finished run has no due_at
        run.due_at = None
        return
    events: list[EventPayload] = []
    if step.status is StepStatus.PENDING:
        machine.begin_attempt(step)
        try:
            events = await _request(tx, services, run, step, at)
        except DomainError as exc:
            events = machine.fail(run, step, at, exc.message if not exc.field else str(exc),
                                  permanent=is_permanent_error(exc))
    elif step.status is StepStatus.REQUESTED:
        events = machine.fail(run, step, at, f"no answer within {_timeout(run, step):g} s", permanent=False)
    elif step.status is StepStatus.WAITING_APPROVAL:
        events = await _recheck_promotion(services, run, step, at)
    _emit(tx, run, events)


async def _request(tx: PipelinesUnitOfWork, services: Services, run: PipelineRun, step: Step,
                   at: datetime) -> list[EventPayload]:
    definition = run.definition
    if step.kind == "train":
        tx.emit(training_request(run), run.correlation_id)
        machine.requested(run, step, at, definition.train.timeout_seconds)
        return []
    if step.kind == "evaluate":
        await _pin_evaluation_inputs(tx, services, run)
        tx.emit(evaluation_request(run), run.correlation_id)
        machine.requested(run, step, at, definition.evaluate.timeout_seconds)
        return []
    promotion = await services.governance.request_promotion(promotion_request(run, step.alias))
    step.outputs["promotion_id"] = promotion.promotion_id
    return _promotion_outcome(services, run, step, at, promotion)


def _promotion_outcome(services: Services, run: PipelineRun, step: Step, at: datetime, promotion) -> list[EventPayload]:
    if promotion.outcome is PromotionOutcome.APPROVED:
        return machine.succeed(run, step, at)
    if promotion.outcome is PromotionOutcome.REFUSED:
        return machine.reject(run, step, at, promotion.reason)
    machine.wait_for_approval(run, step, at, promotion.promotion_id, services.recheck_seconds)
    return []


async def _recheck_promotion(services: Services, run: PipelineRun, step: Step, at: datetime) -> list[EventPayload]:
    try:
        promotion = await services.governance.request_promotion(promotion_request(run, step.alias))
    except DomainError:
        promotion = None  # the registry is away: look again later, fail at the deadline
    if promotion is not None and promotion.outcome is not PromotionOutcome.PENDING:
        return _promotion_outcome(services, run, step, at, promotion)
    if step.deadline is not None and at >= step.deadline:
        return machine.fail(run, step, at, f"no decision on promotion {step.outputs.get('promotion_id', '')} within "
                            f"{_timeout(run, step):g} s", permanent=True)
    machine.wait_for_approval(run, step, at, step.outputs.get("promotion_id", ""), services.recheck_seconds)
    return []


async def _pin_evaluation_inputs(tx: PipelinesUnitOfWork, services: Services, run: PipelineRun) -> None:
    """The evaluation dataset and the champion, pinned the first time the step is requested (a retry
    and a reproduction evaluate against the same ones)."""
    evaluate = run.definition.evaluate
    if "evaluation_dataset" not in run.inputs:
        ref = evaluate.dataset
        match = DATASET_REF.fullmatch(ref) if ref else None
        if not ref:
            pinned = run.output("train", "dataset_version")
        elif match and match["version"]:
            pinned = ref
        else:
            pinned = await tx.newest_dataset(ref) or ""
            if not pinned:
                raise FailedPrecondition(f"no version of dataset {quote(ref)} has been ingested yet",
                                         field="evaluate.dataset")
        run.inputs["evaluation_dataset"] = pinned
    if "champion" in evaluate.compare_with and "champion_version" not in run.inputs:
        champion = await services.governance.alias_version(run.definition.model_name, evaluate.champion_alias)
        run.inputs["champion_version"] = champion or ""


async def _compare(tx: PipelinesUnitOfWork, run: PipelineRun) -> None:
    original = await tx.get_run(run.reproduces)
    if original is None:
        run.comparison = []
        return
    run.comparison = compare(original.step("evaluate").metrics, run.step("evaluate").metrics)


def _timeout(run: PipelineRun, step: Step) -> float:
    definition = run.definition
    if step.kind == "train":
        return definition.train.timeout_seconds
    if step.kind == "evaluate":
        return definition.evaluate.timeout_seconds
    return definition.promotion(step.alias).timeout_seconds
