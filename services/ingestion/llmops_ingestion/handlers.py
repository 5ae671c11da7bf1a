"""The ingestion service's use cases: datasets, uploads, ingestion requests, versions, lineage.

Each runs in one unit of work; accepting a request, and every dataset or version created, writes its
audit row (and, for versions, its event) in the same transaction. The ingestion itself runs in
``jobs``; reading versions back (profiles, samples, diffs) in
``preparation.version_queries``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.auth import Principal
from llmops_common.errors import FailedPrecondition, InvalidArgument, NotFound
from llmops_common.pagination import Page
from llmops_common.storage import ArtifactStore
from llmops_common.validation import quote
from llmops_ingestion.domain.model import (
    Dataset,
    DatasetVersion,
    IngestionJob,
    IngestionRequest,
    JobStatus,
    SourceKind,
    Upload,
    parse_reference,
    validate_dataset_name,
    validate_version,
)
from llmops_ingestion.preparation.report.summary import render_summary
from llmops_ingestion.preparation.tokens import TokenCounter
from llmops_ingestion.preparation.version_queries import VersionDiff, VersionReader
from llmops_ingestion.sources import SourceRules
from llmops_ingestion.store import UnitOfWorkFactory

REQUEST_CONSUMER = "ingestion-dataset-requests"
USAGE_CONSUMER = "ingestion-dataset-usage"


async def create_dataset(uow: UnitOfWorkFactory, dataset: Dataset, *, actor: Principal,
                         correlation_id: str | None = None) -> Dataset:
    dataset.validate()
    async with uow() as tx:
        created = await tx.create_dataset(Dataset(dataset.name, dataset.description, dataset.tags, actor.name))
        tx.audits.append(AuditEntry(actor.name, "dataset.created", dataset.name, correlation_id=correlation_id))
        await tx.commit()
    return created


async def get_dataset(uow: UnitOfWorkFactory, name: str) -> Dataset:
    validate_dataset_name(name, field_name="name")
    async with uow(readonly=True) as tx:
        dataset = await tx.get_dataset(name)
    if dataset is None:
        raise NotFound(f"no dataset {quote(name)}", field="name")
    return dataset


async def list_datasets(uow: UnitOfWorkFactory, name_prefix: str, page: Page) -> tuple[list[Dataset], tuple | None]:
    async with uow(readonly=True) as tx:
        rows = await tx.list_datasets(name_prefix, page.after[0] if page.after else None, page.size)
    return rows, page.next_key(rows, lambda d: (d.name,))


async def submit_ingestion(uow: UnitOfWorkFactory, request: IngestionRequest, *, actor: Principal,
                           sources: SourceRules, correlation_id: str | None = None,
                           wake: Callable[[], None] = lambda: None) -> IngestionJob:
    """Validate the request, check its source is one ingestion may read, create the dataset if needed,
    and queue a job (idempotent by request id)."""
    request.validate()
    sources.check(request.source)
    TokenCounter(sources.check_tokenizer(request.preparation.length_filter.tokenizer))  # must load here and now
    async with uow() as tx:
        if request.request_id:
            existing = await tx.find_job_by_request(request.dataset_name, request.request_id)
            if existing is not None:
                return existing
        if request.source.kind is SourceKind.UPLOAD:
            upload = await tx.get_upload(uuid.UUID(request.source.location))
            if upload is None:
                raise NotFound(f"no upload {quote(request.source.location)}", field="source.upload_id")
            if upload.dataset_name != request.dataset_name:
                raise FailedPrecondition(f"upload {upload.upload_id} was made for dataset {upload.dataset_name!r}",
                                         field="source.upload_id")
        if await tx.ensure_dataset(request.dataset_name, actor.name):
            tx.audits.append(AuditEntry(actor.name, "dataset.created", request.dataset_name,
                                        correlation_id=correlation_id))
        job = await tx.add_job(IngestionJob(uuid.uuid4(), request.dataset_name, JobStatus.PENDING, request,
                                            correlation_id=correlation_id or "", created_by=actor.name))
        tx.audits.append(AuditEntry(actor.name, "ingestion.requested", request.dataset_name,
                                    detail={"job_id": str(job.job_id), "source": request.source.uri},
                                    correlation_id=correlation_id))
        await tx.commit()
    wake()
    return job


async def get_job(uow: UnitOfWorkFactory, job_id: str) -> IngestionJob:
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        raise InvalidArgument(f"not a job id: {quote(job_id)}", field="job_id") from None
    async with uow(readonly=True) as tx:
        job = await tx.get_job(key)
    if job is None:
        raise NotFound(f"no ingestion job {job_id}", field="job_id")
    return job


async def record_upload(uow: UnitOfWorkFactory, upload: Upload, *, correlation_id: str | None = None) -> Upload:
    async with uow() as tx:
        await tx.add_upload(upload)
        tx.audits.append(AuditEntry(upload.created_by, "upload.stored", upload.dataset_name,
                                    detail={"upload_id": str(upload.upload_id), "uri": upload.uri,
                                            "sha256": upload.sha256, "size_bytes": upload.size_bytes},
                                    correlation_id=correlation_id))
        await tx.commit()
    return upload


async def get_version(uow: UnitOfWorkFactory, dataset_name: str, version: str) -> DatasetVersion:
    validate_dataset_name(dataset_name)
    if version:
        validate_version(version)
    async with uow(readonly=True) as tx:
        found = await tx.get_version(dataset_name, version)
        if found is None and await tx.get_dataset(dataset_name) is None:
            raise NotFound(f"no dataset {quote(dataset_name)}", field="dataset_name")
    if found is None:
        what = f"version {version}" if version else "any version yet"
        raise NotFound(f"dataset {quote(dataset_name)} has no {what}", field="version")
    return found


async def list_versions(uow: UnitOfWorkFactory, dataset_name: str,
                        page: Page) -> tuple[list[DatasetVersion], tuple | None]:
    validate_dataset_name(dataset_name)
    async with uow(readonly=True) as tx:
        if await tx.get_dataset(dataset_name) is None:
            raise NotFound(f"no dataset {quote(dataset_name)}", field="dataset_name")
        rows = await tx.list_versions(dataset_name, int(page.after[0]) if page.after else None, page.size)
    return [v for _, v in rows], page.next_key(rows, lambda row: (row[0],))


async def record_usage(uow: UnitOfWorkFactory, event_id: uuid.UUID, reference: str, used_by: str,
                       consumer_ref: str) -> bool:
    """Lineage forward: remember that an event (a training or evaluation request) named a version.

    ``reference`` is ``name@version`` or the version's ``s3://`` URI; anything else is not ours.
    """
    parsed = parse_version_reference(reference)
    if parsed is None:
        return False
    async with uow() as tx:
        if not await tx.claim_event(USAGE_CONSUMER, event_id):
            return False
        recorded = await tx.record_usage(event_id, *parsed, used_by, consumer_ref)
        await tx.commit()
    return recorded


def parse_version_reference(reference: str) -> tuple[str, str] | None:
    """``name@version`` or ``s3://<bucket>/<name>/<version>/...`` -> (name, version); None otherwise."""
    if reference.startswith("s3://"):
        parts = reference.removeprefix("s3://").strip("/").split("/")
        if len(parts) < 3:
            return None
        reference = f"{parts[1]}@{parts[2]}"
    try:
        name, version = parse_reference(reference)
    except InvalidArgument:
        return None
    return (name, version) if version else None


def job_error(problem: str, *, code: str, file: str | None = None, line: int | None = None) -> dict[str, Any]:
    """A failed job's error: ``field`` is ``file:line`` for people, ``file`` and ``line`` for programs."""
    where = f"{file}:{line}" if file and line else file or ""
    return {"code": str(code), "message": problem, "field": where, "file": file or "", "line": line or 0}


@dataclass(frozen=True)
class UploadHeader:
    dataset_name: str
    filename: str
    size_bytes: int = 0
    sha256: str = ""

    def validate(self) -> None:
        validate_dataset_name(self.dataset_name, field_name="header.dataset_name")
        if not self.filename or "/" in self.filename or "\\" in self.filename or self.filename in (".", ".."):
            raise InvalidArgument("a plain file name is required (no folders)", field="header.filename")
        if len(self.filename) > 255:
            raise InvalidArgument("at most 255 characters", field="header.filename")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in self.filename):
            raise InvalidArgument(f"control characters are not allowed in a file name: {quote(self.filename)}",
                                  field="header.filename")
        if self.size_bytes < 0:
            raise InvalidArgument("must not be negative", field="header.size_bytes")
        if self.sha256 and not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise InvalidArgument("a sha256 is 64 lower-case hex characters", field="header.sha256")


async def upload_file(uow: UnitOfWorkFactory, artifacts: ArtifactStore, header: UploadHeader,
                      chunks: AsyncIterator[bytes], *, bucket: str, spool_dir: Path, max_bytes: int,
                      actor: Principal, correlation_id: str | None = None) -> Upload:
    """Spool the stream to local disk (bounded memory), check its size and digest, then store it.

    Nothing is recorded, and nothing stays in S3, unless the whole file arrived intact.
    """
    header.validate()
    upload_id = uuid.uuid4()
    spool_dir.mkdir(parents=True, exist_ok=True)
    spool = spool_dir / f"upload-{upload_id}"
    digest, size = hashlib.sha256(), 0
    try:
        with spool.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise InvalidArgument(f"the upload exceeds the {max_bytes} byte limit", field="chunk")
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
        if size == 0:
            raise InvalidArgument(f"{quote(header.filename)}: the file is empty", field="chunk")
        if header.size_bytes and header.size_bytes != size:
            raise InvalidArgument(f"received {size} bytes, the header announced {header.size_bytes}",
                                  field="header.size_bytes")
        if header.sha256 and header.sha256 != digest.hexdigest():
            raise InvalidArgument(f"the received bytes hash to {digest.hexdigest()}, not {header.sha256}",
                                  field="header.sha256")
        uri = f"s3://{bucket}/{header.dataset_name}/_uploads/{upload_id}/{header.filename}"
        stored = await asyncio.to_thread(artifacts.put_file, uri, spool)
    finally:
        spool.unlink(missing_ok=True)
    return await record_upload(uow, Upload(upload_id, header.dataset_name, header.filename, uri, stored.size,
                                           stored.sha256, actor.name), correlation_id=correlation_id)


async def get_profile(uow: UnitOfWorkFactory, reader: VersionReader, dataset_name: str,
                      version: str) -> tuple[DatasetVersion, dict[str, Any], str, str]:
    """The profile, a presigned URL of its HTML report, and its plain-text summary."""
    found = await get_version(uow, dataset_name, version)
    profile = await asyncio.to_thread(reader.profile, found)
    url = await asyncio.to_thread(reader.artifacts.presigned_get_url, found.profile_html_uri)
    return found, profile, url, render_summary(profile)


async def sample_records(uow: UnitOfWorkFactory, reader: VersionReader, dataset_name: str, version: str,
                         split: str | None, limit: int, seed: int) -> tuple[DatasetVersion, list[dict[str, Any]]]:
    if limit < 0:
        raise InvalidArgument("must not be negative", field="limit")
    found = await get_version(uow, dataset_name, version)
    return found, await asyncio.to_thread(reader.sample, found, split, limit, seed)


async def diff_versions(uow: UnitOfWorkFactory, reader: VersionReader, dataset_name: str, from_version: str,
                        to_version: str, limit: int) -> tuple[DatasetVersion, VersionDiff]:
    if not from_version or not to_version:
        raise InvalidArgument("both from_version and to_version are needed",
                              field="to_version" if from_version else "from_version")
    if limit < 0:
        raise InvalidArgument("must not be negative", field="sample_limit")
    older = await get_version(uow, dataset_name, from_version)
    newer = await get_version(uow, dataset_name, to_version)
    if older.shape is not newer.shape:
        raise FailedPrecondition(f"cannot diff a {older.shape} version with a {newer.shape} one", field="to_version")
    return newer, await asyncio.to_thread(reader.diff, older, newer, limit)
