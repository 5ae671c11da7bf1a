"""The TrainingService servicer: translation only (parse, call one handler, convert)."""

from __future__ import annotations

import grpc

from llmops.training.v1 import training_pb2 as pb
from llmops.training.v1 import training_pb2_grpc as pb_grpc
from llmops_common import proto_convert
from llmops_common.auth import Role, caller
from llmops_common.bus import correlation_id
from llmops_common.grpc_server import GrpcService
from llmops_common.pagination import PageTokens
from llmops_training import handlers
from llmops_training.api import convert
from llmops_training.launcher import JobLauncher
from llmops_training.references import References
from llmops_training.settings import TrainingSettings
from llmops_training.store import RUNS_PAGE, RunQuery, UnitOfWorkFactory
from llmops_training.tracking import Tracker

SERVICE = pb.DESCRIPTOR.services_by_name["TrainingService"].full_name
Context = grpc.aio.ServicerContext

_ROLES = {
    Role.VIEWER: ("GetRun", "ListRuns", "StreamProgress", "GetSweep"),
    Role.DEVELOPER: ("SubmitRun", "CancelRun", "SubmitSweep"),
}
METHOD_ROLES = {f"/{SERVICE}/{method}": role for role, methods in _ROLES.items() for method in methods}



class TrainingServicer(pb_grpc.TrainingServiceServicer):
    def __init__(self, uow: UnitOfWorkFactory, references: References, launcher: JobLauncher,
                 settings: TrainingSettings, tracker: Tracker, page_tokens: PageTokens) -> None:
        self.uow, self.references, self.launcher, self.settings = uow, references, launcher, settings
        self.tracker, self.pages = tracker, page_tokens

    async def SubmitRun(self, request: pb.SubmitRunRequest, context: Context):
        cmd = handlers.SubmitRun(convert.spec_from_pb(request.spec), request.name, request.request_id)
        run = await handlers.submit_run(self.uow, self.references, self.settings, cmd, actor=caller(),
                                        correlation_id=correlation_id.get(), wake=self.tracker.wake)
        return convert.run(run)

    async def GetRun(self, request: pb.GetRunRequest, context: Context):
        return convert.run(await handlers.get_run(self.uow, request.run_id))

    async def ListRuns(self, request: pb.ListRunsRequest, context: Context):
        after, before = proto_convert.time_bounds(request.created, "created")
        query = RunQuery(convert.statuses_from_pb(list(request.statuses)), request.sweep_id, request.base_model,
                         request.dataset_version, after, before)
        rows, last = await handlers.list_runs(self.uow, query,
                                              proto_convert.page_request(self.pages, request.page, RUNS_PAGE))
        return pb.ListRunsResponse(runs=[convert.run(r) for r in rows],
                                   page=proto_convert.page_response(self.pages, last, RUNS_PAGE))

    async def CancelRun(self, request: pb.CancelRunRequest, context: Context):
        run = await handlers.cancel_run(self.uow, self.launcher, request.run_id, actor=caller(),
                                        reason=request.reason, correlation_id=correlation_id.get())
        self.tracker.wake()
        return convert.run(run)

    async def StreamProgress(self, request: pb.StreamProgressRequest, context: Context):
        async for point in handlers.stream_progress(self.uow, request.run_id, from_start=request.from_start,
                                                    hub=self.tracker.hub,
                                                    poll_seconds=self.settings.stream_poll_seconds):
            yield convert.progress_update(request.run_id, point)

    async def SubmitSweep(self, request: pb.SubmitSweepRequest, context: Context):
        cmd = handlers.SubmitSweep(convert.sweep_spec_from_pb(request.spec), request.name, request.request_id)
        sweep = await handlers.submit_sweep(self.uow, self.references, self.settings, cmd, actor=caller(),
                                            correlation_id=correlation_id.get(), wake=self.tracker.wake)
        return convert.sweep(sweep)

    async def GetSweep(self, request: pb.GetSweepRequest, context: Context):
        return convert.sweep(await handlers.get_sweep(self.uow, request.sweep_id))


def grpc_service(servicer: TrainingServicer) -> GrpcService:
    return GrpcService(
        add_to_server=pb_grpc.add_TrainingServiceServicer_to_server,
        servicer=servicer,
        full_name=SERVICE,
        method_roles=METHOD_ROLES,
    )
