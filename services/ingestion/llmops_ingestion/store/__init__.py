"""The ingestion service's store contract: the abstract unit of work and the page-token key shapes its
lists page by.

The job queue lives here too: jobs are rows, claimed with ``FOR UPDATE SKIP LOCKED``, so an accepted
request survives a crash of the process that accepted it and is picked up again.

``postgres`` holds the PostgreSQL adapter; ``memory`` the in-memory fake for unit tests, which
production code never imports.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Callable
from typing import Any

from llmops_common.pagination import Int, KeyShape, Text
from llmops_common.unit_of_work import UnitOfWork
from llmops_ingestion.domain.model import Dataset, DatasetVersion, IngestionJob, JobStatus, Upload

#: the sort keys the lists page by (what a page token may carry): a dataset name; a version's seq
DATASETS_PAGE = KeyShape("ingestion.datasets", (Text(),))
VERSIONS_PAGE = KeyShape("ingestion.versions", (Int(low=1),))


class IngestionUnitOfWork(UnitOfWork):
    producer = "ingestion"

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


UnitOfWorkFactory = Callable[..., IngestionUnitOfWork]  # called as uow() or uow(readonly=True)
