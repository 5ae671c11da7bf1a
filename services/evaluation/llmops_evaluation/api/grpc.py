"""The EvaluationService servicer: translation only (parse, call one handler, convert)."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from llmops.evaluation.v1 import evaluation_pb2 as pb
from llmops.evaluation.v1 import evaluation_pb2_grpc as pb_grpc
from llmops_common import proto_convert
from llmops_common.auth import Role, caller
from llmops_common.bus import correlation_id
from llmops_common.grpc_server import GrpcService
from llmops_common.pagination import PageTokens
from llmops_common.storage import ArtifactStore
from llmops_evaluation import handlers
from llmops_evaluation.api import convert
from llmops_evaluation.references import References
from llmops_evaluation.settings import EvaluationSettings
from llmops_evaluation.store import RUNS_PAGE, RunQuery, UnitOfWorkFactory

SERVICE = pb.DESCRIPTOR.services_by_name["EvaluationService"].full_name
Context = grpc.aio.ServicerContext

_ROLES = {
    Role.VIEWER: ("GetEvaluationRun", "ListEvaluationRuns", "GetReport", "CompareRuns"),
    Role.DEVELOPER: ("RunEvaluation", "ExportReview", "ImportReviewVerdicts"),
}
METHOD_ROLES = {f"/{SERVICE}/{method}": role for role, methods in _ROLES.items() for method in methods}


class EvaluationServicer(pb_grpc.EvaluationServiceServicer):
    def __init__(self, uow: UnitOfWorkFactory, references: References, artifacts: ArtifactStore,
                 settings: EvaluationSettings, page_tokens: PageTokens, wake: Callable[[], None]) -> None:
        self.uow, self.references, self.artifacts, self.settings = uow, references, artifacts, settings
        self.pages, self.wake = page_tokens, wake

    async def RunEvaluation(self, request: pb.RunEvaluationRequest, context: Context):
        spec = convert.spec_from_pb(request.spec, default_bootstrap=self.settings.bootstrap_samples)
        run = await handlers.start_run(self.uow, self.references, handlers.StartRun(spec, request.request_id),
                                       actor=caller(), correlation_id=correlation_id.get(), wake=self.wake)
        return convert.run(run)

    async def GetEvaluationRun(self, request: pb.GetEvaluationRunRequest, context: Context):
        return convert.run(await handlers.get_run(self.uow, request.run_id))

    async def ListEvaluationRuns(self, request: pb.ListEvaluationRunsRequest, context: Context):
        statuses = (convert.STATUS_FROM[request.status],) if request.status in convert.STATUS_FROM else ()
        query = RunQuery(request.model_version, request.dataset_version, statuses)
        rows, last = await handlers.list_runs(self.uow, query,
                                              proto_convert.page_request(self.pages, request.page, RUNS_PAGE))
        return pb.ListEvaluationRunsResponse(runs=[convert.run(r) for r in rows],
                                             page=proto_convert.page_response(self.pages, last, RUNS_PAGE))

    async def GetReport(self, request: pb.GetReportRequest, context: Context):
        run, report = await handlers.get_report(self.uow, self.artifacts, request.run_id)
        limit = request.sample_limit if request.sample_limit > 0 else self.settings.default_sample_limit
        return convert.report(convert.run(run), report, min(limit, 10_000))

    async def CompareRuns(self, request: pb.CompareRunsRequest, context: Context):
        baseline, rows = await handlers.compare_runs(self.uow, list(request.run_ids), request.baseline_run_id,
                                                     list(request.metric_names))
        return convert.comparisons(rows, baseline)

    async def ExportReview(self, request: pb.ExportReviewRequest, context: Context):
        review = await handlers.export_review(self.uow, self.artifacts, self.settings, request.run_id,
                                              request.baseline_role, request.sample_size, request.seed,
                                              actor=caller())
        return convert.review(review)

    async def ImportReviewVerdicts(self, request: pb.ImportReviewVerdictsRequest, context: Context):
        review, wins, losses, ties, rate = await handlers.import_verdicts(
            self.uow, self.settings, request.review_id, convert.verdicts_from_pb(request.verdicts), actor=caller())
        return pb.ReviewResult(review_id=review.review_id, run_id=review.run_id, wins=wins, losses=losses, ties=ties,
                               win_rate=convert.metric_value(rate))


def grpc_service(servicer: EvaluationServicer) -> GrpcService:
    return GrpcService(add_to_server=pb_grpc.add_EvaluationServiceServicer_to_server, servicer=servicer,
                       full_name=SERVICE, method_roles=METHOD_ROLES)
