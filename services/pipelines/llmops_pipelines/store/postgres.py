"""The pipelines store's unit of work on PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import psycopg

from llmops_common.db import json_param as _j
from llmops_common.errors import AlreadyExists
from llmops_common.pagination import Page
from llmops_common.unit_of_work import PostgresUnitOfWork as PostgresTransaction
from llmops_common.unit_of_work import SubjectAuditLog
from llmops_common.validation import canonical_id
from llmops_pipelines.domain.pipeline import StoredPipeline
from llmops_pipelines.domain.policy import definition_from_dict
from llmops_pipelines.domain.run import PipelineRun, RunStatus, Step, Trigger
from llmops_pipelines.store import PipelinesUnitOfWork, RunQuery

_PIPELINE_SELECT = ("SELECT p.definition, p.version, p.definition_yaml, p.digest, p.created_by, p.created_at,"
                    " h.next_scheduled_at FROM pipelines p LEFT JOIN pipeline_heads h"
                    " ON h.name = p.name AND h.version = p.version")
_LATEST_SELECT = ("SELECT p.definition, p.version, p.definition_yaml, p.digest, p.created_by, p.created_at,"
                  " h.next_scheduled_at FROM pipeline_heads h JOIN pipelines p"
                  " ON p.name = h.name AND p.version = h.version")
_RUN_SELECT = ("SELECT run_id, pipeline, pipeline_version, definition, status, trigger, trigger_detail, inputs, steps,"
               " reproduces, comparison, error, created_by, request_id, created_at, updated_at, finished_at, due_at,"
               " awaiting FROM pipeline_runs")


def _pipeline(row: tuple) -> StoredPipeline:
    definition, version, text, digest, created_by, created_at, next_at = row
    return StoredPipeline(definition_from_dict(definition), version, text, digest, created_by, created_at, next_at)


def _run(row: tuple) -> PipelineRun:
    (run_id, pipeline, version, definition, status, trigger, detail, inputs, steps, reproduces, comparison, error,
     created_by, request_id, created_at, updated_at, finished_at, due_at, awaiting) = row
    return PipelineRun(str(run_id), pipeline, version, definition_from_dict(definition), Trigger(trigger), detail,
                       dict(inputs), [Step.from_json(s) for s in steps], RunStatus(status), reproduces,
                       list(comparison), error, created_by, request_id or "", created_at, updated_at, finished_at,
                       due_at, awaiting)


class PostgresUnitOfWork(SubjectAuditLog, PostgresTransaction, PipelinesUnitOfWork):
    # pipelines

    async def add_pipeline(self, pipeline: StoredPipeline) -> StoredPipeline:
        d = pipeline.definition
        # the head row serialises concurrent applies of one name (its lock is taken before the version is read)
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pipelines:{d.name}",))
        row = await self._one("SELECT COALESCE(MAX(version), 0) + 1 FROM pipelines WHERE name = %s", (d.name,))
        version = row[0]
        created = await self._one(
            "INSERT INTO pipelines (name, version, definition, definition_yaml, digest, created_by)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING created_at",
            (d.name, version, _j(d.canonical()), pipeline.definition_yaml, pipeline.digest, pipeline.created_by))
        await self.conn.execute(
            "INSERT INTO pipeline_heads (name, version, datasets, alerts, model_name, next_scheduled_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version,"
            " datasets = EXCLUDED.datasets, alerts = EXCLUDED.alerts, model_name = EXCLUDED.model_name,"
            " next_scheduled_at = EXCLUDED.next_scheduled_at",
            (d.name, version, list(d.trigger.datasets), list(d.trigger.alerts), d.model_name,
             pipeline.next_scheduled_at))
        return StoredPipeline(d, version, pipeline.definition_yaml, pipeline.digest, pipeline.created_by, created[0],
                              pipeline.next_scheduled_at)

    async def get_pipeline(self, name: str, version: int = 0) -> StoredPipeline | None:
        if version:
            row = await self._one(f"{_PIPELINE_SELECT} WHERE p.name = %s AND p.version = %s", (name, version))
        else:
            row = await self._one(f"{_LATEST_SELECT} WHERE h.name = %s", (name,))
        return _pipeline(row) if row else None

    async def list_pipelines(self, page: Page) -> list[StoredPipeline]:
        where, params = "TRUE", []
        if page.after:
            where, params = 'h.name COLLATE "C" > %s', [page.after[0]]
        rows = await self._all(f'{_LATEST_SELECT} WHERE {where} ORDER BY h.name COLLATE "C" LIMIT %s',
                               [*params, page.size])
        return [_pipeline(r) for r in rows]

    async def pipelines_on_dataset(self, dataset_name: str) -> list[StoredPipeline]:
        rows = await self._all(f"{_LATEST_SELECT} WHERE h.datasets @> ARRAY[%s]::text[] ORDER BY h.name",
                               (dataset_name,))
        return [_pipeline(r) for r in rows]

    async def pipelines_on_alert(self, kind: str, model_name: str) -> list[StoredPipeline]:
        rows = await self._all(f"{_LATEST_SELECT} WHERE h.alerts @> ARRAY[%s]::text[] AND h.model_name = %s"
                               " ORDER BY h.name", (kind, model_name))
        return [_pipeline(r) for r in rows]

    async def due_schedule(self, now: datetime) -> StoredPipeline | None:
        row = await self._one("SELECT name FROM pipeline_heads WHERE next_scheduled_at <= %s"
                              " ORDER BY next_scheduled_at LIMIT 1 FOR UPDATE SKIP LOCKED", (now,))
        return await self.get_pipeline(row[0]) if row else None

    async def set_next_schedule(self, name: str, at: datetime | None) -> None:
        await self.conn.execute("UPDATE pipeline_heads SET next_scheduled_at = %s WHERE name = %s", (at, name))

    # runs

    async def add_run(self, run: PipelineRun) -> PipelineRun:
        try:
            async with self.conn.transaction():  # a savepoint: a taken request id leaves the unit usable
                await self.conn.execute(
                    "INSERT INTO pipeline_runs (run_id, pipeline, pipeline_version, definition, status, trigger,"
                    " trigger_detail, inputs, steps, reproduces, comparison, error, created_by, request_id,"
                    " created_at, updated_at, finished_at, due_at, awaiting)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (run.run_id, run.pipeline, run.pipeline_version, _j(run.definition.canonical()), run.status.value,
                     run.trigger.value, run.trigger_detail, _j(run.inputs), _j([s.as_json() for s in run.steps]),
                     run.reproduces, _j(run.comparison), run.error, run.created_by, run.request_id or None,
                     run.created_at, run.updated_at, run.finished_at, run.due_at, run.awaiting))
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists("a pipeline run with this request_id exists", field="request_id") from None
        return run

    async def get_run(self, run_id: str, *, lock: bool = False) -> PipelineRun | None:
        key = canonical_id(run_id)
        if key is None:
            return None
        row = await self._one(f"{_RUN_SELECT} WHERE run_id = %s" + (" FOR UPDATE" if lock else ""), (key,))
        return _run(row) if row else None

    async def find_run_by_request(self, request_id: str) -> PipelineRun | None:
        row = await self._one(f"{_RUN_SELECT} WHERE request_id = %s", (request_id,))
        return _run(row) if row else None

    async def run_awaiting(self, promotion_id: str) -> PipelineRun | None:
        row = await self._one(f"{_RUN_SELECT} WHERE awaiting = %s AND awaiting <> ''"
                              " AND status IN ('running', 'waiting_approval')"
                              " LIMIT 1 FOR UPDATE", (promotion_id,))
        return _run(row) if row else None

    async def save_run(self, run: PipelineRun) -> None:
        await self.conn.execute(
            "UPDATE pipeline_runs SET status = %s, inputs = %s, steps = %s, comparison = %s, error = %s,"
            " updated_at = %s, finished_at = %s, due_at = %s, awaiting = %s WHERE run_id = %s",
            (run.status.value, _j(run.inputs), _j([s.as_json() for s in run.steps]), _j(run.comparison), run.error,
             run.updated_at, run.finished_at, run.due_at, run.awaiting, run.run_id))

    async def list_runs(self, query: RunQuery, page: Page) -> list[PipelineRun]:
        where, params = ["TRUE"], []
        if query.pipeline:
            where.append("pipeline = %s")
            params.append(query.pipeline)
        if query.statuses:
            where.append("status = ANY(%s)")
            params.append([s.value for s in query.statuses])
        if page.after:
            where.append("(created_at, run_id) < (%s, %s)")
            params.extend(page.after)
        rows = await self._all(f"{_RUN_SELECT} WHERE {' AND '.join(where)}"
                               " ORDER BY created_at DESC, run_id DESC LIMIT %s", [*params, page.size])
        return [_run(r) for r in rows]

    async def active_runs(self, pipeline: str) -> int:
        row = await self._one("SELECT count(*) FROM pipeline_runs WHERE pipeline = %s"
                              " AND status IN ('running', 'waiting_approval')", (pipeline,))
        return row[0]

    async def due_run(self, now: datetime) -> PipelineRun | None:
        row = await self._one(f"{_RUN_SELECT} WHERE status IN ('running', 'waiting_approval') AND due_at <= %s"
                              " ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED", (now,))
        return _run(row) if row else None

    # datasets seen

    async def note_dataset(self, dataset_name: str, version: str, at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO dataset_heads (dataset_name, version, seen_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (dataset_name) DO UPDATE SET version = EXCLUDED.version, seen_at = EXCLUDED.seen_at"
            " WHERE dataset_heads.seen_at <= EXCLUDED.seen_at", (dataset_name, version, at))

    async def newest_dataset(self, dataset_name: str) -> str | None:
        row = await self._one("SELECT version FROM dataset_heads WHERE dataset_name = %s", (dataset_name,))
        return f"{dataset_name}@{row[0]}" if row else None
