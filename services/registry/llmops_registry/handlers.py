"""The registry's use cases. Each takes its dependencies as arguments and runs in one unit of work."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from llmops_common.errors import FailedPrecondition, NotFound
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.events.registry import ModelVersionCreated
from llmops_common.storage import ArtifactInspector, StoredObject
from llmops_registry.domain.model import (
    CreateModelVersion,
    EvaluationResult,
    ModelVersion,
    RegisteredModel,
    RegisterModel,
)
from llmops_registry.store import UnitOfWorkFactory

log = logging.getLogger(__name__)

PRODUCER = "registry"
EVALUATION_CONSUMER = "registry-evaluation-results"


async def register_model(uow: UnitOfWorkFactory, cmd: RegisterModel) -> RegisteredModel:
    cmd.validate()
    async with uow() as tx:
        model = await tx.create_model(RegisteredModel(cmd.name, cmd.description, dict(cmd.tags)))
        await tx.commit()
    return model


async def get_model(uow: UnitOfWorkFactory, name: str) -> RegisteredModel:
    async with uow() as tx:
        model = await tx.get_model(name)
    if model is None:
        raise NotFound(f"registered model {name!r} not found", field="name")
    return model


async def describe_artifact(artifacts: ArtifactInspector, uri: str) -> StoredObject:
    """Size and digest of what is stored at ``uri``; FAILED_PRECONDITION when nothing is."""
    try:
        return await asyncio.to_thread(artifacts.describe, uri)
    except NotFound:
        raise FailedPrecondition(f"no artifact stored at {uri}", field="artifact_uri") from None


async def create_model_version(
    uow: UnitOfWorkFactory, artifacts: ArtifactInspector, cmd: CreateModelVersion, *, actor: str, correlation_id: str | None
) -> ModelVersion:
    """Register an immutable version; a repeated ``request_id`` returns the version it created."""
    cmd.validate()
    if cmd.request_id:
        async with uow() as tx:
            existing = await tx.find_version_by_request(cmd.model_name, cmd.request_id)
        if existing is not None:
            return existing
    stored = await describe_artifact(artifacts, cmd.artifact_uri)
    async with uow() as tx:
        number = await tx.next_version(cmd.model_name)
        if number is None:
            raise NotFound(f"registered model {cmd.model_name!r} not found", field="model_name")
        if cmd.request_id and (existing := await tx.find_version_by_request(cmd.model_name, cmd.request_id)):
            return existing  # a concurrent retry won; this transaction rolls back
        version = await tx.add_version(
            ModelVersion(
                model_name=cmd.model_name, version=number, artifact_uri=cmd.artifact_uri, kind=cmd.kind,
                base_model_version=cmd.base_model_version, format=cmd.format, size_bytes=stored.size,
                sha256=stored.sha256, tags=dict(cmd.tags), lineage=cmd.lineage, created_by=actor,
                request_id=cmd.request_id,
            )
        )
        tx.emit(
            Envelope.wrap(
                ModelVersionCreated(
                    model_name=version.model_name, version=version.version, artifact_uri=version.artifact_uri,
                    kind=version.kind.value, base_model_version=version.base_model_version or None,
                    training_run_id=version.lineage.training_run_id or None,
                ),
                producer=PRODUCER,
                correlation_id=correlation_id,
            )
        )
        await tx.commit()
    return version


async def get_model_version(uow: UnitOfWorkFactory, model_name: str, version: int) -> ModelVersion:
    async with uow() as tx:
        found = await tx.get_version(model_name, version)
    if found is None:
        raise NotFound(f"model version {model_name}/{version} not found", field="version")
    return found


async def record_evaluation(uow: UnitOfWorkFactory, envelope: Envelope[Any]) -> bool:
    """Attach an evaluation's results to its model version, once per event (inbox) and per run.

    Raises NotFound for an unknown model version, so the bus retries it and then dead-letters it.
    """
    payload: EvaluationRunCompleted = envelope.payload
    async with uow() as tx:
        if not await tx.claim_event(EVALUATION_CONSUMER, envelope.event_id):
            return False
        if await tx.get_version(payload.model_name, payload.model_version) is None:
            raise NotFound(f"model version {payload.model_name}/{payload.model_version} not found")
        attached = await tx.add_evaluation(
            payload.model_name,
            payload.model_version,
            EvaluationResult(payload.evaluation_run_id, dict(payload.metrics), payload.report_uri or "",
                             envelope.occurred_at),
        )
        await tx.commit()
    return attached
