"""An in-memory fake of the pipelines unit of work, for unit tests (production code never imports it)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.errors import AlreadyExists
from llmops_common.events import Envelope
from llmops_common.pagination import Page
from llmops_common.unit_of_work import InMemoryUnitOfWork as InMemoryTransaction
from llmops_common.validation import canonical_id
from llmops_pipelines.domain.pipeline import StoredPipeline
from llmops_pipelines.domain.run import PipelineRun
from llmops_pipelines.store import PipelinesUnitOfWork, RunQuery


class InMemoryPipelines:
    """The committed state the fake units of work share."""

    def __init__(self) -> None:
        self.pipelines: dict[tuple[str, int], StoredPipeline] = {}
        self.heads: dict[str, tuple[int, datetime | None]] = {}  # name -> (latest version, next schedule)
        self.runs: dict[str, PipelineRun] = {}
        self.datasets: dict[str, tuple[str, datetime]] = {}  # name -> (newest version, when it was seen)
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.audit: list[AuditEntry] = []
        self.outbox: list[Envelope[Any]] = []

    def unit_of_work(self, *, readonly: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


class InMemoryUnitOfWork(InMemoryTransaction, PipelinesUnitOfWork):
    tables = ("pipelines", "heads", "runs", "datasets", "inbox")

    def _latest(self) -> list[StoredPipeline]:
        return [replace(self.pipelines[(name, version)], next_scheduled_at=at)
                for name, (version, at) in sorted(self.heads.items())]

    def _version(self, name: str, version: int) -> StoredPipeline | None:
        """A version carries the head's schedule when it is the head, else none."""
        stored = self.pipelines.get((name, version))
        head, at = self.heads.get(name, (0, None))
        return replace(stored, next_scheduled_at=at if version == head else None) if stored else None

    async def add_pipeline(self, pipeline: StoredPipeline) -> StoredPipeline:
        version = self.heads.get(pipeline.name, (0, None))[0] + 1
        stored = replace(pipeline, version=version, created_at=datetime.now(UTC))
        self.pipelines[(pipeline.name, version)] = stored
        self.heads[pipeline.name] = (version, pipeline.next_scheduled_at)
        return stored

    async def get_pipeline(self, name: str, version: int = 0) -> StoredPipeline | None:
        return self._version(name, version or self.heads.get(name, (0, None))[0])

    async def list_pipelines(self, page: Page) -> list[StoredPipeline]:
        rows = [p for p in self._latest() if page.after is None or p.name > page.after[0]]
        return rows[:page.size]

    async def pipelines_on_dataset(self, dataset_name: str) -> list[StoredPipeline]:
        return [p for p in self._latest() if dataset_name in p.definition.trigger.datasets]

    async def pipelines_on_alert(self, kind: str, model_name: str) -> list[StoredPipeline]:
        return [p for p in self._latest()
                if kind in p.definition.trigger.alerts and p.definition.model_name == model_name]

    async def due_schedule(self, now: datetime) -> StoredPipeline | None:
        due = [p for p in self._latest() if p.next_scheduled_at is not None and p.next_scheduled_at <= now]
        return min(due, key=lambda p: p.next_scheduled_at) if due else None

    async def set_next_schedule(self, name: str, at: datetime | None) -> None:
        if name in self.heads:
            self.heads[name] = (self.heads[name][0], at)

    async def add_run(self, run: PipelineRun) -> PipelineRun:
        if run.request_id and await self.find_run_by_request(run.request_id):
            raise AlreadyExists("a pipeline run with this request_id exists", field="request_id")
        self.runs[run.run_id] = copy.deepcopy(run)
        return copy.deepcopy(run)

    async def get_run(self, run_id: str, *, lock: bool = False) -> PipelineRun | None:
        run = self.runs.get(canonical_id(run_id) or "")
        return copy.deepcopy(run) if run else None

    async def find_run_by_request(self, request_id: str) -> PipelineRun | None:
        run = next((r for r in self.runs.values() if r.request_id == request_id), None)
        return copy.deepcopy(run) if run else None

    async def run_awaiting(self, promotion_id: str) -> PipelineRun | None:
        run = next((r for r in self.runs.values()
                    if r.status.active and r.awaiting and r.awaiting == promotion_id), None)
        return copy.deepcopy(run) if run else None

    async def save_run(self, run: PipelineRun) -> None:
        if (stored := self.runs.get(run.run_id)) is not None:
            self.runs[run.run_id] = copy.deepcopy(replace(
                stored, status=run.status, inputs=run.inputs, steps=run.steps, comparison=run.comparison,
                error=run.error, updated_at=run.updated_at, finished_at=run.finished_at, due_at=run.due_at,
                awaiting=run.awaiting))

    async def list_runs(self, query: RunQuery, page: Page) -> list[PipelineRun]:
        rows = sorted(self.runs.values(), key=lambda r: (r.created_at, r.run_id), reverse=True)
        rows = [r for r in rows if (not query.pipeline or r.pipeline == query.pipeline)
                and (not query.statuses or r.status in query.statuses)
                and (page.after is None or (r.created_at, r.run_id) < tuple(page.after))]
        return copy.deepcopy(rows[:page.size])

    async def active_runs(self, pipeline: str) -> int:
        return sum(1 for r in self.runs.values() if r.pipeline == pipeline and r.status.active)

    async def due_run(self, now: datetime) -> PipelineRun | None:
        due = [r for r in self.runs.values() if r.status.active and r.due_at is not None and r.due_at <= now]
        return copy.deepcopy(min(due, key=lambda r: r.due_at)) if due else None

    async def note_dataset(self, dataset_name: str, version: str, at: datetime) -> None:
        if dataset_name not in self.datasets or self.datasets[dataset_name][1] <= at:
            self.datasets[dataset_name] = (version, at)

    async def newest_dataset(self, dataset_name: str) -> str | None:
        seen = self.datasets.get(dataset_name)
        return f"{dataset_name}@{seen[0]}" if seen else None
