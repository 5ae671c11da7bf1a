"""The monitoring store's unit of work on PostgreSQL. The inference log is partitioned by UTC day:
``add_inferences`` creates a missing day's partition (under an advisory lock, so concurrent writers
create it once) and retention detaches and drops whole days."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta

import psycopg
from psycopg import sql

from llmops_common.errors import AlreadyExists, FailedPrecondition
from llmops_common.pagination import Page
from llmops_common.unit_of_work import PostgresUnitOfWork as PostgresTransaction
from llmops_common.unit_of_work import SubjectAuditLog
from llmops_common.validation import canonical_id
from llmops_monitoring.domain.records import (
    Alert,
    AlertCandidate,
    AlertStatus,
    BlockEntry,
    Feedback,
    Inference,
    Severity,
)
from llmops_monitoring.store import (
    AlertQuery,
    FeedbackQuery,
    FeedbackRow,
    InferenceQuery,
    MonitoringUnitOfWork,
)
from llmops_monitoring.store.codec import (
    details_json,
    scores_from_dict,
    scores_to_dict,
    severities_at_least,
)

PARTITION_PREFIX = "inferences_p"
_PARTITION = re.compile(rf"{PARTITION_PREFIX}(\d{{8}})")
_CREATE_LOCK = ":create-partition"  # per schema
_DROP_LOCK = ":drop-partitions"  # its own: a dropper waits for writers, never they for it
_INFERENCE_COLUMNS = ("inference_id, model_version, created_at, release, deployment, api, key_id, end_user, session,"
                      " prompt, output, prompt_tokens, completion_tokens, latency_ms, ttft_ms, finish_reason, scores")
_INFERENCE_SELECT = f"SELECT {_INFERENCE_COLUMNS} FROM inferences"
_FEEDBACK_COLUMNS = ("feedback_id, inference_id, rating, score, categories, comment, correction, end_user, tags,"
                     " given_by, request_id, model_version, created_at")
_ALERT_COLUMNS = ("alert_id, detector, kind, severity, message, statistic, value, threshold, window_start,"
                  " window_end, model_version, subject_kind, subject, examples, details, status, occurrences,"
                  " raised_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by")


def partition_name(day: date) -> str:
    return f"{PARTITION_PREFIX}{day:%Y%m%d}"


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _inference(row: tuple) -> Inference:
    *fields, scores = row
    return Inference(*fields, scores=scores_from_dict(scores))


def _feedback(row: tuple) -> Feedback:
    (feedback_id, inference_id, rating, score, categories, comment, correction, user, tags, given_by, request_id,
     model_version, created_at) = row
    return Feedback(feedback_id, inference_id, rating, score, tuple(categories), comment, correction, user, tags,
                    given_by, request_id or "", model_version, created_at)


def _alert(row: tuple) -> Alert:
    (alert_id, detector, kind, severity, message, statistic, value, threshold, window_start, window_end,
     model_version, subject_kind, subject, examples, details, status, occurrences, raised_at, acknowledged_at,
     acknowledged_by, resolved_at, resolved_by) = row
    candidate = AlertCandidate(detector, kind, Severity(severity), message, statistic, value, threshold, window_start,
                               window_end, model_version, subject_kind, subject, tuple(examples), details)
    return Alert(str(alert_id), candidate, AlertStatus(status), occurrences, raised_at, acknowledged_at,
                 acknowledged_by, resolved_at, resolved_by)


class PostgresUnitOfWork(SubjectAuditLog, PostgresTransaction, MonitoringUnitOfWork):
    """The monitoring store's unit of work on PostgreSQL."""

    # the inference log

    async def _ensure_partitions(self, days: set[date]) -> None:
        """Make the missing days' partitions. CREATE TABLE ... PARTITION OF would lock the parent exclusively
        (deadlocking with writers that read it and wait here), so each day is made as a plain table and
        attached, which takes a lock readers and writers do not conflict with; the advisory lock makes
        racing writers create a day once (the second one finds it made once the first commits)."""
        missing = [day for day in sorted(days) if not await self._exists(partition_name(day))]
        if not missing:
            return
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || %s))", (_CREATE_LOCK,))
        for day in missing:
            name = sql.Identifier(partition_name(day))
            if await self._exists(partition_name(day)):
                continue
            start = datetime.combine(day, time(), UTC)
            await self.conn.execute(sql.SQL("CREATE TABLE {} (LIKE inferences INCLUDING DEFAULTS)").format(name))
            await self.conn.execute(sql.SQL("ALTER TABLE inferences ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})")
                                    .format(name, sql.Literal(start), sql.Literal(start + timedelta(days=1))))

    async def _exists(self, table: str) -> bool:
        # pg_class read with the statement's snapshot: to_regclass's cached catalog may miss a table another
        # writer committed while this one waited for the lock
        row = await self._one("SELECT EXISTS (SELECT FROM pg_class WHERE relname = %s"
                              " AND relnamespace = current_schema()::regnamespace)", (table,))
        return row[0]

    async def add_inferences(self, inferences: list[Inference]) -> int:
        batch = {i.inference_id: i for i in reversed(inferences)}  # the first of a repeated id wins
        if not batch:
            return 0
        # The key holds created_at, so an id logged before at another time is found through its index;
        # a redelivery (same id, same time) racing this one meets the primary key instead.
        logged = await self._all("SELECT inference_id FROM inferences WHERE inference_id = ANY(%s)", (list(batch),))
        for (inference_id,) in logged:
            del batch[inference_id]
        rows = list(batch.values())
        if not rows:
            return 0
        await self._ensure_partitions({utc_day(i.created_at) for i in rows})
        columns = [[getattr(i, f) for i in rows] for f in (
            "inference_id", "model_version", "created_at", "release", "deployment", "api", "key_id", "user",
            "session", "prompt", "output", "prompt_tokens", "completion_tokens", "latency_ms", "ttft_ms",
            "finish_reason")]
        columns.append([json.dumps(scores_to_dict(i.scores), allow_nan=False) for i in rows])
        cur = await self.conn.execute(
            f"INSERT INTO inferences ({_INFERENCE_COLUMNS}) SELECT i, m, c, r, d, a, k, u, s, p, o, pt, ct, l, t, f,"
            " sc::jsonb FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::text[], %s::text[],"
            " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::int[], %s::float8[],"
            " %s::float8[], %s::text[], %s::text[]) AS x(i, m, c, r, d, a, k, u, s, p, o, pt, ct, l, t, f, sc)"
            " ON CONFLICT DO NOTHING", columns)
        return cur.rowcount

    async def get_inference(self, inference_id: str) -> Inference | None:
        row = await self._one(f"{_INFERENCE_SELECT} WHERE inference_id = %s LIMIT 1", (inference_id,))
        return _inference(row) if row else None

    async def list_inferences(self, query: InferenceQuery, page: Page) -> list[Inference]:
        where, params = ["TRUE"], []
        for column, value in (("model_version", query.model_version), ("release", query.release),
                              ("key_id", query.key_id), ("end_user", query.user), ("session", query.session)):
            if value:
                where.append(f"{column} = %s")
                params.append(value)
        if query.created_after is not None:
            where.append("created_at >= %s")
            params.append(query.created_after)
        if query.created_before is not None:
            where.append("created_at < %s")
            params.append(query.created_before)
        if query.min_injection_score > 0:
            where.append("(scores->>'injection')::float8 >= %s")
            params.append(query.min_injection_score)
        if page.after:
            where.append("(created_at, inference_id) < (%s, %s)")
            params.extend(page.after)
        rows = await self._all(f"{_INFERENCE_SELECT} WHERE {' AND '.join(where)}"
                               " ORDER BY created_at DESC, inference_id DESC LIMIT %s", [*params, page.size])
        return [_inference(r) for r in rows]

    async def window(self, start: datetime, end: datetime, *, model_version: str = "",
                     limit: int = 10_000) -> list[Inference]:
        by_model = " AND model_version = %s" if model_version else ""
        rows = await self._all(
            f"SELECT * FROM ({_INFERENCE_SELECT} WHERE created_at >= %s AND created_at < %s{by_model}"
            " ORDER BY created_at DESC, inference_id DESC LIMIT %s) newest ORDER BY created_at, inference_id",
            [start, end, *([model_version] if model_version else []), limit])
        return [_inference(r) for r in rows]

    async def model_versions_since(self, since: datetime) -> list[str]:
        rows = await self._all("SELECT DISTINCT model_version COLLATE \"C\" FROM inferences WHERE created_at >= %s"
                               " ORDER BY 1", (since,))
        return [r[0] for r in rows]

    async def drop_days_before(self, day: date) -> int:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || %s))", (_DROP_LOCK,))
        rows = await self._all("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                               " WHERE i.inhparent = 'inferences'::regclass", ())
        old = [name for (name,) in rows
               if (m := _PARTITION.fullmatch(name)) and datetime.strptime(m[1], "%Y%m%d").date() < day]
        for name in old:
            await self.conn.execute(sql.SQL("ALTER TABLE inferences DETACH PARTITION {}").format(sql.Identifier(name)))
            await self.conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
        return len(old)

    # feedback

    async def add_feedback(self, feedback: Feedback) -> Feedback:
        f = feedback
        try:
            async with self.conn.transaction():  # savepoint: a duplicate leaves the outer transaction usable
                row = await self._one(
                    f"INSERT INTO feedback ({_FEEDBACK_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    f" %s, now()) RETURNING {_FEEDBACK_COLUMNS}",
                    (f.feedback_id, f.inference_id, f.rating, f.score, list(f.categories), f.comment, f.correction,
                     f.user, json.dumps(f.tags), f.given_by, f.request_id or None, f.model_version))
        except psycopg.errors.UniqueViolation as e:
            if e.diag.constraint_name == "feedback_request":
                raise AlreadyExists("feedback with this request_id exists", field="request_id") from None
            raise AlreadyExists("feedback with this id exists", field="feedback_id") from None
        return _feedback(row)

    async def find_feedback_by_request(self, request_id: str) -> Feedback | None:
        row = await self._one(f"SELECT {_FEEDBACK_COLUMNS} FROM feedback WHERE request_id = %s", (request_id,))
        return _feedback(row) if row else None

    async def feedback_rows(self, query: FeedbackQuery, limit: int) -> list[FeedbackRow]:
        where, params = ["TRUE"], []
        if query.model_version:
            where.append("f.model_version = %s")
            params.append(query.model_version)
        if query.created_after is not None:
            where.append("f.created_at >= %s")
            params.append(query.created_after)
        if query.created_before is not None:
            where.append("f.created_at < %s")
            params.append(query.created_before)
        if query.rating:
            where.append("f.rating = %s")
            params.append(query.rating)
        if query.min_score is not None:
            where.append("f.score >= %s")
            params.append(query.min_score)
        if query.corrections_only:
            where.append("f.correction <> ''")
        feedback = ", ".join(f"f.{c.strip()}" for c in _FEEDBACK_COLUMNS.split(","))
        inference = ", ".join(f"i.{c.strip()}" for c in _INFERENCE_COLUMNS.split(","))
        rows = await self._all(
            f"SELECT {feedback}, {inference} FROM feedback f JOIN inferences i ON i.inference_id = f.inference_id"
            f" WHERE {' AND '.join(where)} ORDER BY f.created_at, f.feedback_id LIMIT %s", [*params, limit])
        width = len(_FEEDBACK_COLUMNS.split(","))
        return [FeedbackRow(_feedback(r[:width]), _inference(r[width:])) for r in rows]

    # alerts

    async def raise_alert(self, alert_id: str, candidate: AlertCandidate, now: datetime) -> tuple[Alert, bool]:
        c = candidate
        row = await self._one(
            "INSERT INTO alerts (alert_id, dedup_key, detector, kind, severity, message, statistic, value, threshold,"
            " window_start, window_end, model_version, subject_kind, subject, examples, details, status,"
            " occurrences, raised_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " 'open', 1, %s) ON CONFLICT (dedup_key) WHERE status <> 'resolved'"
            f" DO UPDATE SET occurrences = alerts.occurrences + 1 RETURNING {_ALERT_COLUMNS}",
            (alert_id, c.dedup_key, c.detector, c.kind, Severity(c.severity).value, c.message, c.statistic, c.value,
             c.threshold, c.window_start, c.window_end, c.model_version, c.subject_kind, c.subject,
             list(c.examples), details_json(c.details), now))
        alert = _alert(row)
        return alert, alert.alert_id == canonical_id(alert_id)

    async def get_alert(self, alert_id: str, *, lock: bool = False) -> Alert | None:
        key = canonical_id(alert_id)
        if key is None:
            return None
        row = await self._one(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = %s"
                              + (" FOR UPDATE" if lock else ""), (key,))
        return _alert(row) if row else None

    async def save_alert(self, alert: Alert) -> None:
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    "UPDATE alerts SET status = %s, occurrences = %s, acknowledged_at = %s, acknowledged_by = %s,"
                    " resolved_at = %s, resolved_by = %s WHERE alert_id = %s",
                    (AlertStatus(alert.status).value, alert.occurrences, alert.acknowledged_at, alert.acknowledged_by,
                     alert.resolved_at, alert.resolved_by, alert.alert_id))
        except psycopg.errors.UniqueViolation:
            raise FailedPrecondition("another alert with this dedup key is unresolved", field="status") from None

    async def list_alerts(self, query: AlertQuery, page: Page) -> list[Alert]:
        where, params = ["TRUE"], []
        if query.statuses:
            where.append("status = ANY(%s)")
            params.append([AlertStatus(s).value for s in query.statuses])
        if query.min_severity:
            where.append("severity = ANY(%s)")
            params.append(severities_at_least(query.min_severity))
        for column, value in (("kind", query.kind), ("model_version", query.model_version)):
            if value:
                where.append(f"{column} = %s")
                params.append(value)
        if query.raised_after is not None:
            where.append("raised_at >= %s")
            params.append(query.raised_after)
        if query.raised_before is not None:
            where.append("raised_at < %s")
            params.append(query.raised_before)
        if page.after:
            where.append("(raised_at, alert_id) < (%s, %s)")
            params.extend(page.after)
        rows = await self._all(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE {' AND '.join(where)}"
                               " ORDER BY raised_at DESC, alert_id DESC LIMIT %s", [*params, page.size])
        return [_alert(r) for r in rows]

    # the block list

    async def add_block(self, entry: BlockEntry) -> None:
        await self.conn.execute(
            "INSERT INTO blocks (subject_kind, subject, alert_id, reason) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (subject_kind, subject) DO NOTHING",
            (entry.subject_kind, entry.subject, entry.alert_id, entry.reason))

    async def remove_blocks(self, alert_id: str) -> int:
        cur = await self.conn.execute("DELETE FROM blocks WHERE alert_id = %s", (alert_id,))
        return cur.rowcount

    async def blocks(self) -> list[BlockEntry]:
        rows = await self._all("SELECT subject_kind, subject, alert_id, reason, created_at FROM blocks"
                               " ORDER BY subject_kind COLLATE \"C\", subject COLLATE \"C\"", ())
        return [BlockEntry(*r) for r in rows]
