"""An in-memory fake of the evaluation unit of work, for unit tests (production code never imports it)."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.errors import AlreadyExists, NotFound
from llmops_common.events import Envelope
from llmops_common.pagination import Page
from llmops_common.unit_of_work import InMemoryUnitOfWork as InMemoryTransaction
from llmops_common.validation import canonical_id
from llmops_evaluation.domain.results import CANDIDATE
from llmops_evaluation.domain.review import Review, Verdict
from llmops_evaluation.domain.run import EvaluationRun, RunStatus
from llmops_evaluation.store import EvaluationUnitOfWork, RunQuery


class InMemoryEvaluation:
    """The committed state the fake units of work share."""

    def __init__(self) -> None:
        self.runs: dict[str, EvaluationRun] = {}
        self.reviews: dict[str, Review] = {}
        self.review_verdicts: dict[tuple[str, str, str], Verdict] = {}  # (review, item, rater) -> verdict
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.audit: list[AuditEntry] = []
        self.outbox: list[Envelope[Any]] = []

    def unit_of_work(self, *, readonly: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


def _oldest_first(runs: list[EvaluationRun]) -> list[EvaluationRun]:
    return sorted(runs, key=lambda r: (r.created_at, r.run_id))


class InMemoryUnitOfWork(InMemoryTransaction, EvaluationUnitOfWork):
    """Stages changes on copies and publishes them to the shared state only on commit."""

    tables = ("runs", "reviews", "review_verdicts", "inbox")

    # runs

    async def add_run(self, run: EvaluationRun) -> EvaluationRun:
        if run.request_id and await self.find_run_by_request(run.request_id):
            raise AlreadyExists("an evaluation run with this request_id exists", field="request_id")
        stored = copy.deepcopy(run)
        stored.created_at = datetime.now(UTC)
        self.runs[run.run_id] = stored
        return copy.deepcopy(stored)

    async def get_run(self, run_id: str, *, lock: bool = False) -> EvaluationRun | None:
        run = self.runs.get(canonical_id(run_id) or "")
        return copy.deepcopy(run) if run else None

    async def find_run_by_request(self, request_id: str) -> EvaluationRun | None:
        return next((copy.deepcopy(r) for r in self.runs.values() if r.request_id == request_id), None)

    async def save_run(self, run: EvaluationRun) -> None:
        stored = self.runs.get(run.run_id)
        if stored is None:
            return  # like an UPDATE that matches no row
        self.runs[run.run_id] = replace(copy.deepcopy(run), spec=stored.spec, created_by=stored.created_by,
                                        request_id=stored.request_id, correlation_id=stored.correlation_id,
                                        created_at=stored.created_at)

    async def list_runs(self, query: RunQuery, page: Page) -> list[EvaluationRun]:
        def matches(r: EvaluationRun) -> bool:
            return ((not query.statuses or r.status in query.statuses)
                    and (not query.model_version
                         or query.model_version in (r.spec.model_version, r.resolved_models.get(CANDIDATE)))
                    and (not query.dataset_version or r.spec.dataset_version == query.dataset_version))
        rows = _oldest_first([r for r in self.runs.values() if matches(r)])[::-1]
        if page.after:
            rows = [r for r in rows if (r.created_at, r.run_id) < (page.after[0], str(page.after[1]))]
        return [copy.deepcopy(r) for r in rows[: page.size]]

    async def claim_run(self, owner: str, now: datetime, lease_until: datetime,
                        max_attempts: int) -> EvaluationRun | None:
        claimable = [r for r in self.runs.values() if r.attempts < max_attempts and (
            r.status is RunStatus.PENDING or (r.status is RunStatus.RUNNING and r.lease_expires_at is not None
                                              and r.lease_expires_at < now))]
        if not claimable:
            return None
        run = _oldest_first(claimable)[0]
        self.runs[run.run_id] = replace(run, status=RunStatus.RUNNING, lease_owner=owner,
                                        lease_expires_at=lease_until, attempts=run.attempts + 1,
                                        started_at=run.started_at or now)
        return copy.deepcopy(self.runs[run.run_id])

    async def exhausted_runs(self, now: datetime, max_attempts: int, limit: int) -> list[EvaluationRun]:
        rows = _oldest_first([r for r in self.runs.values()
                              if r.status is RunStatus.RUNNING and r.attempts >= max_attempts
                              and r.lease_expires_at is not None and r.lease_expires_at < now])
        return [copy.deepcopy(r) for r in rows[:limit]]

    # reviews

    async def add_review(self, review: Review) -> Review:
        if review.run_id not in self.runs:
            raise NotFound("no evaluation run with this id", field="run_id")
        self.reviews[review.review_id] = replace(review, created_at=datetime.now(UTC))
        return self.reviews[review.review_id]

    async def get_review(self, review_id: str) -> Review | None:
        return self.reviews.get(canonical_id(review_id) or "")

    async def put_verdicts(self, review_id: str, verdicts: list[Verdict]) -> None:
        review = await self.get_review(review_id)
        items = {i.item_id for i in review.items} if review else set()
        if any(v.item_id not in items for v in verdicts):
            raise NotFound("a verdict names an item this review does not have", field="verdicts")
        for v in verdicts:
            self.review_verdicts[(review.review_id, v.item_id, v.rater)] = v

    async def verdicts(self, review_id: str) -> list[Verdict]:
        review = await self.get_review(review_id)
        if review is None:
            return []
        order = {item.item_id: i for i, item in enumerate(review.items)}
        rows = [v for (r, _, _), v in self.review_verdicts.items() if r == review.review_id]
        return sorted(rows, key=lambda v: (order[v.item_id], v.rater))
