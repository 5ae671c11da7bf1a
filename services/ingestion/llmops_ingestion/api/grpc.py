"""The IngestionService servicer: translation only (parse, call one handler, convert)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from llmops.ingestion.v1 import ingestion_pb2 as pb
from llmops.ingestion.v1 import ingestion_pb2_grpc as pb_grpc
from llmops_common import proto_convert
from llmops_common.auth import Role, caller
from llmops_common.bus import correlation_id
from llmops_common.errors import InvalidArgument
from llmops_common.grpc_server import GrpcService
from llmops_common.pagination import PageTokens
from llmops_common.storage import ArtifactStore
from llmops_ingestion import handlers
from llmops_ingestion.api import convert
from llmops_ingestion.domain.model import Dataset
from llmops_ingestion.preparation.version_queries import VersionReader
from llmops_ingestion.settings import IngestionSettings
from llmops_ingestion.sources import SourceRules
from llmops_ingestion.store import DATASETS_PAGE, VERSIONS_PAGE, UnitOfWorkFactory

SERVICE = pb.DESCRIPTOR.services_by_name["IngestionService"].full_name
Context = grpc.aio.ServicerContext

_ROLES = {
    Role.VIEWER: ("GetDataset", "ListDatasets", "GetIngestionJob", "GetDatasetVersion", "ListDatasetVersions",
                  "GetProfile", "SampleRecords", "DiffVersions"),
    Role.DEVELOPER: ("CreateDataset", "IngestDataset", "UploadFile"),
}
METHOD_ROLES = {f"/{SERVICE}/{method}": role for role, methods in _ROLES.items() for method in methods}



@dataclass
class IngestionServicer(pb_grpc.IngestionServiceServicer):
    uow: UnitOfWorkFactory
    artifacts: ArtifactStore
    reader: VersionReader
    settings: IngestionSettings
    wake: object
    pages: PageTokens

    async def CreateDataset(self, request: pb.CreateDatasetRequest, context: Context):
        created = await handlers.create_dataset(self.uow, Dataset(request.name, request.description,
                                                                  dict(request.tags)),
                                                actor=caller(), correlation_id=correlation_id.get())
        return convert.dataset(created)

    async def GetDataset(self, request: pb.GetDatasetRequest, context: Context):
        return convert.dataset(await handlers.get_dataset(self.uow, request.name))

    async def ListDatasets(self, request: pb.ListDatasetsRequest, context: Context):
        rows, last = await handlers.list_datasets(self.uow, request.name_prefix,
                                                  proto_convert.page_request(self.pages, request.page, DATASETS_PAGE))
        return pb.ListDatasetsResponse(datasets=[convert.dataset(d) for d in rows],
                                       page=proto_convert.page_response(self.pages, last, DATASETS_PAGE))

    async def IngestDataset(self, request: pb.IngestDatasetRequest, context: Context):
        job = await handlers.submit_ingestion(self.uow, convert.ingestion_request(request), actor=caller(),
                                              sources=SourceRules.from_settings(self.settings),
                                              correlation_id=correlation_id.get(), wake=self.wake)
        return await self._job(job)

    async def GetIngestionJob(self, request: pb.GetIngestionJobRequest, context: Context):
        return await self._job(await handlers.get_job(self.uow, request.job_id))

    async def _job(self, job) -> pb.IngestionJob:
        version = await handlers.get_version(self.uow, job.dataset_name, job.version) if job.version else None
        return convert.job(job, version)

    async def UploadFile(self, request_iterator: AsyncIterator[pb.UploadFileRequest], context: Context):
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("payload") != "header":
            raise InvalidArgument("the first message of an upload must be its header", field="header")
        h = first.header
        header = handlers.UploadHeader(h.dataset_name, h.filename, h.size_bytes, h.sha256)
        upload = await handlers.upload_file(
            self.uow, self.artifacts, header, _chunks(request_iterator), bucket=self.settings.s3_bucket_datasets,
            spool_dir=self.settings.work_dir / "uploads", max_bytes=self.settings.max_upload_bytes,
            actor=caller(), correlation_id=correlation_id.get())
        return pb.UploadFileResponse(upload_id=str(upload.upload_id), s3_uri=upload.uri, size_bytes=upload.size_bytes,
                                     sha256=upload.sha256)

    async def GetDatasetVersion(self, request: pb.GetDatasetVersionRequest, context: Context):
        found = await handlers.get_version(self.uow, request.dataset_name, request.version)
        return convert.version(found)

    async def ListDatasetVersions(self, request: pb.ListDatasetVersionsRequest, context: Context):
        rows, last = await handlers.list_versions(self.uow, request.dataset_name,
                                                  proto_convert.page_request(self.pages, request.page, VERSIONS_PAGE))
        return pb.ListDatasetVersionsResponse(versions=[convert.version(v) for v in rows],
                                              page=proto_convert.page_response(self.pages, last, VERSIONS_PAGE))

    async def GetProfile(self, request: pb.GetProfileRequest, context: Context):
        found, profile, url, summary = await handlers.get_profile(self.uow, self.reader, request.dataset_name,
                                                                  request.version)
        return convert.profile(profile, found.profile_uri, found.profile_html_uri, url, summary)

    async def SampleRecords(self, request: pb.SampleRecordsRequest, context: Context):
        found, rows = await handlers.sample_records(self.uow, self.reader, request.dataset_name, request.version,
                                                    convert.split_filter(request.split), request.limit,
                                                    request.seed)
        return pb.SampleRecordsResponse(records=[convert.record(r, found.shape) for r in rows])

    async def DiffVersions(self, request: pb.DiffVersionsRequest, context: Context):
        newer, diff = await handlers.diff_versions(self.uow, self.reader, request.dataset_name,
                                                   request.from_version, request.to_version, request.sample_limit)
        return pb.DiffVersionsResponse(added_count=diff.added_count, removed_count=diff.removed_count,
                                       unchanged_count=diff.unchanged_count,
                                       added=[convert.record(r, newer.shape) for r in diff.added],
                                       removed=[convert.record(r, newer.shape) for r in diff.removed])


async def _chunks(messages: AsyncIterator[pb.UploadFileRequest]) -> AsyncIterator[bytes]:
    async for message in messages:
        if message.WhichOneof("payload") != "chunk":
            raise InvalidArgument("only chunks may follow the header", field="chunk")
        yield message.chunk


def grpc_service(uow: UnitOfWorkFactory, artifacts: ArtifactStore, settings: IngestionSettings,
                 wake) -> GrpcService:
    reader = VersionReader(artifacts, Path(settings.work_dir) / "cache")
    return GrpcService(add_to_server=pb_grpc.add_IngestionServiceServicer_to_server,
                       servicer=IngestionServicer(uow, artifacts, reader, settings, wake,
                                                  PageTokens(settings.page_token_secret())),
                       full_name=SERVICE,
                       method_roles=METHOD_ROLES)
