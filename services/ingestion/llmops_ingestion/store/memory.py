"""An in-memory fake of the ingestion service's unit of work, for unit tests of the handlers (production
code never imports it)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.errors import AlreadyExists
from llmops_common.events import Envelope
from llmops_common.unit_of_work import InMemoryUnitOfWork as InMemoryTransaction
from llmops_ingestion.domain.model import Dataset, DatasetVersion, IngestionJob, JobStatus, Upload
from llmops_ingestion.store import IngestionUnitOfWork


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
