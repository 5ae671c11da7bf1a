"""The ingestion service's unit of work: the abstract contract, PostgreSQL, and an in-memory fake.

The job queue lives here too: jobs are rows, claimed with ``FOR UPDATE SKIP LOCKED``, so an accepted
request survives a crash of the process that accepted it and is picked up again.
"""

from __future__ import annotations

import abc
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from llmops_common.db import like_prefix
from llmops_common.errors import AlreadyExists
from llmops_common.pagination import Int, KeyShape, Text
from llmops_common.events import Envelope
from llmops_common.unit_of_work import PostgresUnitOfWork as PostgresTransaction
from llmops_common.unit_of_work import InMemoryUnitOfWork as InMemoryTransaction
from llmops_common.unit_of_work import UnitOfWork
from llmops_ingestion.domain.model import (
    Dataset,
    DatasetVersion,
    IngestionJob,
    IngestionRequest,
    JobStatus,
    Upload,
)
from llmops_ingestion.domain.shapes import Shape

#: the sort keys the lists page by (what a page token may carry): a dataset name; a version's seq
DATASETS_PAGE = KeyShape("ingestion.datasets", (Text(),))
VERSIONS_PAGE = KeyShape("ingestion.versions", (Int(low=1),))


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    dataset_name: str
    version: str | None = None
    detail: dict[str, Any] | None = None
    correlation_id: str | None = None


class IngestionUnitOfWork(UnitOfWork):
    @abc.abstractmethod
    async def create_dataset(self, dataset: Dataset) -> Dataset:
        """Raise AlreadyExists for a taken name."""

    @abc.abstractmethod
    async def ensure_dataset(self, name: str, actor: str) -> bool:
        """Create the dataset if missing; True when it was created."""

    @abc.abstractmethod
    async def get_dataset(self, name: str) -> Dataset | None: ...

    @abc.abstractmethod
    async def list_datasets(self, name_prefix: str, after: str | None, limit: int) -> list[Dataset]: ...

    @abc.abstractmethod
    async def add_upload(self, upload: Upload) -> None: ...

    @abc.abstractmethod
    async def get_upload(self, upload_id: uuid.UUID) -> Upload | None: ...

    @abc.abstractmethod
    async def add_job(self, job: IngestionJob) -> IngestionJob: ...

    @abc.abstractmethod
    async def get_job(self, job_id: uuid.UUID) -> IngestionJob | None: ...

    @abc.abstractmethod
    async def find_job_by_request(self, dataset_name: str, request_id: str) -> IngestionJob | None: ...

    @abc.abstractmethod
    async def claim_job(self, stale_seconds: float) -> IngestionJob | None:
        """Mark the oldest pending job (or a running one with a stale heartbeat) running; return it."""

    @abc.abstractmethod
    async def release_job(self, job_id: uuid.UUID) -> None:
        """Put a running job back in the queue (its worker is stopping)."""

    @abc.abstractmethod
    async def heartbeat(self, job_id: uuid.UUID, progress: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    async def finish_job(self, job_id: uuid.UUID, status: JobStatus, *, version: str | None = None,
                         reused: bool = False, error: dict[str, Any] | None = None) -> IngestionJob: ...

    @abc.abstractmethod
    async def add_version(self, version: DatasetVersion) -> bool:
        """Insert the version; False when it already existed (content-addressed: nothing to do)."""

    @abc.abstractmethod
    async def get_version(self, dataset_name: str, version: str) -> DatasetVersion | None:
        """The version, or the newest when ``version`` is empty."""

    @abc.abstractmethod
    async def list_versions(self, dataset_name: str, after_seq: int | None, limit: int
                            ) -> list[tuple[int, DatasetVersion]]:
        """(seq, version) pairs, newest first."""

    @abc.abstractmethod
    async def record_usage(self, event_id: uuid.UUID, dataset_name: str, version: str, used_by: str,
                           reference: str) -> bool:
        """Lineage forward; False when the version is unknown."""


# -- Postgres ------------------------------------------------------------------------------------------

_DATASET_SELECT = (
    "SELECT d.name, d.description, d.tags, d.created_by, d.created_at, d.updated_at,"
    " COALESCE((SELECT v.version FROM dataset_versions v WHERE v.dataset_name = d.name"
    "   ORDER BY v.seq DESC LIMIT 1), '') FROM datasets d"
)
_VERSION_COLUMNS = (
    "v.dataset_name, v.version, v.uri, v.manifest_uri, v.shape, v.record_count, v.split_counts, v.preparation,"
    " v.config_hash, v.source, v.steps, v.profile_uri, v.profile_html_uri, v.job_id, v.created_by, v.created_at,"
    " COALESCE((SELECT json_agg(json_build_object('used_by', u.used_by, 'reference', u.reference,"
    "   'recorded_at', u.recorded_at) ORDER BY u.recorded_at) FROM dataset_usages u"
    "   WHERE u.dataset_name = v.dataset_name AND u.version = v.version), '[]'::json), v.seq"
)
_JOB_COLUMNS = ("job_id, dataset_name, status, request, progress, version, reused_existing, error, attempts,"
                " correlation_id, created_by, created_at, started_at, finished_at")


class PostgresUnitOfWork(PostgresTransaction, IngestionUnitOfWork):
    async def create_dataset(self, dataset: Dataset) -> Dataset:
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    "INSERT INTO datasets (name, description, tags, created_by) VALUES (%s, %s, %s, %s)",
                    (dataset.name, dataset.description, json.dumps(dataset.tags), dataset.created_by))
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"dataset {dataset.name!r} already exists", field="name") from None
        created = await self.get_dataset(dataset.name)
        assert created is not None
        return created

    async def ensure_dataset(self, name: str, actor: str) -> bool:
        cur = await self.conn.execute("INSERT INTO datasets (name, created_by) VALUES (%s, %s)"
                                      " ON CONFLICT (name) DO NOTHING", (name, actor))
        return cur.rowcount == 1

    async def get_dataset(self, name: str) -> Dataset | None:
        row = await self._one(f"{_DATASET_SELECT} WHERE d.name = %s", (name,))
        return Dataset(*row[:3], *row[3:]) if row else None

    async def list_datasets(self, name_prefix: str, after: str | None, limit: int) -> list[Dataset]:
        rows = await self._all(f"{_DATASET_SELECT} WHERE d.name LIKE %s AND (%s::text IS NULL OR d.name > %s)"
                               " ORDER BY d.name LIMIT %s", (like_prefix(name_prefix), after, after, limit))
        return [Dataset(*row) for row in rows]

    async def add_upload(self, upload: Upload) -> None:
        await self.conn.execute(
            "INSERT INTO uploads (upload_id, dataset_name, filename, uri, size_bytes, sha256, created_by)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (upload.upload_id, upload.dataset_name, upload.filename, upload.uri, upload.size_bytes, upload.sha256,
             upload.created_by))

    async def get_upload(self, upload_id: uuid.UUID) -> Upload | None:
        row = await self._one("SELECT upload_id, dataset_name, filename, uri, size_bytes, sha256, created_by,"
                              " created_at FROM uploads WHERE upload_id = %s", (upload_id,))
        return Upload(*row) if row else None

    async def add_job(self, job: IngestionJob) -> IngestionJob:
        row = await self._one(
            "INSERT INTO ingestion_jobs (job_id, dataset_name, request_id, status, request, correlation_id,"
            f" created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_JOB_COLUMNS}",
            (job.job_id, job.dataset_name, job.request.request_id or None, str(job.status),
             json.dumps(job.request.as_json()), job.correlation_id, job.created_by))
        return _job(row)

    async def get_job(self, job_id: uuid.UUID) -> IngestionJob | None:
        row = await self._one(f"SELECT {_JOB_COLUMNS} FROM ingestion_jobs WHERE job_id = %s", (job_id,))
        return _job(row) if row else None

    async def find_job_by_request(self, dataset_name: str, request_id: str) -> IngestionJob | None:
        row = await self._one(f"SELECT {_JOB_COLUMNS} FROM ingestion_jobs WHERE dataset_name = %s"
                              " AND request_id = %s", (dataset_name, request_id))
        return _job(row) if row else None

    async def claim_job(self, stale_seconds: float) -> IngestionJob | None:
        row = await self._one(
            "UPDATE ingestion_jobs SET status = 'running', started_at = now(), heartbeat_at = now(),"
            " attempts = attempts + 1, error = NULL WHERE job_id = (SELECT job_id FROM ingestion_jobs"
            "   WHERE status = 'pending' OR (status = 'running' AND heartbeat_at < now() - make_interval(secs => %s))"
            f"   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {_JOB_COLUMNS}", (stale_seconds,))
        return _job(row) if row else None

    async def release_job(self, job_id: uuid.UUID) -> None:
        await self.conn.execute("UPDATE ingestion_jobs SET status = 'pending' WHERE job_id = %s"
                                " AND status = 'running'", (job_id,))

    async def heartbeat(self, job_id: uuid.UUID, progress: dict[str, Any]) -> None:
        await self.conn.execute("UPDATE ingestion_jobs SET heartbeat_at = now(), progress = %s"
                                " WHERE job_id = %s AND status = 'running'", (json.dumps(progress), job_id))

    async def finish_job(self, job_id: uuid.UUID, status: JobStatus, *, version: str | None = None,
                         reused: bool = False, error: dict[str, Any] | None = None) -> IngestionJob:
        row = await self._one(
            "UPDATE ingestion_jobs SET status = %s, version = %s, reused_existing = %s, error = %s,"
            f" finished_at = now() WHERE job_id = %s RETURNING {_JOB_COLUMNS}",
            (str(status), version, reused, json.dumps(error) if error else None, job_id))
        return _job(row)

    async def add_version(self, version: DatasetVersion) -> bool:
        cur = await self.conn.execute(
            "INSERT INTO dataset_versions (dataset_name, version, uri, manifest_uri, shape, record_count,"
            " split_counts, preparation, config_hash, source, steps, profile_uri, profile_html_uri, job_id,"
            " created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (dataset_name, version) DO NOTHING",
            (version.dataset_name, version.version, version.uri, version.manifest_uri, str(version.shape),
             version.record_count, json.dumps(version.split_counts), json.dumps(version.preparation),
             version.config_hash, json.dumps(version.source), json.dumps(version.steps), version.profile_uri,
             version.profile_html_uri, version.job_id, version.created_by))
        if cur.rowcount:
            await self.conn.execute("UPDATE datasets SET updated_at = now() WHERE name = %s", (version.dataset_name,))
        return cur.rowcount == 1

    async def get_version(self, dataset_name: str, version: str) -> DatasetVersion | None:
        if version:
            row = await self._one(f"SELECT {_VERSION_COLUMNS} FROM dataset_versions v"
                                  " WHERE v.dataset_name = %s AND v.version = %s", (dataset_name, version))
        else:
            row = await self._one(f"SELECT {_VERSION_COLUMNS} FROM dataset_versions v WHERE v.dataset_name = %s"
                                  " ORDER BY v.seq DESC LIMIT 1", (dataset_name,))
        return _version(row)[1] if row else None

    async def list_versions(self, dataset_name: str, after_seq: int | None, limit: int
                            ) -> list[tuple[int, DatasetVersion]]:
        rows = await self._all(f"SELECT {_VERSION_COLUMNS} FROM dataset_versions v WHERE v.dataset_name = %s"
                               " AND (%s::bigint IS NULL OR v.seq < %s) ORDER BY v.seq DESC LIMIT %s",
                               (dataset_name, after_seq, after_seq, limit))
        return [_version(row) for row in rows]

    async def record_usage(self, event_id: uuid.UUID, dataset_name: str, version: str, used_by: str,
                           reference: str) -> bool:
        exists = await self._one("SELECT 1 FROM dataset_versions WHERE dataset_name = %s AND version = %s",
                                 (dataset_name, version))
        if not exists:
            return False
        await self.conn.execute("INSERT INTO dataset_usages (event_id, dataset_name, version, used_by, reference)"
                                 " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                                 (event_id, dataset_name, version, used_by, reference))
        return True

    async def append_audit(self, entry: AuditEntry) -> None:
        await self.conn.execute(
            "INSERT INTO audit_log (actor, action, dataset_name, version, detail, correlation_id)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (entry.actor, entry.action, entry.dataset_name, entry.version,
             json.dumps(entry.detail) if entry.detail is not None else None, entry.correlation_id))


def _job(row: tuple) -> IngestionJob:
    (job_id, name, status, request, progress, version, reused, error, attempts, correlation_id, created_by,
     created_at, started_at, finished_at) = row
    return IngestionJob(job_id, name, JobStatus(status), IngestionRequest.from_json(request), dict(progress),
                        version, reused, error, attempts, correlation_id or "", created_by, created_at, started_at,
                        finished_at)


def _version(row: tuple) -> tuple[int, DatasetVersion]:
    *columns, used_by, seq = row
    columns[4] = Shape(columns[4])
    return int(seq), DatasetVersion(*columns, used_by=list(used_by))


# -- In memory (unit tests of the handlers) --------------------------------------------------------------


class InMemoryIngestion:
    def __init__(self) -> None:
        self.datasets: dict[str, Dataset] = {}
        self.versions: dict[tuple[str, str], tuple[int, DatasetVersion]] = {}
        self.usages: dict[uuid.UUID, dict[str, Any]] = {}
        self.uploads: dict[uuid.UUID, Upload] = {}
        self.jobs: dict[uuid.UUID, tuple[IngestionJob, datetime | None]] = {}  # job, heartbeat
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.audit: list[AuditEntry] = []
        self.outbox: list[Envelope[Any]] = []

    def unit_of_work(self, *, readonly: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


class InMemoryUnitOfWork(InMemoryTransaction, IngestionUnitOfWork):
    tables = ("datasets", "versions", "usages", "uploads", "jobs", "inbox")

    def _latest(self, name: str) -> str:
        mine = [(seq, v.version) for (n, _), (seq, v) in self.versions.items() if n == name]
        return max(mine)[1] if mine else ""

    async def create_dataset(self, dataset: Dataset) -> Dataset:
        if dataset.name in self.datasets:
            raise AlreadyExists(f"dataset {dataset.name!r} already exists", field="name")
        now = datetime.now(UTC)
        self.datasets[dataset.name] = replace(dataset, created_at=now, updated_at=now)
        return self.datasets[dataset.name]

    async def ensure_dataset(self, name: str, actor: str) -> bool:
        if name in self.datasets:
            return False
        await self.create_dataset(Dataset(name, created_by=actor))
        return True

    async def get_dataset(self, name: str) -> Dataset | None:
        found = self.datasets.get(name)
        return replace(found, latest_version=self._latest(name)) if found else None

    async def list_datasets(self, name_prefix: str, after: str | None, limit: int) -> list[Dataset]:
        names = sorted(n for n in self.datasets if n.startswith(name_prefix) and (after is None or n > after))
        return [await self.get_dataset(n) for n in names[:limit]]

    async def add_upload(self, upload: Upload) -> None:
        self.uploads[upload.upload_id] = replace(upload, created_at=datetime.now(UTC))

    async def get_upload(self, upload_id: uuid.UUID) -> Upload | None:
        return self.uploads.get(upload_id)

    async def add_job(self, job: IngestionJob) -> IngestionJob:
        self.jobs[job.job_id] = (replace(job, created_at=datetime.now(UTC)), None)
        return self.jobs[job.job_id][0]

    async def get_job(self, job_id: uuid.UUID) -> IngestionJob | None:
        return self.jobs[job_id][0] if job_id in self.jobs else None

    async def find_job_by_request(self, dataset_name: str, request_id: str) -> IngestionJob | None:
        return next((j for j, _ in self.jobs.values()
                     if j.dataset_name == dataset_name and j.request.request_id == request_id), None)

    async def claim_job(self, stale_seconds: float) -> IngestionJob | None:
        now = datetime.now(UTC)
        ready = [j for j, beat in self.jobs.values() if j.status is JobStatus.PENDING or (
            j.status is JobStatus.RUNNING and beat is not None and beat < now - timedelta(seconds=stale_seconds))]
        if not ready:
            return None
        job = min(ready, key=lambda j: j.created_at)
        claimed = replace(job, status=JobStatus.RUNNING, started_at=now, attempts=job.attempts + 1, error=None)
        self.jobs[job.job_id] = (claimed, now)
        return claimed

    async def release_job(self, job_id: uuid.UUID) -> None:
        job, beat = self.jobs[job_id]
        if job.status is JobStatus.RUNNING:
            self.jobs[job_id] = (replace(job, status=JobStatus.PENDING), beat)

    async def heartbeat(self, job_id: uuid.UUID, progress: dict[str, Any]) -> None:
        job, _ = self.jobs[job_id]
        if job.status is JobStatus.RUNNING:
            self.jobs[job_id] = (replace(job, progress=dict(progress)), datetime.now(UTC))

    async def finish_job(self, job_id: uuid.UUID, status: JobStatus, *, version: str | None = None,
                         reused: bool = False, error: dict[str, Any] | None = None) -> IngestionJob:
        job, beat = self.jobs[job_id]
        self.jobs[job_id] = (replace(job, status=status, version=version, reused_existing=reused, error=error,
                                     finished_at=datetime.now(UTC)), beat)
        return self.jobs[job_id][0]

    async def add_version(self, version: DatasetVersion) -> bool:
        key = (version.dataset_name, version.version)
        if key in self.versions:
            return False
        self.versions[key] = (len(self.versions) + 1, replace(version, created_at=datetime.now(UTC)))
        return True

    async def get_version(self, dataset_name: str, version: str) -> DatasetVersion | None:
        version = version or self._latest(dataset_name)
        found = self.versions.get((dataset_name, version))
        if found is None:
            return None
        used = [u for u in self.usages.values() if (u["dataset_name"], u["version"]) == (dataset_name, version)]
        return replace(found[1], used_by=[{"used_by": u["used_by"], "reference": u["reference"]} for u in used])

    async def list_versions(self, dataset_name: str, after_seq: int | None, limit: int
                            ) -> list[tuple[int, DatasetVersion]]:
        mine = sorted(((seq, v) for (n, _), (seq, v) in self.versions.items()
                       if n == dataset_name and (after_seq is None or seq < after_seq)), key=lambda p: -p[0])
        return mine[:limit]

    async def record_usage(self, event_id: uuid.UUID, dataset_name: str, version: str, used_by: str,
                           reference: str) -> bool:
        if (dataset_name, version) not in self.versions:
            return False
        self.usages.setdefault(event_id, {"dataset_name": dataset_name, "version": version, "used_by": used_by,
                                          "reference": reference})
        return True


UnitOfWorkFactory = Callable[..., IngestionUnitOfWork]  # called as uow() or uow(readonly=True)
