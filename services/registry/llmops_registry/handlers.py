"""The registry's use cases for models, versions, evaluations, deployments, search, lineage and audit.

Each takes its dependencies as arguments and runs in one unit of work; every state change writes one
audit row and one event, together, at commit. Alias moves and promotions are in ``releases``.
Deployments are the exception: they record what serving reports, not a change the registry makes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, replace
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.auth import Principal
from llmops_common.errors import FailedPrecondition, InvalidArgument, NotFound
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.events.registry import EvaluationAttached, ModelCreated, ModelVersionCreated
from llmops_common.events.serving import DeploymentUpdated
from llmops_common.pagination import Page
from llmops_common.storage import ArtifactInspector, StoredObject
from llmops_common.validation import quote
from llmops_registry.domain.deployment import DeploymentSwitch
from llmops_registry.domain.governance import Pin, RequestPromotion, parse_model_uri, trusts_evaluations_from
from llmops_registry.domain.model import (
    CreateModelVersion,
    EvaluationResult,
    ModelKind,
    ModelVersion,
    RegisteredModel,
    RegisterModel,
)
from llmops_registry.releases import open_promotion
from llmops_registry.store import AuditQuery, ModelQuery, RegistryUnitOfWork, UnitOfWorkFactory, VersionQuery

log = logging.getLogger(__name__)

EVALUATION_CONSUMER = "registry-evaluation-results"
EVALUATION_ACTOR = "evaluation-service"
DEPLOYMENT_CONSUMER = "registry-serving-deployments"


async def register_model(uow: UnitOfWorkFactory, cmd: RegisterModel, *, actor: Principal,
                         correlation_id: str | None = None) -> RegisteredModel:
    cmd.validate()
    async with uow() as tx:
        model = await tx.create_model(RegisteredModel(cmd.name, cmd.description, dict(cmd.tags)))
        tx.record(
            AuditEntry(actor.name, "model.created", model.name, after={"description": model.description,
                                                                        "tags": model.tags},
                       correlation_id=correlation_id),
            ModelCreated(model_name=model.name),
        )
        await tx.commit()
    return model


async def get_model(uow: UnitOfWorkFactory, name: str) -> RegisteredModel:
    async with uow(readonly=True) as tx:
        model = await tx.get_model(name)
    if model is None:
        raise NotFound(f"registered model {quote(name)} not found", field="name")
    return model


async def list_models(uow: UnitOfWorkFactory, query: ModelQuery,
                      page: Page) -> tuple[list[RegisteredModel], tuple | None]:
    async with uow(readonly=True) as tx:
        rows = await tx.list_models(query, page)
    return rows, page.next_key(rows, lambda m: (m.name,))


async def describe_artifact(artifacts: ArtifactInspector, uri: str) -> StoredObject:
    """Size and digest of what is stored at ``uri``; FAILED_PRECONDITION when nothing is."""
    try:
        return await asyncio.to_thread(artifacts.describe, uri)
    except NotFound:
        raise FailedPrecondition(f"no artifact stored at {uri}", field="artifact_uri") from None


async def _check_base(tx: RegistryUnitOfWork, cmd: CreateModelVersion) -> None:
    if cmd.kind is ModelKind.BASE:
        return
    ref = parse_model_uri(cmd.base_model_version, field_name="base_model_version")
    if ref.version is None:
        raise InvalidArgument("name the base as models:/<name>/<version>", field="base_model_version")
    base = await tx.get_version(ref.model_name, ref.version)
    if base is None:
        raise FailedPrecondition(f"base model version {quote(cmd.base_model_version)} does not exist",
                                 field="base_model_version")


async def create_model_version(
    uow: UnitOfWorkFactory, artifacts: ArtifactInspector, cmd: CreateModelVersion, *, actor: Principal,
    correlation_id: str | None = None,
) -> ModelVersion:
    """Register an immutable version; a repeated ``request_id`` returns the version it created."""
    cmd.validate()
    if cmd.request_id:
        async with uow(readonly=True) as tx:
            existing = await tx.find_version_by_request(cmd.model_name, cmd.request_id)
        if existing is not None:
            return existing
    stored = await describe_artifact(artifacts, cmd.artifact_uri)
    async with uow() as tx:
        await _check_base(tx, cmd)
        number = await tx.next_version(cmd.model_name)
        if number is None:
            raise NotFound(f"registered model {quote(cmd.model_name)} not found", field="model_name")
        if cmd.request_id and (existing := await tx.find_version_by_request(cmd.model_name, cmd.request_id)):
            return existing  # a concurrent retry won; this transaction rolls back
        version = await tx.add_version(
            ModelVersion(
                model_name=cmd.model_name, version=number, artifact_uri=cmd.artifact_uri, kind=cmd.kind,
                base_model_version=cmd.base_model_version, format=cmd.format, size_bytes=stored.size,
                sha256=stored.sha256, tags=dict(cmd.tags), lineage=cmd.lineage, created_by=actor.name,
                request_id=cmd.request_id,
            )
        )
        tx.record(
            AuditEntry(actor.name, "model_version.created", version.model_name, version.version,
                       after={"artifact_uri": version.artifact_uri, "kind": version.kind.value,
                              "sha256": version.sha256, "lineage": asdict(version.lineage)},
                       correlation_id=correlation_id),
            ModelVersionCreated(
                model_name=version.model_name, version=version.version, artifact_uri=version.artifact_uri,
                kind=version.kind.value, base_model_version=version.base_model_version or None,
                training_run_id=version.lineage.training_run_id or None,
            ),
        )
        await tx.commit()
    return version


async def get_model_version(uow: UnitOfWorkFactory, model_name: str, version: int) -> ModelVersion:
    async with uow(readonly=True) as tx:
        found = await tx.get_version(model_name, version)
    if found is None:
        raise NotFound(f"model version {quote(model_name)}/{version} not found", field="version")
    return found


async def search_versions(uow: UnitOfWorkFactory, query: VersionQuery,
                          page: Page) -> tuple[list[ModelVersion], tuple | None]:
    async with uow(readonly=True) as tx:
        rows = await tx.search_versions(query, page)
    return rows, page.next_key(rows, lambda v: (v.model_name, v.version))


async def attach_evaluation(
    tx: RegistryUnitOfWork, model_name: str, version: int, result: EvaluationResult, *, actor: str, trusted: bool,
    correlation_id: str | None,
) -> bool:
    """Attach results in the caller's unit of work, recorded with who attached them and whether gates
    may count them; the store stamps the time. False when this run was attached already."""
    if not result.evaluation_run_id:
        raise InvalidArgument("an evaluation needs its run id", field="evaluation.evaluation_run_id")
    if await tx.get_version(model_name, version) is None:
        raise NotFound(f"model version {quote(model_name)}/{version} not found", field="version")
    if not await tx.add_evaluation(model_name, version, replace(result, attached_by=actor, trusted=trusted)):
        return False
    tx.record(
        AuditEntry(actor, "evaluation.attached", model_name, version,
                   after={"evaluation_run_id": result.evaluation_run_id, "metrics": result.metrics,
                          "trusted": trusted},
                   correlation_id=correlation_id),
        EvaluationAttached(model_name=model_name, version=version, evaluation_run_id=result.evaluation_run_id,
                           metrics=result.metrics),
    )
    return True


async def attach_evaluation_command(
    uow: UnitOfWorkFactory, model_name: str, version: int, result: EvaluationResult, *, actor: Principal,
    correlation_id: str | None = None,
) -> ModelVersion:
    """Attach results over the API: trusted only from a key with the service role (the evaluation
    service's identity); anyone else's are kept, marked untrusted, and gates ignore them."""
    async with uow() as tx:
        await attach_evaluation(tx, model_name, version, result, actor=actor.name,
                                trusted=trusts_evaluations_from(actor.role), correlation_id=correlation_id)
        await tx.commit()
    return await get_model_version(uow, model_name, version)


async def record_evaluation(uow: UnitOfWorkFactory, envelope: Envelope[Any]) -> bool:
    """Consume ``evaluation.run.completed``: attach trusted results once per event (inbox) and per run,
    then open a promotion on every alias whose policy asks for it; the events recorded follow the
    incoming one. Raises NotFound for an unknown version, which the bus dead-letters at once (no retry
    can create it)."""
    payload: EvaluationRunCompleted = envelope.payload
    async with uow() as tx:
        if not await tx.claim_event(EVALUATION_CONSUMER, envelope.event_id):
            return False
        tx.follow(envelope)
        result = EvaluationResult(payload.evaluation_run_id, dict(payload.metrics), payload.report_uri or "",
                                  reported_at=envelope.occurred_at)
        attached = await attach_evaluation(tx, payload.model_name, payload.model_version, result,
                                           actor=EVALUATION_ACTOR, trusted=True, correlation_id=envelope.correlation_id)
        if attached:
            for policy in await tx.auto_request_policies(payload.model_name):
                cmd = RequestPromotion(payload.model_name, policy.alias, Pin(payload.model_version),
                                       reason=f"evaluation {payload.evaluation_run_id} completed")
                await open_promotion(tx, policy, cmd, requested_by=EVALUATION_ACTOR,
                                     correlation_id=envelope.correlation_id)
        await tx.commit()
    return attached


async def record_deployment(uow: UnitOfWorkFactory, envelope: Envelope[Any]) -> bool:
    """Consume ``serving.deployment.updated``: record, once per event (inbox), the version a replica now
    serves, for lineage. No audit row or event of the registry's own: the switch is serving's fact, kept
    by its event id in the deployment history. An invalid payload (InvalidArgument) or an unknown version
    (NotFound) raises, and the bus dead-letters it at once."""
    payload: DeploymentUpdated = envelope.payload
    switch = DeploymentSwitch(envelope.event_id, payload.deployment, payload.replica, payload.model_name,
                              payload.version, payload.alias, envelope.occurred_at, payload.previous_version,
                              payload.prompt_version or "")
    switch.validate(payload.model_version_uri)
    async with uow() as tx:
        if not await tx.claim_event(DEPLOYMENT_CONSUMER, envelope.event_id):
            return False
        if await tx.get_version(switch.model_name, switch.version) is None:
            raise NotFound(f"model version {quote(switch.model_name)}/{switch.version} not found", field="version")
        await tx.record_deployment(switch)
        await tx.commit()
    return True


async def list_audit(uow: UnitOfWorkFactory, query: AuditQuery, page: Page) -> tuple[list[AuditEntry], tuple | None]:
    async with uow(readonly=True) as tx:
        rows = await tx.list_audit(query, page)
    return rows, page.next_key(rows, lambda e: (e.id,))
