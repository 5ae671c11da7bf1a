"""The evaluation store's unit of work on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import psycopg

from llmops_common.db import json_param as _j
from llmops_common.errors import AlreadyExists, NotFound
from llmops_common.pagination import Page
from llmops_common.unit_of_work import PostgresUnitOfWork as PostgresTransaction
from llmops_common.unit_of_work import SubjectAuditLog
from llmops_common.validation import canonical_id
from llmops_evaluation.domain.results import CANDIDATE
from llmops_evaluation.domain.review import Review, ReviewItem, Verdict
from llmops_evaluation.domain.run import EvaluationRun, RunStatus
from llmops_evaluation.store import EvaluationUnitOfWork, RunQuery
from llmops_evaluation.store.codec import (
    error_from_dict,
    error_to_dict,
    metrics_from_dict,
    metrics_to_dict,
    progress_from_dict,
    progress_to_dict,
    spec_from_dict,
    spec_to_dict,
)

_RUN_COLUMNS = ("run_id, status, spec, created_by, request_id, correlation_id, resolved_models, progress, metrics,"
                " report_uri, html_report_uri, error, attempts, lease_owner, lease_expires_at, created_at,"
                " started_at, completed_at")
_RUN_SELECT = f"SELECT {_RUN_COLUMNS} FROM runs"
_ITEM_COLUMNS = "item_id, record_id, input, reference, output_a, output_b, candidate_side"


def _run(row: tuple) -> EvaluationRun:
    (run_id, status, spec, created_by, request_id, correlation_id, resolved, progress, metrics, report_uri,
     html_report_uri, error, attempts, lease_owner, lease_expires_at, created_at, started_at, completed_at) = row
    return EvaluationRun(
        run_id=str(run_id), spec=spec_from_dict(spec), created_by=created_by, status=RunStatus(status),
        request_id=request_id or "", correlation_id=correlation_id or "", resolved_models=resolved,
        progress=progress_from_dict(progress), metrics=metrics_from_dict(metrics), report_uri=report_uri,
        html_report_uri=html_report_uri, error=error_from_dict(error), attempts=attempts, lease_owner=lease_owner,
        lease_expires_at=lease_expires_at, created_at=created_at, started_at=started_at, completed_at=completed_at,
    )


class PostgresUnitOfWork(SubjectAuditLog, PostgresTransaction, EvaluationUnitOfWork):
    """The evaluation store's unit of work on PostgreSQL."""

    # runs

    async def add_run(self, run: EvaluationRun) -> EvaluationRun:
        try:
            async with self.conn.transaction():  # savepoint: a duplicate leaves the outer transaction usable
                await self.conn.execute(
                    "INSERT INTO runs (run_id, status, spec, model_version, dataset_version, created_by, request_id,"
                    " correlation_id, resolved_models, progress, metrics, report_uri, html_report_uri, error,"
                    " attempts, lease_owner, lease_expires_at, started_at, completed_at) VALUES (%s, %s, %s, %s, %s,"
                    " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (run.run_id, run.status.value, _j(spec_to_dict(run.spec)), run.spec.model_version,
                     run.spec.dataset_version, run.created_by, run.request_id or None, run.correlation_id or None,
                     _j(run.resolved_models), _j(progress_to_dict(run.progress)), _j(metrics_to_dict(run.metrics)),
                     run.report_uri, run.html_report_uri, _j(error_to_dict(run.error)), run.attempts,
                     run.lease_owner, run.lease_expires_at, run.started_at, run.completed_at),
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists("an evaluation run with this request_id exists", field="request_id") from None
        stored = await self.get_run(run.run_id)
        assert stored is not None
        return stored

    async def get_run(self, run_id: str, *, lock: bool = False) -> EvaluationRun | None:
        key = canonical_id(run_id)
        if key is None:
            return None
        row = await self._one(f"{_RUN_SELECT} WHERE run_id = %s" + (" FOR UPDATE" if lock else ""), (key,))
        return _run(row) if row else None

    async def find_run_by_request(self, request_id: str) -> EvaluationRun | None:
        row = await self._one(f"{_RUN_SELECT} WHERE request_id = %s", (request_id,))
        return _run(row) if row else None

    async def save_run(self, run: EvaluationRun) -> None:
        await self.conn.execute(
            "UPDATE runs SET status = %s, resolved_models = %s, progress = %s, metrics = %s, report_uri = %s,"
            " html_report_uri = %s, error = %s, attempts = %s, lease_owner = %s, lease_expires_at = %s,"
            " started_at = %s, completed_at = %s WHERE run_id = %s",
            (run.status.value, _j(run.resolved_models), _j(progress_to_dict(run.progress)),
             _j(metrics_to_dict(run.metrics)), run.report_uri, run.html_report_uri, _j(error_to_dict(run.error)),
             run.attempts, run.lease_owner, run.lease_expires_at, run.started_at, run.completed_at, run.run_id),
        )

    async def list_runs(self, query: RunQuery, page: Page) -> list[EvaluationRun]:
        where, params = ["TRUE"], []
        if query.statuses:
            where.append("status = ANY(%s)")
            params.append([s.value for s in query.statuses])
        if query.model_version:
            where.append(f"(model_version = %s OR resolved_models->>'{CANDIDATE}' = %s)")
            params.extend([query.model_version] * 2)
        if query.dataset_version:
            where.append("dataset_version = %s")
            params.append(query.dataset_version)
        if page.after:
            where.append("(created_at, run_id) < (%s, %s)")
            params.extend(page.after)
        rows = await self._all(f"{_RUN_SELECT} WHERE {' AND '.join(where)}"
                               " ORDER BY created_at DESC, run_id DESC LIMIT %s", [*params, page.size])
        return [_run(r) for r in rows]

    async def claim_run(self, owner: str, now: datetime, lease_until: datetime,
                        max_attempts: int) -> EvaluationRun | None:
        row = await self._one(
            "WITH next AS (SELECT run_id FROM runs WHERE attempts < %s"
            " AND (status = 'pending' OR (status = 'running' AND lease_expires_at < %s))"
            " ORDER BY created_at, run_id LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " UPDATE runs r SET status = 'running', lease_owner = %s, lease_expires_at = %s,"
            " attempts = r.attempts + 1, started_at = COALESCE(r.started_at, %s)"
            " FROM next WHERE r.run_id = next.run_id RETURNING r.run_id",
            (max_attempts, now, owner, lease_until, now),
        )
        return await self.get_run(str(row[0])) if row else None

    async def exhausted_runs(self, now: datetime, max_attempts: int, limit: int) -> list[EvaluationRun]:
        rows = await self._all(
            f"{_RUN_SELECT} WHERE status = 'running' AND lease_expires_at < %s"
            " AND attempts >= %s ORDER BY created_at, run_id LIMIT %s", (now, max_attempts, limit))
        return [_run(r) for r in rows]

    # reviews

    async def add_review(self, review: Review) -> Review:
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    "INSERT INTO reviews (review_id, run_id, baseline_role, seed, uri, created_by)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    (review.review_id, review.run_id, review.baseline_role, review.seed, review.uri,
                     review.created_by))
                async with self.conn.cursor() as cur:
                    await cur.executemany(
                        f"INSERT INTO review_items (review_id, position, {_ITEM_COLUMNS})"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        [(review.review_id, i, it.item_id, it.record_id, it.input, it.reference, it.output_a,
                          it.output_b, it.candidate_side) for i, it in enumerate(review.items)])
        except psycopg.errors.ForeignKeyViolation:
            raise NotFound("no evaluation run with this id", field="run_id") from None
        stored = await self.get_review(review.review_id)
        assert stored is not None
        return stored

    async def get_review(self, review_id: str) -> Review | None:
        key = canonical_id(review_id)
        if key is None:
            return None
        row = await self._one("SELECT review_id, run_id, baseline_role, seed, uri, created_by, created_at"
                              " FROM reviews WHERE review_id = %s", (key,))
        if row is None:
            return None
        items = await self._all(f"SELECT {_ITEM_COLUMNS} FROM review_items WHERE review_id = %s ORDER BY position",
                                (key,))
        review_id, run_id, baseline_role, seed, uri, created_by, created_at = row
        return Review(str(review_id), str(run_id), baseline_role, seed, tuple(ReviewItem(*i) for i in items), uri,
                      created_by, created_at)

    async def put_verdicts(self, review_id: str, verdicts: list[Verdict]) -> None:
        key = canonical_id(review_id)
        if key is None:
            raise NotFound("no review with this id", field="review_id")
        try:
            async with self.conn.transaction(), self.conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO verdicts (review_id, item_id, rater, choice) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (review_id, item_id, rater) DO UPDATE SET choice = EXCLUDED.choice,"
                    " updated_at = now()",
                    [(key, v.item_id, v.rater, v.choice) for v in verdicts])
        except psycopg.errors.ForeignKeyViolation:
            raise NotFound("a verdict names an item this review does not have", field="verdicts") from None

    async def verdicts(self, review_id: str) -> list[Verdict]:
        key = canonical_id(review_id)
        if key is None:
            return []
        rows = await self._all(
            "SELECT v.item_id, v.choice, v.rater FROM verdicts v JOIN review_items i"
            " ON i.review_id = v.review_id AND i.item_id = v.item_id WHERE v.review_id = %s"
            " ORDER BY i.position, v.rater COLLATE \"C\"", (key,))
        return [Verdict(*r) for r in rows]
