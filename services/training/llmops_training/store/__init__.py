"""The training store's contract: the abstract unit of work (its methods are the documented contract)
and the page-token key shape. Rows leave as domain entities.

``postgres`` holds the PostgreSQL adapter; ``memory`` the in-memory fake for unit tests, which
production code never imports. A unit of work is one transaction: changes and the events they emit
(through the outbox) commit together, or neither does.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from llmops_common.pagination import KeyShape, Page, Timestamp, Uuid
from llmops_common.unit_of_work import UnitOfWork
from llmops_training.domain.run import Checkpoint, ProgressPoint, Run, RunStatus
from llmops_training.domain.sweep import Sweep

#: runs are listed newest first, by (created_at, run_id)
RUNS_PAGE = KeyShape("training.runs", (Timestamp(), Uuid()))


@dataclass(frozen=True)
class RunQuery:
    statuses: tuple[RunStatus, ...] = ()
    sweep_id: str = ""
    base_model: str = ""  # as written in the spec, or the resolved models:/name/N
    dataset_version: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None


class TrainingUnitOfWork(UnitOfWork):
    """One transaction over runs, their progress and checkpoints, sweeps, and the outbox."""

    producer = "training"

    # -- runs ------------------------------------------------------------------------------------

    @abc.abstractmethod
    async def add_run(self, run: Run) -> Run:
        """Insert, stamping ``created_at``; a taken ``request_id`` raises AlreadyExists."""

    @abc.abstractmethod
    async def get_run(self, run_id: str, *, lock: bool = False) -> Run | None:
        """The run with its checkpoints; ``lock`` holds its row until the end of the transaction."""

    @abc.abstractmethod
    async def find_run_by_request(self, request_id: str) -> Run | None: ...

    @abc.abstractmethod
    async def save_run(self, run: Run) -> None:
        """Write the run's mutable state (status, cursor, progress, outputs, error, times)."""

    @abc.abstractmethod
    async def list_runs(self, query: RunQuery, page: Page) -> list[Run]:
        """Newest first: ordered by (created_at, run_id) descending, after ``page.after``."""

    @abc.abstractmethod
    async def active_runs(self, limit: int) -> list[Run]:
        """Runs the tracker follows (PENDING, QUEUED, RUNNING, CANCELLING; not sweep trials), oldest first."""

    # -- progress and checkpoints ----------------------------------------------------------------

    @abc.abstractmethod
    async def add_points(self, run_id: str, points: list[ProgressPoint]) -> list[ProgressPoint]:
        """Append, assigning each the run's next ``seq``."""

    @abc.abstractmethod
    async def rewind_points(self, run_id: str, after_step: int) -> None:
        """Drop the run's loss-curve points (kind ``progress``) past ``after_step`` (a resume)."""

    @abc.abstractmethod
    async def points_after(self, run_id: str, after_seq: int, limit: int) -> list[ProgressPoint]:
        """The run's points with ``seq > after_seq``, in order, at most ``limit``."""

    @abc.abstractmethod
    async def last_point_seq(self, run_id: str) -> int:
        """The run's latest point's ``seq`` (0 when it has none)."""

    @abc.abstractmethod
    async def add_checkpoints(self, run_id: str, checkpoints: list[Checkpoint]) -> None: ...

    # -- sweeps ----------------------------------------------------------------------------------

    @abc.abstractmethod
    async def add_sweep(self, sweep: Sweep) -> Sweep:
        """Insert, stamping ``created_at``; a taken ``request_id`` raises AlreadyExists."""

    @abc.abstractmethod
    async def get_sweep(self, sweep_id: str, *, lock: bool = False) -> Sweep | None:
        """The sweep with its trials, by index."""

    @abc.abstractmethod
    async def find_sweep_by_request(self, request_id: str) -> Sweep | None: ...

    @abc.abstractmethod
    async def save_sweep(self, sweep: Sweep) -> None:
        """Write the sweep's mutable state and upsert its trials."""

    @abc.abstractmethod
    async def active_sweeps(self, limit: int) -> list[Sweep]: ...


UnitOfWorkFactory = Callable[..., TrainingUnitOfWork]  # called as uow() or uow(readonly=True)
