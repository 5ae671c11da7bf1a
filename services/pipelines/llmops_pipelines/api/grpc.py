"""The PipelinesService servicer: translation only (parse, call one handler, convert)."""

from __future__ import annotations

import grpc

from llmops.pipelines.v1 import pipelines_pb2 as pb
from llmops.pipelines.v1 import pipelines_pb2_grpc as pb_grpc
from llmops_common import proto_convert
from llmops_common.auth import Role, caller
from llmops_common.grpc_server import GrpcService
from llmops_common.pagination import PageTokens
from llmops_pipelines import handlers
from llmops_pipelines.api import convert
from llmops_pipelines.store import PIPELINES_PAGE, RUNS_PAGE, RunQuery, UnitOfWorkFactory

SERVICE = pb.DESCRIPTOR.services_by_name["PipelinesService"].full_name
Context = grpc.aio.ServicerContext

_ROLES = {
    Role.VIEWER: ("GetPipeline", "ListPipelines", "GetRun", "ListRuns"),
    Role.DEVELOPER: ("StartRun", "ReproduceRun", "CancelRun"),
    Role.APPROVER: ("ApplyPipeline",),  # a definition sets the registry's alias policies
}
METHOD_ROLES = {f"/{SERVICE}/{method}": role for role, methods in _ROLES.items() for method in methods}


class PipelinesServicer(pb_grpc.PipelinesServiceServicer):
    def __init__(self, uow: UnitOfWorkFactory, services: handlers.Services, page_tokens: PageTokens,
                 wake) -> None:
        self.uow, self.services, self.pages, self.wake = uow, services, page_tokens, wake

    async def ApplyPipeline(self, request: pb.ApplyPipelineRequest, context: Context):
        stored = await handlers.apply_pipeline(self.uow, self.services.governance, request.definition_yaml,
                                               actor=caller())
        return convert.pipeline(stored)

    async def GetPipeline(self, request: pb.GetPipelineRequest, context: Context):
        return convert.pipeline(await handlers.get_pipeline(self.uow, request.name, request.version))

    async def ListPipelines(self, request: pb.ListPipelinesRequest, context: Context):
        rows, last = await handlers.list_pipelines(
            self.uow, proto_convert.page_request(self.pages, request.page, PIPELINES_PAGE))
        return pb.ListPipelinesResponse(pipelines=[convert.pipeline(p) for p in rows],
                                        page=proto_convert.page_response(self.pages, last, PIPELINES_PAGE))

    async def StartRun(self, request: pb.StartRunRequest, context: Context):
        run = await handlers.start_run(self.uow, self.services, request.pipeline,
                                       dataset_version=request.dataset_version, request_id=request.request_id,
                                       actor=caller())
        self.wake()
        return convert.run(run)

    async def GetRun(self, request: pb.GetRunRequest, context: Context):
        return convert.run(await handlers.get_run(self.uow, request.run_id))

    async def ListRuns(self, request: pb.ListRunsRequest, context: Context):
        statuses = (convert.STATUS_FROM[request.status],) if request.status in convert.STATUS_FROM else ()
        rows, last = await handlers.list_runs(self.uow, RunQuery(request.pipeline, statuses),
                                              proto_convert.page_request(self.pages, request.page, RUNS_PAGE))
        return pb.ListRunsResponse(runs=[convert.run(r) for r in rows],
                                   page=proto_convert.page_response(self.pages, last, RUNS_PAGE))

    async def ReproduceRun(self, request: pb.ReproduceRunRequest, context: Context):
        run = await handlers.reproduce_run(self.uow, self.services, request.run_id, request_id=request.request_id,
                                           actor=caller())
        self.wake()
        return convert.run(run)

    async def CancelRun(self, request: pb.CancelRunRequest, context: Context):
        return convert.run(await handlers.cancel_run(self.uow, request.run_id, reason=request.reason, actor=caller()))


def grpc_service(servicer: PipelinesServicer) -> GrpcService:
    return GrpcService(add_to_server=pb_grpc.add_PipelinesServiceServicer_to_server, servicer=servicer,
                       full_name=SERVICE, method_roles=METHOD_ROLES)
