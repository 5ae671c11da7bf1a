"""The MonitoringService servicer: translation only (parse, call one handler, convert)."""

from __future__ import annotations

from typing import Any

import grpc

from llmops.monitoring.v1 import monitoring_pb2 as pb
from llmops.monitoring.v1 import monitoring_pb2_grpc as pb_grpc
from llmops_common import proto_convert
from llmops_common.auth import Role, caller
from llmops_common.bus import correlation_id
from llmops_common.grpc_server import GrpcService
from llmops_common.pagination import PageTokens
from llmops_common.ratelimit import RateLimiter
from llmops_monitoring import handlers, reporting
from llmops_monitoring.api import convert
from llmops_monitoring.settings import MonitoringSettings
from llmops_monitoring.store import ALERTS_PAGE, INFERENCES_PAGE, AlertQuery, FeedbackQuery, InferenceQuery

SERVICE = pb.DESCRIPTOR.services_by_name["MonitoringService"].full_name
Context = grpc.aio.ServicerContext

_ROLES = {
    Role.VIEWER: ("ListAlerts", "ListInferences", "GetBlocklist", "GetModelReport", "SendFeedback"),
    Role.DEVELOPER: ("AckAlert", "ResolveAlert", "ExportFeedbackDataset"),
}
METHOD_ROLES = {f"/{SERVICE}/{method}": role for role, methods in _ROLES.items() for method in methods}


class MonitoringServicer(pb_grpc.MonitoringServiceServicer):
    def __init__(self, services: Any, settings: MonitoringSettings, page_tokens: PageTokens,
                 limiter: RateLimiter) -> None:
        """``services`` has ``uow``, ``artifacts``, ``publish`` and ``training_data``."""
        self.s, self.settings, self.pages, self.limiter = services, settings, page_tokens, limiter

    async def SendFeedback(self, request: pb.SendFeedbackRequest, context: Context):
        stored = await handlers.send_feedback(self.s.uow, self.limiter, convert.feedback_from_pb(request),
                                              actor=caller(), correlation_id=correlation_id.get())
        return convert.feedback(stored)

    async def ListAlerts(self, request: pb.ListAlertsRequest, context: Context):
        after, before = proto_convert.time_bounds(request.raised, "raised")
        status = convert.STATUSES.get(request.status)
        query = AlertQuery((status,) if status else (), convert.SEVERITIES.get(request.min_severity, ""),
                           convert.KINDS.get(request.kind, ""), request.model_version or request.deployment,
                           after, before)
        rows, last = await handlers.list_alerts(self.s.uow, query,
                                                proto_convert.page_request(self.pages, request.page, ALERTS_PAGE))
        return pb.ListAlertsResponse(alerts=[convert.alert(a) for a in rows],
                                     page=proto_convert.page_response(self.pages, last, ALERTS_PAGE))

    async def AckAlert(self, request: pb.AlertActionRequest, context: Context):
        return convert.alert(await handlers.act_on_alert(self.s.uow, request.alert_id, "ack", request.note,
                                                         actor=caller()))

    async def ResolveAlert(self, request: pb.AlertActionRequest, context: Context):
        return convert.alert(await handlers.act_on_alert(self.s.uow, request.alert_id, "resolve", request.note,
                                                         actor=caller()))

    async def ListInferences(self, request: pb.ListInferencesRequest, context: Context):
        after, before = proto_convert.time_bounds(request.created, "created")
        query = InferenceQuery(request.model_version, request.release, request.key_id, request.user, request.session,
                               after, before, request.min_injection_score)
        rows, last = await handlers.list_inferences(
            self.s.uow, query, proto_convert.page_request(self.pages, request.page, INFERENCES_PAGE))
        return pb.ListInferencesResponse(inferences=[convert.inference(i) for i in rows],
                                         page=proto_convert.page_response(self.pages, last, INFERENCES_PAGE))

    async def GetBlocklist(self, request: pb.GetBlocklistRequest, context: Context):
        entries = await handlers.blocklist(self.s.uow)
        return pb.Blocklist(entries=[convert.block(e) for e in entries], enforced=self.settings.enforce_blocklist)

    async def ExportFeedbackDataset(self, request: pb.ExportFeedbackDatasetRequest, context: Context):
        after, before = proto_convert.time_bounds(request.window, "window")
        query = FeedbackQuery(request.model_version, after, before, convert.RATINGS.get(request.rating, ""),
                              request.min_score if request.HasField("min_score") else None, request.corrections_only)
        exported = await handlers.export_feedback(
            self.s.uow, self.s.artifacts, self.s.publish, self.s.training_data.hashes,
            self.settings.s3_bucket_artifacts, self.settings.export_prefix,
            handlers.ExportRequest(request.dataset_name, query, request.max_records, request.request_ingestion,
                                   request.request_id), actor=caller(), correlation_id=correlation_id.get())
        return pb.ExportFeedbackDatasetResponse(export_id=exported.export_id, uri=exported.uri,
                                                record_count=exported.record_count,
                                                ingestion_event_id=exported.ingestion_event_id)

    async def GetModelReport(self, request: pb.GetModelReportRequest, context: Context):
        uri, summary = await reporting.model_report(self.s.uow, self.s.artifacts, self.settings, request.model_version,
                                                    request.days or 7)
        return pb.ModelReport(html_uri=uri, summary=proto_convert.struct(summary))


def grpc_service(servicer: MonitoringServicer) -> GrpcService:
    return GrpcService(add_to_server=pb_grpc.add_MonitoringServiceServicer_to_server, servicer=servicer,
                       full_name=SERVICE, method_roles=METHOD_ROLES)

