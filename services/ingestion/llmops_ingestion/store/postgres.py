"""The ingestion service's unit of work on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg

from llmops_common.audit import AuditEntry
from llmops_common.db import like_prefix
from llmops_common.errors import AlreadyExists
from llmops_common.unit_of_work import PostgresUnitOfWork as PostgresTransaction
from llmops_ingestion.domain.model import (
    Dataset,
    DatasetVersion,
    IngestionJob,
    IngestionRequest,
    JobStatus,
    Upload,
)
from llmops_ingestion.domain.shapes import Shape
from llmops_ingestion.store import IngestionUnitOfWork

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
            (entry.actor, entry.action, entry.subject, entry.version,
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
