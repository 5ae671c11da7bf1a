"""The evaluation store's contract: the abstract unit of work (its methods are the documented contract).
``postgres`` holds the PostgreSQL adapter; ``memory`` the in-memory fake for unit tests. A unit of work
is one transaction: changes and the events they emit (through the outbox) commit together, or neither
does."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from llmops_common.pagination import KeyShape, Page, Timestamp, Uuid
from llmops_common.unit_of_work import UnitOfWork
from llmops_evaluation.domain.review import Review, Verdict
from llmops_evaluation.domain.run import EvaluationRun, RunStatus

#: runs are listed newest first, by (created_at, run_id)
RUNS_PAGE = KeyShape("evaluation.runs", (Timestamp(), Uuid()))


@dataclass(frozen=True)
class RunQuery:
    model_version: str = ""  # the spec's candidate as written, or the resolved models:/name/N
    dataset_version: str = ""
    statuses: tuple[RunStatus, ...] = ()


class EvaluationUnitOfWork(UnitOfWork):
    """One transaction over evaluation runs, reviews and their verdicts, the inbox and the outbox."""

    producer = "evaluation"

    @abc.abstractmethod
    async def add_run(self, run: EvaluationRun) -> EvaluationRun:
        """Insert, stamping ``created_at``; a taken ``request_id`` raises AlreadyExists."""

    @abc.abstractmethod
    async def get_run(self, run_id: str, *, lock: bool = False) -> EvaluationRun | None:
        """``lock`` holds the row until the end of the transaction. A malformed id is None."""

    @abc.abstractmethod
    async def find_run_by_request(self, request_id: str) -> EvaluationRun | None: ...

    @abc.abstractmethod
    async def save_run(self, run: EvaluationRun) -> None:
        """Write the mutable state: status, resolved models, progress, metrics, report URIs, error,
        attempts, lease and times."""

    @abc.abstractmethod
    async def list_runs(self, query: RunQuery, page: Page) -> list[EvaluationRun]:
        """Newest first: ordered by (created_at, run_id) descending, after ``page.after``."""

    @abc.abstractmethod
    async def claim_run(self, owner: str, now: datetime, lease_until: datetime,
                        max_attempts: int) -> EvaluationRun | None:
        """Take the oldest run that is PENDING, or RUNNING with a lease that expired before ``now``,
        and whose attempts are below ``max_attempts``: set it RUNNING, leased to ``owner`` until
        ``lease_until``, attempts + 1, ``started_at`` if unset. Concurrent claimers never take the same
        run (``FOR UPDATE SKIP LOCKED``)."""

    @abc.abstractmethod
    async def exhausted_runs(self, now: datetime, max_attempts: int, limit: int) -> list[EvaluationRun]:
        """RUNNING runs whose lease expired and that used all their attempts (to be failed)."""

    @abc.abstractmethod
    async def add_review(self, review: Review) -> Review:
        """Insert the review and its items, stamping ``created_at``."""

    @abc.abstractmethod
    async def get_review(self, review_id: str) -> Review | None:
        """With its items in order. A malformed id is None."""

    @abc.abstractmethod
    async def put_verdicts(self, review_id: str, verdicts: list[Verdict]) -> None:
        """Upsert by (item, rater): a rater's later verdict on an item replaces the earlier one."""

    @abc.abstractmethod
    async def verdicts(self, review_id: str) -> list[Verdict]:
        """Every current verdict of the review, by item then rater."""


UnitOfWorkFactory = Callable[..., EvaluationUnitOfWork]  # called as uow() or uow(readonly=True)
