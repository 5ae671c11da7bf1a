"""The training store's unit of work on PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

import psycopg

from llmops_common.errors import AlreadyExists
from llmops_common.pagination import Page
from llmops_common.unit_of_work import PostgresUnitOfWork as PostgresTransaction
from llmops_common.unit_of_work import SubjectAuditLog
from llmops_training.domain.run import ACTIVE, Checkpoint, Progress, ProgressPoint, Run, RunError, RunStatus
from llmops_training.domain.spec import spec_from_dict
from llmops_training.domain.sweep import Sweep, Trial, sweep_spec_from_dict, sweep_spec_to_dict
from llmops_training.store import RunQuery, TrainingUnitOfWork

_RUN_COLUMNS = ("run_id, name, status, spec, config_hash, created_by, request_id, correlation_id, sweep_id, resolved,"
                " plan, job_cursor, submitted, cancel_sent, progress, output_uri, output_ready, model_version, metrics,"
                " error, created_at, queued_at, started_at, finished_at")
_RUN_SELECT = (f"SELECT {', '.join('r.' + c.strip() for c in _RUN_COLUMNS.split(','))},"
               " COALESCE((SELECT json_agg(json_build_array(c.step, c.uri, c.metrics, c.created_at) ORDER BY c.step)"
               " FROM checkpoints c WHERE c.run_id = r.run_id), '[]'::json) FROM runs r")
_POINT_COLUMNS = "kind, status, step, total_steps, epoch, metrics, message, checkpoint_uri, occurred_at, seq"
_SWEEP_COLUMNS = ("sweep_id, name, status, spec, config_hash, created_by, request_id, correlation_id, resolved, plan,"
                  " job_cursor, submitted, cancel_sent, best_run_id, best_metric, cheapest_run_id, error, created_at,"
                  " queued_at, finished_at")
_TRIAL_COLUMNS = ("run_id, idx, status, parameters, objective, compute_seconds, tokens, peak_memory_bytes,"
                  " estimated_cost, stopped_early, steps")
_TRIAL_FIELDS = ", ".join("t." + c.strip() for c in _TRIAL_COLUMNS.split(","))
_SWEEP_SELECT = (f"SELECT {', '.join('s.' + c.strip() for c in _SWEEP_COLUMNS.split(','))},"
                 f" COALESCE((SELECT json_agg(json_build_array({_TRIAL_FIELDS})"
                 " ORDER BY t.idx) FROM trials t WHERE t.sweep_id = s.sweep_id), '[]'::json) FROM sweeps s")


def _j(value: Any) -> str:
    return json.dumps(value)


def _error_json(error: RunError | None) -> str | None:
    return _j(asdict(error)) if error else None


def _progress_json(p: Progress) -> str:
    return _j({"step": p.step, "total_steps": p.total_steps, "epoch": p.epoch, "metrics": p.metrics,
               "updated_at": p.updated_at.isoformat() if p.updated_at else None})


def _run(row: tuple) -> Run:
    (run_id, name, status, spec, config_hash, created_by, request_id, correlation_id, sweep_id, resolved, plan,
     cursor, submitted, cancel_sent, progress, output_uri, output_ready, model_version, metrics, error, created_at,
     queued_at, started_at, finished_at, checkpoints) = row
    updated = progress.get("updated_at")
    return Run(
        run_id=str(run_id), name=name, spec=spec_from_dict(spec), created_by=created_by, config_hash=config_hash,
        status=RunStatus(status), request_id=request_id or "", correlation_id=correlation_id or "",
        sweep_id=str(sweep_id) if sweep_id else "", resolved=resolved, plan=plan, job_cursor=cursor,
        submitted=submitted, cancel_sent=cancel_sent,
        progress=Progress(progress.get("step", 0), progress.get("total_steps", 0), progress.get("epoch", 0.0),
                          progress.get("metrics", {}), datetime.fromisoformat(updated) if updated else None),
        checkpoints=tuple(Checkpoint(s, u, m, datetime.fromisoformat(c)) for s, u, m, c in checkpoints),
        output_uri=output_uri, output_ready=output_ready, model_version=model_version, metrics=metrics,
        error=RunError(**error) if error else None, created_at=created_at, queued_at=queued_at,
        started_at=started_at, finished_at=finished_at,
    )


def _point(row: tuple) -> ProgressPoint:
    kind, status, step, total, epoch, metrics, message, uri, at, seq = row
    return ProgressPoint(kind, RunStatus(status), step, total, epoch, metrics, message, uri, at, seq)


def _sweep(row: tuple) -> Sweep:
    (sweep_id, name, status, spec, config_hash, created_by, request_id, correlation_id, resolved, plan, cursor,
     submitted, cancel_sent, best_run_id, best_metric, cheapest_run_id, error, created_at, queued_at, finished_at,
     trials) = row
    return Sweep(
        sweep_id=str(sweep_id), name=name, spec=sweep_spec_from_dict(spec), created_by=created_by,
        config_hash=config_hash, status=RunStatus(status), request_id=request_id or "",
        correlation_id=correlation_id or "", resolved=resolved, plan=plan, job_cursor=cursor, submitted=submitted,
        cancel_sent=cancel_sent,
        trials=[Trial(str(t[0]), t[1], RunStatus(t[2]), t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10])
                for t in trials],
        best_run_id=best_run_id, best_metric=best_metric, cheapest_run_id=cheapest_run_id,
        error=RunError(**error) if error else None, created_at=created_at, queued_at=queued_at,
        finished_at=finished_at,
    )


class PostgresUnitOfWork(SubjectAuditLog, PostgresTransaction, TrainingUnitOfWork):
    """The training store's unit of work on PostgreSQL."""

    # runs

    async def add_run(self, run: Run) -> Run:
        try:
            async with self.conn.transaction():  # savepoint: a duplicate leaves the outer transaction usable
                await self.conn.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    " %s, %s, %s, %s, %s, %s, %s, now(), %s, %s, %s)",
                    (run.run_id, run.name, run.status.value, _j(run.spec.to_dict()), run.config_hash, run.created_by,
                     run.request_id or None, run.correlation_id or None, run.sweep_id or None, _j(run.resolved),
                     _j(run.plan), run.job_cursor, run.submitted, run.cancel_sent, _progress_json(run.progress),
                     run.output_uri, run.output_ready, run.model_version, _j(run.metrics), _error_json(run.error),
                     run.queued_at, run.started_at, run.finished_at),
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists("a run with this request_id exists", field="request_id") from None
        stored = await self.get_run(run.run_id)
        assert stored is not None
        return stored

    async def get_run(self, run_id: str, *, lock: bool = False) -> Run | None:
        row = await self._one(f"{_RUN_SELECT} WHERE r.run_id = %s" + (" FOR UPDATE OF r" if lock else ""),
                              (run_id,))
        return _run(row) if row else None

    async def find_run_by_request(self, request_id: str) -> Run | None:
        row = await self._one(f"{_RUN_SELECT} WHERE r.request_id = %s", (request_id,))
        return _run(row) if row else None

    async def save_run(self, run: Run) -> None:
        await self.conn.execute(
            "UPDATE runs SET status = %s, resolved = %s, plan = %s, job_cursor = %s, submitted = %s, cancel_sent = %s,"
            " progress = %s, output_uri = %s, output_ready = %s, model_version = %s, metrics = %s, error = %s,"
            " queued_at = %s, started_at = %s, finished_at = %s WHERE run_id = %s",
            (run.status.value, _j(run.resolved), _j(run.plan), run.job_cursor, run.submitted, run.cancel_sent,
             _progress_json(run.progress), run.output_uri, run.output_ready, run.model_version, _j(run.metrics),
             _error_json(run.error), run.queued_at, run.started_at, run.finished_at, run.run_id),
        )

    async def list_runs(self, query: RunQuery, page: Page) -> list[Run]:
        where, params = ["TRUE"], []
        if query.statuses:
            where.append("r.status = ANY(%s)")
            params.append([s.value for s in query.statuses])
        for clause, value in (
            ("r.sweep_id::text = %s", query.sweep_id),
            ("(r.spec->>'base_model' = %s OR r.resolved->>'base_model_version' = %s)", query.base_model),
            ("r.spec->>'dataset_version' = %s", query.dataset_version),
            ("r.created_at >= %s", query.created_after),
            ("r.created_at < %s", query.created_before),
        ):
            if value:
                where.append(clause)
                params.extend([value] * clause.count("%s"))
        if page.after:
            where.append("(r.created_at, r.run_id) < (%s, %s)")
            params.extend(page.after)
        rows = await self._all(f"{_RUN_SELECT} WHERE {' AND '.join(where)}"
                               " ORDER BY r.created_at DESC, r.run_id DESC LIMIT %s", [*params, page.size])
        return [_run(r) for r in rows]

    async def active_runs(self, limit: int) -> list[Run]:
        rows = await self._all(f"{_RUN_SELECT} WHERE r.status = ANY(%s) AND r.sweep_id IS NULL"
                               " ORDER BY r.created_at, r.run_id LIMIT %s", ([s.value for s in ACTIVE], limit))
        return [_run(r) for r in rows]

    # progress and checkpoints

    async def add_points(self, run_id: str, points: list[ProgressPoint]) -> list[ProgressPoint]:
        if not points:
            return []
        first = await self.last_point_seq(run_id) + 1
        added = []
        for i, p in enumerate(points):
            added.append(_point(await self._one(
                "INSERT INTO progress_points (run_id, seq, kind, status, step, total_steps, epoch, metrics, message,"
                f" checkpoint_uri, occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                f" COALESCE(%s, now())) RETURNING {_POINT_COLUMNS}",
                (run_id, first + i, p.kind, p.status.value, p.step, p.total_steps, p.epoch, _j(p.metrics), p.message,
                 p.checkpoint_uri, p.occurred_at))))
        return added

    async def rewind_points(self, run_id: str, after_step: int) -> None:
        await self.conn.execute("DELETE FROM progress_points WHERE run_id = %s AND kind = 'progress' AND step > %s",
                                (run_id, after_step))

    async def points_after(self, run_id: str, after_seq: int, limit: int) -> list[ProgressPoint]:
        rows = await self._all(f"SELECT {_POINT_COLUMNS} FROM progress_points WHERE run_id = %s AND seq > %s"
                               " ORDER BY seq LIMIT %s", (run_id, after_seq, limit))
        return [_point(r) for r in rows]

    async def last_point_seq(self, run_id: str) -> int:
        row = await self._one("SELECT COALESCE(max(seq), 0) FROM progress_points WHERE run_id = %s", (run_id,))
        return int(row[0]) if row else 0

    async def add_checkpoints(self, run_id: str, checkpoints: list[Checkpoint]) -> None:
        for c in checkpoints:
            await self.conn.execute(
                "INSERT INTO checkpoints (run_id, step, uri, metrics, created_at) VALUES (%s, %s, %s, %s,"
                " COALESCE(%s, now())) ON CONFLICT (run_id, step) DO UPDATE SET uri = EXCLUDED.uri,"
                " metrics = EXCLUDED.metrics, created_at = EXCLUDED.created_at",
                (run_id, c.step, c.uri, _j(c.metrics), c.created_at))

    # sweeps

    async def add_sweep(self, sweep: Sweep) -> Sweep:
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    f"INSERT INTO sweeps ({_SWEEP_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    " %s, %s, %s, %s, now(), %s, %s)",
                    (sweep.sweep_id, sweep.name, sweep.status.value, _j(sweep_spec_to_dict(sweep.spec)),
                     sweep.config_hash, sweep.created_by, sweep.request_id or None, sweep.correlation_id or None,
                     _j(sweep.resolved), _j(sweep.plan), sweep.job_cursor, sweep.submitted, sweep.cancel_sent,
                     sweep.best_run_id, sweep.best_metric, sweep.cheapest_run_id, _error_json(sweep.error),
                     sweep.queued_at, sweep.finished_at),
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists("a sweep with this request_id exists", field="request_id") from None
        stored = await self.get_sweep(sweep.sweep_id)
        assert stored is not None
        return stored

    async def get_sweep(self, sweep_id: str, *, lock: bool = False) -> Sweep | None:
        row = await self._one(f"{_SWEEP_SELECT} WHERE s.sweep_id = %s" + (" FOR UPDATE OF s" if lock else ""),
                              (sweep_id,))
        return _sweep(row) if row else None

    async def find_sweep_by_request(self, request_id: str) -> Sweep | None:
        row = await self._one(f"{_SWEEP_SELECT} WHERE s.request_id = %s", (request_id,))
        return _sweep(row) if row else None

    async def save_sweep(self, sweep: Sweep) -> None:
        await self.conn.execute(
            "UPDATE sweeps SET status = %s, plan = %s, job_cursor = %s, submitted = %s, cancel_sent = %s,"
            " best_run_id = %s, best_metric = %s, cheapest_run_id = %s, error = %s, queued_at = %s, finished_at = %s"
            " WHERE sweep_id = %s",
            (sweep.status.value, _j(sweep.plan), sweep.job_cursor, sweep.submitted, sweep.cancel_sent,
             sweep.best_run_id, sweep.best_metric, sweep.cheapest_run_id, _error_json(sweep.error), sweep.queued_at,
             sweep.finished_at, sweep.sweep_id),
        )
        for t in sweep.trials:
            await self.conn.execute(
                f"INSERT INTO trials (sweep_id, {_TRIAL_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s) ON CONFLICT (sweep_id, idx) DO UPDATE SET status = EXCLUDED.status,"
                " parameters = EXCLUDED.parameters, objective = EXCLUDED.objective,"
                " compute_seconds = EXCLUDED.compute_seconds, tokens = EXCLUDED.tokens,"
                " peak_memory_bytes = EXCLUDED.peak_memory_bytes, estimated_cost = EXCLUDED.estimated_cost,"
                " stopped_early = EXCLUDED.stopped_early, steps = EXCLUDED.steps",
                (sweep.sweep_id, t.run_id, t.index, t.status.value, _j(t.parameters), t.objective, t.compute_seconds,
                 t.tokens, t.peak_memory_bytes, t.estimated_cost, t.stopped_early, t.steps))

    async def active_sweeps(self, limit: int) -> list[Sweep]:
        rows = await self._all(f"{_SWEEP_SELECT} WHERE s.status = ANY(%s) ORDER BY s.created_at, s.sweep_id LIMIT %s",
                               ([s.value for s in ACTIVE], limit))
        return [_sweep(r) for r in rows]

