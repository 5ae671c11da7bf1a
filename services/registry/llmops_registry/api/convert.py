"""Domain entities <-> protobuf messages."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from llmops.registry.v1 import registry_pb2 as pb

from llmops_common.errors import InvalidArgument
from llmops_registry.domain.model import (
    CreateModelVersion,
    EvaluationResult,
    Lineage,
    ModelKind,
    ModelVersion,
    RegisteredModel,
    RegisterModel,
)

_KIND_TO_PB = {
    ModelKind.BASE: pb.MODEL_KIND_BASE,
    ModelKind.ADAPTER: pb.MODEL_KIND_ADAPTER,
    ModelKind.MERGED: pb.MODEL_KIND_MERGED,
}
_KIND_FROM_PB = {v: k for k, v in _KIND_TO_PB.items()}


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def register_model_command(request: pb.CreateRegisteredModelRequest) -> RegisterModel:
    return RegisterModel(request.name, request.description, dict(request.tags))


def create_version_command(request: pb.CreateModelVersionRequest) -> CreateModelVersion:
    kind = _KIND_FROM_PB.get(request.kind)
    if kind is None:
        raise InvalidArgument("set kind to BASE, ADAPTER or MERGED", field="kind")
    lineage = request.lineage
    return CreateModelVersion(
        model_name=request.model_name,
        artifact_uri=request.artifact_uri,
        kind=kind,
        base_model_version=request.base_model_version,
        format=request.format,
        tags=dict(request.tags),
        lineage=Lineage(
            tuple(lineage.dataset_versions), lineage.prompt_version, lineage.training_run_id,
            lineage.code_version, lineage.config_hash,
        ),
        request_id=request.request_id,
    )


def registered_model(model: RegisteredModel) -> pb.RegisteredModel:
    return pb.RegisteredModel(
        name=model.name,
        description=model.description,
        tags=model.tags,
        created_at=timestamp(model.created_at),
        updated_at=timestamp(model.updated_at),
        latest_version=model.latest_version,
    )


def evaluation(result: EvaluationResult) -> pb.EvaluationResult:
    return pb.EvaluationResult(
        evaluation_run_id=result.evaluation_run_id,
        metrics=result.metrics,
        report_uri=result.report_uri,
        completed_at=timestamp(result.completed_at),
    )


def model_version(version: ModelVersion) -> pb.ModelVersion:
    lineage = version.lineage
    return pb.ModelVersion(
        model_name=version.model_name,
        version=version.version,
        artifact_uri=version.artifact_uri,
        kind=_KIND_TO_PB[version.kind],
        base_model_version=version.base_model_version,
        format=version.format,
        size_bytes=version.size_bytes,
        sha256=version.sha256,
        tags=version.tags,
        lineage=pb.Lineage(
            dataset_versions=list(lineage.dataset_versions), prompt_version=lineage.prompt_version,
            training_run_id=lineage.training_run_id, code_version=lineage.code_version,
            config_hash=lineage.config_hash,
        ),
        evaluations=[evaluation(e) for e in version.evaluations],
        created_at=timestamp(version.created_at),
        created_by=version.created_by,
    )
