"""An in-memory fake of the training unit of work, for unit tests (production code never imports it)."""

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
from llmops_training.domain.run import ACTIVE, Checkpoint, ProgressPoint, Run
from llmops_training.domain.sweep import Sweep
from llmops_training.store import RunQuery, TrainingUnitOfWork


class InMemoryTraining:
    """The committed state the fake units of work share."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.points: dict[str, list[ProgressPoint]] = {}
        self.sweeps: dict[str, Sweep] = {}
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.audit: list[AuditEntry] = []
        self.outbox: list[Envelope[Any]] = []

    def unit_of_work(self, *, readonly: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


class InMemoryUnitOfWork(InMemoryTransaction, TrainingUnitOfWork):
    """Stages changes on copies and publishes them to the shared state only on commit."""

    tables = ("runs", "points", "sweeps", "inbox")

    async def __aenter__(self) -> InMemoryUnitOfWork:
        await super().__aenter__()
        self.points = {k: list(v) for k, v in self.points.items()}
        return self

    async def add_run(self, run: Run) -> Run:
        if run.request_id and await self.find_run_by_request(run.request_id):
            raise AlreadyExists("a run with this request_id exists", field="request_id")
        stored = copy.deepcopy(run)
        stored.created_at = datetime.now(UTC)
        self.runs[run.run_id] = stored
        return copy.deepcopy(stored)

    async def get_run(self, run_id: str, *, lock: bool = False) -> Run | None:
        run = self.runs.get(run_id)
        return copy.deepcopy(run) if run else None

    async def find_run_by_request(self, request_id: str) -> Run | None:
        return next((copy.deepcopy(r) for r in self.runs.values() if r.request_id == request_id), None)

    async def save_run(self, run: Run) -> None:
        self.runs[run.run_id] = copy.deepcopy(run)

    async def list_runs(self, query: RunQuery, page: Page) -> list[Run]:
        def matches(r: Run) -> bool:
            return ((not query.statuses or r.status in query.statuses)
                    and (not query.sweep_id or r.sweep_id == query.sweep_id)
                    and (not query.base_model or query.base_model in (r.spec.base_model,
                                                                      r.resolved.get("base_model_version")))
                    and (not query.dataset_version or r.spec.dataset_version == query.dataset_version)
                    and (query.created_after is None or r.created_at >= query.created_after)
                    and (query.created_before is None or r.created_at < query.created_before))
        rows = sorted((r for r in self.runs.values() if matches(r)), key=lambda r: (r.created_at, r.run_id),
                      reverse=True)
        if page.after:
            rows = [r for r in rows if (r.created_at, r.run_id) < (page.after[0], str(page.after[1]))]
        return [copy.deepcopy(r) for r in rows[: page.size]]

    async def active_runs(self, limit: int) -> list[Run]:
        rows = sorted((r for r in self.runs.values() if r.status in ACTIVE and not r.sweep_id),
                      key=lambda r: (r.created_at, r.run_id))
        return [copy.deepcopy(r) for r in rows[:limit]]

    async def add_points(self, run_id: str, points: list[ProgressPoint]) -> list[ProgressPoint]:
        stored = self.points.setdefault(run_id, [])
        last = max((p.seq for p in stored), default=0)
        added = [replace(p, seq=last + i + 1, occurred_at=p.occurred_at or datetime.now(UTC))
                 for i, p in enumerate(points)]
        stored.extend(added)
        return added

    async def rewind_points(self, run_id: str, after_step: int) -> None:
        self.points[run_id] = [p for p in self.points.get(run_id, []) if p.kind != "progress" or p.step <= after_step]

    async def points_after(self, run_id: str, after_seq: int, limit: int) -> list[ProgressPoint]:
        return [p for p in self.points.get(run_id, []) if p.seq > after_seq][:limit]

    async def last_point_seq(self, run_id: str) -> int:
        return max((p.seq for p in self.points.get(run_id, [])), default=0)

    async def add_checkpoints(self, run_id: str, checkpoints: list[Checkpoint]) -> None:
        run = copy.deepcopy(self.runs[run_id])
        self.runs[run_id] = run
        known = {c.step for c in run.checkpoints}
        run.checkpoints = (*run.checkpoints, *(c for c in checkpoints if c.step not in known))

    async def add_sweep(self, sweep: Sweep) -> Sweep:
        if sweep.request_id and await self.find_sweep_by_request(sweep.request_id):
            raise AlreadyExists("a sweep with this request_id exists", field="request_id")
        stored = copy.deepcopy(sweep)
        stored.created_at = datetime.now(UTC)
        self.sweeps[sweep.sweep_id] = stored
        return copy.deepcopy(stored)

    async def get_sweep(self, sweep_id: str, *, lock: bool = False) -> Sweep | None:
        sweep = self.sweeps.get(sweep_id)
        return copy.deepcopy(sweep) if sweep else None

    async def find_sweep_by_request(self, request_id: str) -> Sweep | None:
        return next((copy.deepcopy(s) for s in self.sweeps.values() if s.request_id == request_id), None)

    async def save_sweep(self, sweep: Sweep) -> None:
        self.sweeps[sweep.sweep_id] = copy.deepcopy(sweep)

    async def active_sweeps(self, limit: int) -> list[Sweep]:
        rows = sorted((s for s in self.sweeps.values() if s.status in ACTIVE), key=lambda s: (s.created_at, s.sweep_id))
        return [copy.deepcopy(s) for s in rows[:limit]]
