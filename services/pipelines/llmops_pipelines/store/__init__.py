"""The pipelines store's contract: the abstract unit of work (its methods are the documented contract).
``postgres`` holds the PostgreSQL adapter; ``memory`` the in-memory fake for unit tests."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from llmops_common.pagination import KeyShape, Page, Text, Timestamp, Uuid
from llmops_common.unit_of_work import UnitOfWork
from llmops_pipelines.domain.pipeline import StoredPipeline
from llmops_pipelines.domain.run import PipelineRun, RunStatus

#: pipelines are listed by name; runs newest first, by (created_at, run_id)
PIPELINES_PAGE = KeyShape("pipelines.pipelines", (Text(),))
RUNS_PAGE = KeyShape("pipelines.runs", (Timestamp(), Uuid()))


@dataclass(frozen=True)
class RunQuery:
    pipeline: str = ""
    statuses: tuple[RunStatus, ...] = ()


class PipelinesUnitOfWork(UnitOfWork):
    """One transaction over pipelines, their runs, the dataset versions seen, the inbox and the outbox."""

    producer = "pipelines"

    @abc.abstractmethod
    async def add_pipeline(self, pipeline: StoredPipeline) -> StoredPipeline:
        """Store ``pipeline`` as its name's next version (stamping version and ``created_at``) and make it
        the name's current version."""

    @abc.abstractmethod
    async def get_pipeline(self, name: str, version: int = 0) -> StoredPipeline | None:
        """The version asked for; 0 means the latest (with its ``next_scheduled_at``)."""

    @abc.abstractmethod
    async def list_pipelines(self, page: Page) -> list[StoredPipeline]:
        """The latest version of each pipeline, by name, after ``page.after``."""

    @abc.abstractmethod
    async def pipelines_on_dataset(self, dataset_name: str) -> list[StoredPipeline]:
        """Latest versions whose trigger names ``dataset_name``."""

    @abc.abstractmethod
    async def pipelines_on_alert(self, kind: str, model_name: str) -> list[StoredPipeline]:
        """Latest versions whose trigger names alert ``kind`` and whose model is ``model_name``."""

    @abc.abstractmethod
    async def due_schedule(self, now: datetime) -> StoredPipeline | None:
        """One latest version whose schedule is due (``next_scheduled_at <= now``), locked; concurrent
        drivers never take the same one (``FOR UPDATE SKIP LOCKED``)."""

    @abc.abstractmethod
    async def set_next_schedule(self, name: str, at: datetime | None) -> None: ...

    @abc.abstractmethod
    async def add_run(self, run: PipelineRun) -> PipelineRun:
        """Insert; a taken ``request_id`` raises AlreadyExists."""

    @abc.abstractmethod
    async def get_run(self, run_id: str, *, lock: bool = False) -> PipelineRun | None:
        """``lock`` holds the row until the end of the transaction. A malformed id is None."""

    @abc.abstractmethod
    async def find_run_by_request(self, request_id: str) -> PipelineRun | None: ...

    @abc.abstractmethod
    async def run_awaiting(self, promotion_id: str) -> PipelineRun | None:
        """The active run waiting on this registry promotion, locked."""

    @abc.abstractmethod
    async def save_run(self, run: PipelineRun) -> None:
        """Write the mutable state: status, inputs, steps, comparison, error, times, ``due_at``, ``awaiting``."""

    @abc.abstractmethod
    async def list_runs(self, query: RunQuery, page: Page) -> list[PipelineRun]:
        """Newest first: ordered by (created_at, run_id) descending, after ``page.after``."""

    @abc.abstractmethod
    async def active_runs(self, pipeline: str) -> int:
        """How many of the pipeline's runs are running or waiting for approval."""

    @abc.abstractmethod
    async def due_run(self, now: datetime) -> PipelineRun | None:
        """One active run whose ``due_at`` has come, locked (``FOR UPDATE SKIP LOCKED``), earliest first."""

    @abc.abstractmethod
    async def note_dataset(self, dataset_name: str, version: str, at: datetime) -> None:
        """Remember ``version`` as the dataset's newest (the one ingested last)."""

    @abc.abstractmethod
    async def newest_dataset(self, dataset_name: str) -> str | None:
        """The newest version seen of the dataset, as ``name@version``."""


UnitOfWorkFactory = Callable[..., PipelinesUnitOfWork]
