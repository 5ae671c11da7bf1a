"""Domain entities <-> protobuf messages."""

from __future__ import annotations

from datetime import UTC

from llmops.registry.v1 import registry_pb2 as pb
from llmops_common.audit import AuditEntry
from llmops_common.auth import Role
from llmops_common.errors import InvalidArgument
from llmops_common.proto_convert import from_struct, struct, timestamp
from llmops_registry.domain.governance import (
    AliasPolicy,
    MetricGate,
    Pin,
    Promotion,
    PromotionStatus,
    Release,
    RequestPromotion,
    Rollback,
    SetAlias,
)
from llmops_registry.domain.model import (
    CreateModelVersion,
    EvaluationResult,
    Lineage,
    ModelKind,
    ModelVersion,
    RegisteredModel,
    RegisterModel,
)
from llmops_registry.lineage import Graph

_KIND_TO_PB = {
    ModelKind.BASE: pb.MODEL_KIND_BASE,
    ModelKind.ADAPTER: pb.MODEL_KIND_ADAPTER,
    ModelKind.MERGED: pb.MODEL_KIND_MERGED,
}
_KIND_FROM_PB = {v: k for k, v in _KIND_TO_PB.items()}


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


def _pin(request: pb.SetAliasRequest | pb.RequestPromotionRequest) -> Pin:
    return Pin(request.version, request.prompt_version, from_struct(request.sampling_parameters))


def set_alias_command(request: pb.SetAliasRequest) -> SetAlias:
    return SetAlias(request.model_name, request.alias, _pin(request), request.reason,
                    request.expected_version or None)


def rollback_command(request: pb.RollbackRequest) -> Rollback:
    return Rollback(request.model_name, request.alias, request.reason)


def request_promotion_command(request: pb.RequestPromotionRequest) -> RequestPromotion:
    return RequestPromotion(request.model_name, request.alias, _pin(request), request.reason, request.request_id)


def registered_model(model: RegisteredModel) -> pb.RegisteredModel:
    return pb.RegisteredModel(
        name=model.name,
        description=model.description,
        tags=model.tags,
        created_at=timestamp(model.created_at),
        updated_at=timestamp(model.updated_at),
        latest_version=model.latest_version,
        aliases=model.aliases,
    )


def evaluation(result: EvaluationResult) -> pb.EvaluationResult:
    return pb.EvaluationResult(
        evaluation_run_id=result.evaluation_run_id,
        metrics=result.metrics,
        report_uri=result.report_uri,
        completed_at=timestamp(result.reported_at),
        attached_by=result.attached_by,
        trusted=result.trusted,
        recorded_at=timestamp(result.recorded_at),
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
        aliases=list(version.aliases),
    )


# -- governance ------------------------------------------------------------------------------------------

_STATUS_TO_PB = {
    PromotionStatus.PENDING: pb.PROMOTION_STATUS_PENDING,
    PromotionStatus.APPROVED: pb.PROMOTION_STATUS_APPROVED,
    PromotionStatus.REJECTED: pb.PROMOTION_STATUS_REJECTED,
    PromotionStatus.GATES_FAILED: pb.PROMOTION_STATUS_GATES_FAILED,
    PromotionStatus.SUPERSEDED: pb.PROMOTION_STATUS_SUPERSEDED,
}
_STATUS_FROM_PB = {v: k for k, v in _STATUS_TO_PB.items()}
_NODE_KINDS = {
    "dataset_version": pb.LINEAGE_NODE_KIND_DATASET_VERSION,
    "prompt_version": pb.LINEAGE_NODE_KIND_PROMPT_VERSION,
    "training_run": pb.LINEAGE_NODE_KIND_TRAINING_RUN,
    "model_version": pb.LINEAGE_NODE_KIND_MODEL_VERSION,
    "evaluation_run": pb.LINEAGE_NODE_KIND_EVALUATION_RUN,
    "alias": pb.LINEAGE_NODE_KIND_ALIAS,
    "deployment": pb.LINEAGE_NODE_KIND_DEPLOYMENT,
    "code_version": pb.LINEAGE_NODE_KIND_CODE_VERSION,
}


def kind_from_pb(value: int) -> ModelKind | None:
    return _KIND_FROM_PB.get(value)


def status_from_pb(value: int) -> PromotionStatus | None:
    return _STATUS_FROM_PB.get(value)


def release(value: Release) -> pb.Release:
    return pb.Release(
        model_name=value.model_name, alias=value.alias, version=value.version, prompt_version=value.prompt_version,
        sampling_parameters=struct(value.sampling_parameters), updated_at=timestamp(value.updated_at),
        updated_by=value.updated_by,
    )


def gate(value: MetricGate) -> pb.MetricGate:
    return pb.MetricGate(metric_name=value.metric, threshold=value.threshold,
                         min_absolute_change=value.min_absolute_change,
                         min_relative_change=value.min_relative_change, greater_is_better=value.greater_is_better)


def policy(value: AliasPolicy) -> pb.AliasPolicy:
    return pb.AliasPolicy(
        model_name=value.model_name, alias=value.alias, protected=value.protected,
        gates=[gate(g) for g in value.gates], required_approvals=value.required_approvals,
        approver_role=value.approver_role.name.lower(), auto_request_on_evaluation=value.auto_request_on_evaluation,
        updated_at=timestamp(value.updated_at), updated_by=value.updated_by,
    )


def policy_from_pb(value: pb.AliasPolicy) -> AliasPolicy:
    gates = tuple(
        MetricGate(
            g.metric_name,
            g.threshold if g.HasField("threshold") else None,
            g.min_absolute_change if g.HasField("min_absolute_change") else None,
            g.min_relative_change if g.HasField("min_relative_change") else None,
            g.greater_is_better,
        )
        for g in value.gates
    )
    try:
        approver_role = Role.parse(value.approver_role or "approver")
    except InvalidArgument as exc:
        raise InvalidArgument(exc.message, field="policy.approver_role") from None
    return AliasPolicy(value.model_name, value.alias, value.protected, gates, value.required_approvals,
                       approver_role, value.auto_request_on_evaluation)


def promotion(value: Promotion) -> pb.PromotionRequest:
    return pb.PromotionRequest(
        id=value.id, model_name=value.model_name, alias=value.alias, version=value.version,
        prompt_version=value.prompt_version, sampling_parameters=struct(value.sampling_parameters),
        status=_STATUS_TO_PB[value.status], requested_by=value.requested_by, reason=value.reason,
        gate_results=[
            pb.GateResult(gate=gate(r.gate), passed=r.passed, candidate_value=r.candidate_value,
                          current_value=r.current_value, message=r.message)
            for r in value.gate_results
        ],
        decisions=[pb.PromotionDecision(actor=d.actor, approved=d.approved, comment=d.comment,
                                        decided_at=timestamp(d.decided_at)) for d in value.decisions],
        required_approvals=value.required_approvals, previous_version=value.previous_version or 0,
        created_at=timestamp(value.created_at), closed_at=timestamp(value.closed_at),
    )


def audit_event(value: AuditEntry) -> pb.AuditEvent:
    return pb.AuditEvent(
        id=str(value.id), occurred_at=timestamp(value.occurred_at), actor=value.actor, action=value.action,
        model_name=value.subject, version=value.version or 0, alias=value.alias or "", reason=value.reason,
        before=struct(value.before) if value.before is not None else None,
        after=struct(value.after) if value.after is not None else None, correlation_id=value.correlation_id or "",
    )


def lineage_graph(graph: Graph) -> pb.GetLineageResponse:
    return pb.GetLineageResponse(
        root_id=graph.root_id,
        nodes=[pb.LineageNode(id=n.id, kind=_NODE_KINDS[n.kind], ref=n.ref, attributes=n.attributes)
               for n in graph.nodes.values()],
        edges=[pb.LineageEdge(from_id=e.from_id, to_id=e.to_id, relation=e.relation) for e in graph.edges],
    )


def evaluation_from_pb(value: pb.EvaluationResult) -> EvaluationResult:
    """The submitter's ``completed_at`` is kept only as ``reported_at``; ``attached_by``, ``trusted`` and
    ``recorded_at`` are the registry's to set and are ignored here."""
    reported = value.completed_at.ToDatetime(UTC) if value.HasField("completed_at") else None
    return EvaluationResult(value.evaluation_run_id, dict(value.metrics), value.report_uri, reported)
