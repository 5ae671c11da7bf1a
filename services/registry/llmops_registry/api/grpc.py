"""The RegistryService servicer: translation only (parse, call one handler, convert)."""

from __future__ import annotations

import grpc

from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc as pb_grpc
from llmops_common import proto_convert
from llmops_common.auth import Role, caller
from llmops_common.bus import correlation_id
from llmops_common.grpc_server import GrpcService
from llmops_common.pagination import PageTokens
from llmops_common.storage import ArtifactInspector
from llmops_registry import handlers, releases
from llmops_registry.api import convert
from llmops_registry.lineage import lineage
from llmops_registry.store import (
    AUDIT_PAGE,
    MODELS_PAGE,
    PROMOTIONS_PAGE,
    VERSIONS_PAGE,
    AuditQuery,
    ModelQuery,
    PromotionQuery,
    UnitOfWorkFactory,
    VersionQuery,
)

SERVICE = pb.DESCRIPTOR.services_by_name["RegistryService"].full_name
Context = grpc.aio.ServicerContext

_ROLES = {
    Role.VIEWER: ("GetRegisteredModel", "ListRegisteredModels", "GetModelVersion", "SearchModelVersions", "Resolve",
                  "GetRelease", "GetPolicy", "GetPromotion", "ListPromotions", "GetLineage", "ListAuditEvents"),
    # Rollback of a protected alias additionally needs approver (checked by the handler).
    Role.DEVELOPER: ("CreateRegisteredModel", "CreateModelVersion", "SetAlias", "DeleteAlias", "RequestPromotion",
                     "AttachEvaluation", "Rollback"),
    Role.APPROVER: ("ApprovePromotion", "RejectPromotion"),
    Role.ADMIN: ("SetPolicy",),
}
METHOD_ROLES = {f"/{SERVICE}/{method}": role for role, methods in _ROLES.items() for method in methods}



def _ctx() -> dict:
    return {"actor": caller(), "correlation_id": correlation_id.get()}


class RegistryServicer(pb_grpc.RegistryServiceServicer):
    def __init__(self, uow: UnitOfWorkFactory, artifacts: ArtifactInspector, page_tokens: PageTokens) -> None:
        self.uow, self.artifacts, self.pages = uow, artifacts, page_tokens

    # models and versions

    async def CreateRegisteredModel(self, request: pb.CreateRegisteredModelRequest, context: Context):
        model = await handlers.register_model(self.uow, convert.register_model_command(request), **_ctx())
        return convert.registered_model(model)

    async def GetRegisteredModel(self, request: pb.GetRegisteredModelRequest, context: Context):
        return convert.registered_model(await handlers.get_model(self.uow, request.name))

    async def ListRegisteredModels(self, request: pb.ListRegisteredModelsRequest, context: Context):
        rows, last = await handlers.list_models(self.uow, ModelQuery(request.name_prefix, dict(request.tags)),
                                                proto_convert.page_request(self.pages, request.page, MODELS_PAGE))
        return pb.ListRegisteredModelsResponse(models=[convert.registered_model(m) for m in rows],
                                               page=proto_convert.page_response(self.pages, last, MODELS_PAGE))

    async def CreateModelVersion(self, request: pb.CreateModelVersionRequest, context: Context):
        version = await handlers.create_model_version(self.uow, self.artifacts, convert.create_version_command(request),
                                                      **_ctx())
        return convert.model_version(version)

    async def GetModelVersion(self, request: pb.GetModelVersionRequest, context: Context):
        return convert.model_version(await handlers.get_model_version(self.uow, request.model_name, request.version))

    async def SearchModelVersions(self, request: pb.SearchModelVersionsRequest, context: Context):
        after, before = proto_convert.time_bounds(request.created, "created")
        query = VersionQuery(request.model_name, request.name_prefix, dict(request.tags),
                             convert.kind_from_pb(request.kind), request.base_model_version, request.alias,
                             after, before)
        rows, last = await handlers.search_versions(
            self.uow, query, proto_convert.page_request(self.pages, request.page, VERSIONS_PAGE))
        return pb.SearchModelVersionsResponse(versions=[convert.model_version(v) for v in rows],
                                              page=proto_convert.page_response(self.pages, last, VERSIONS_PAGE))

    async def AttachEvaluation(self, request: pb.AttachEvaluationRequest, context: Context):
        version = await handlers.attach_evaluation_command(
            self.uow, request.model_name, request.version, convert.evaluation_from_pb(request.evaluation), **_ctx())
        return convert.model_version(version)

    # aliases and releases

    async def SetAlias(self, request: pb.SetAliasRequest, context: Context):
        release, previous = await releases.set_alias(self.uow, convert.set_alias_command(request), **_ctx())
        return pb.SetAliasResponse(release=convert.release(release),
                                   previous_version=previous.version if previous else 0)

    async def DeleteAlias(self, request: pb.DeleteAliasRequest, context: Context):
        removed = await releases.delete_alias(self.uow, request.model_name, request.alias, reason=request.reason,
                                              **_ctx())
        return pb.DeleteAliasResponse(previous_version=removed.version)

    async def Resolve(self, request: pb.ResolveRequest, context: Context):
        version, release = await releases.resolve(self.uow, request.uri)
        return pb.ResolveResponse(model_version=convert.model_version(version),
                                  release=convert.release(release) if release else None)

    async def GetRelease(self, request: pb.GetReleaseRequest, context: Context):
        return convert.release(await releases.get_release(self.uow, request.model_name, request.alias))

    async def Rollback(self, request: pb.RollbackRequest, context: Context):
        release, previous = await releases.rollback(self.uow, convert.rollback_command(request), **_ctx())
        return pb.RollbackResponse(release=convert.release(release),
                                   previous_version=previous.version if previous else 0)

    # governance

    async def SetPolicy(self, request: pb.SetPolicyRequest, context: Context):
        policy = await releases.set_policy(self.uow, convert.policy_from_pb(request.policy), reason=request.reason,
                                           **_ctx())
        return convert.policy(policy)

    async def GetPolicy(self, request: pb.GetPolicyRequest, context: Context):
        return convert.policy(await releases.get_policy(self.uow, request.model_name, request.alias))

    async def RequestPromotion(self, request: pb.RequestPromotionRequest, context: Context):
        promotion = await releases.request_promotion(self.uow, convert.request_promotion_command(request), **_ctx())
        return convert.promotion(promotion)

    async def ApprovePromotion(self, request: pb.ApprovePromotionRequest, context: Context):
        return convert.promotion(await releases.approve_promotion(self.uow, request.promotion_id,
                                                                  comment=request.comment, **_ctx()))

    async def RejectPromotion(self, request: pb.RejectPromotionRequest, context: Context):
        return convert.promotion(await releases.reject_promotion(self.uow, request.promotion_id,
                                                                 reason=request.reason, **_ctx()))

    async def GetPromotion(self, request: pb.GetPromotionRequest, context: Context):
        return convert.promotion(await releases.get_promotion(self.uow, request.promotion_id))

    async def ListPromotions(self, request: pb.ListPromotionsRequest, context: Context):
        query = PromotionQuery(request.model_name, request.alias, convert.status_from_pb(request.status))
        rows, last = await releases.list_promotions(
            self.uow, query, proto_convert.page_request(self.pages, request.page, PROMOTIONS_PAGE))
        return pb.ListPromotionsResponse(promotions=[convert.promotion(p) for p in rows],
                                         page=proto_convert.page_response(self.pages, last, PROMOTIONS_PAGE))

    # lineage and audit

    async def GetLineage(self, request: pb.GetLineageRequest, context: Context):
        graph = await lineage(self.uow, request.model_name, request.version, max_depth=request.max_depth)
        return convert.lineage_graph(graph)

    async def ListAuditEvents(self, request: pb.ListAuditEventsRequest, context: Context):
        after, before = proto_convert.time_bounds(request.occurred, "occurred")
        query = AuditQuery(request.model_name, request.actor, request.action, after, before)
        rows, last = await handlers.list_audit(self.uow, query,
                                               proto_convert.page_request(self.pages, request.page, AUDIT_PAGE))
        return pb.ListAuditEventsResponse(events=[convert.audit_event(e) for e in rows],
                                          page=proto_convert.page_response(self.pages, last, AUDIT_PAGE))


def grpc_service(uow: UnitOfWorkFactory, artifacts: ArtifactInspector, page_tokens: PageTokens) -> GrpcService:
    return GrpcService(
        add_to_server=pb_grpc.add_RegistryServiceServicer_to_server,
        servicer=RegistryServicer(uow, artifacts, page_tokens),
        full_name=SERVICE,
        method_roles=METHOD_ROLES,
    )
