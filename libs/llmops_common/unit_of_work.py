"""The unit of work every service's store builds on: one transaction over the service's state, its
audit trail and its outbox. Changes, their audit rows and their events commit together, or, leaving
the block without ``commit()``, none of them does."""

from __future__ import annotations

import abc
import json
import uuid
from typing import Any, ClassVar, Self

import psycopg
from psycopg_pool import AsyncConnectionPool

from llmops_common.audit import AuditEntry
from llmops_common.events import Envelope, EventPayload
from llmops_common.inbox import claim_event
from llmops_common.outbox import add_to_outbox


class UnitOfWork(abc.ABC):
    """The contract: queue events and audit rows, then commit them with the state change."""

    #: the service whose events this unit emits (each service's contract sets it)
    producer: ClassVar[str]

    async def __aenter__(self) -> Self:
        self.events: list[Envelope[Any]] = []
        self.audits: list[AuditEntry] = []
        self.cause: Envelope[Any] | None = None
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.rollback()

    def follow(self, cause: Envelope[Any]) -> None:
        """This unit handles the event ``cause``: every event it emits follows it (same correlation id,
        causation id = the cause's event id)."""
        self.cause = cause

    def emit(self, payload: EventPayload, correlation_id: str | None = None) -> Envelope[Any]:
        """Wrap ``payload`` in this service's envelope and queue it; ``commit`` writes it to the outbox in
        the same transaction. It follows the event this unit handles, if any, else joins
        ``correlation_id`` (a new one when None)."""
        if self.cause is not None:
            envelope = self.cause.follow(payload, producer=self.producer)
        else:
            envelope = Envelope.wrap(payload, producer=self.producer, correlation_id=correlation_id)
        self.events.append(envelope)
        return envelope

    def record(self, entry: AuditEntry, payload: EventPayload) -> Envelope[Any]:
        """A state change's audit row and its event, always together, in the entry's correlation."""
        self.audits.append(entry)
        return self.emit(payload, entry.correlation_id)

    @abc.abstractmethod
    async def commit(self) -> None: ...

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Discard uncommitted work (a no-op after commit)."""

    @abc.abstractmethod
    async def append_audit(self, entry: AuditEntry) -> None: ...

    @abc.abstractmethod
    async def claim_event(self, consumer: str, event_id: uuid.UUID) -> bool:
        """Record the event in the inbox; False if ``consumer`` already handled it."""


class PostgresUnitOfWork(UnitOfWork):
    """One transaction on a pooled connection; ``readonly`` skips BEGIN/COMMIT (single-statement reads)."""

    def __init__(self, pool: AsyncConnectionPool, *, readonly: bool = False) -> None:
        self.pool = pool
        self.readonly = readonly
        self._conn: psycopg.AsyncConnection | None = None
        self._tx: psycopg.AsyncTransaction | None = None
        self._ctx: Any = None

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._ctx = self.pool.connection()
        self._conn = await self._ctx.__aenter__()
        if not self.readonly:
            self._tx = self._conn.transaction()
            await self._tx.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._tx is not None:  # not committed: roll back
                await self._tx.__aexit__(psycopg.Rollback, psycopg.Rollback(), None)
        finally:
            self._tx = None
            await self._ctx.__aexit__(None, None, None)

    @property
    def conn(self) -> psycopg.AsyncConnection:
        assert self._conn is not None, "unit of work not entered"
        return self._conn

    async def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("commit() on a read-only or finished unit of work")
        async with self.conn.pipeline():  # audit rows and outbox rows in one round trip
            for entry in self.audits:
                await self.append_audit(entry)
            if self.events:
                await add_to_outbox(self.conn, *self.events)
        await self._tx.__aexit__(None, None, None)
        self._tx = None
        self.events, self.audits = [], []

    async def rollback(self) -> None:
        self.events, self.audits = [], []

    async def claim_event(self, consumer: str, event_id: uuid.UUID) -> bool:
        return await claim_event(self.conn, consumer, event_id)

    async def _one(self, query: str, params: tuple | list) -> tuple | None:
        cur = await self.conn.execute(query, params)
        return await cur.fetchone()

    async def _all(self, query: str, params: tuple | list) -> list[tuple]:
        cur = await self.conn.execute(query, params)
        return await cur.fetchall()


class SubjectAuditLog:
    """``append_audit`` for the audit table evaluation, monitoring, pipelines and training share:
    ``audit_log (actor, action, subject, reason, detail, correlation_id)``. Mixed in before the
    service's ``PostgresUnitOfWork``."""

    conn: psycopg.AsyncConnection

    async def append_audit(self, entry: AuditEntry) -> None:
        detail = None if entry.detail is None else json.dumps(entry.detail, allow_nan=False)
        await self.conn.execute(
            "INSERT INTO audit_log (actor, action, subject, reason, detail, correlation_id)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (entry.actor, entry.action, entry.subject, entry.reason, detail, entry.correlation_id))


class InMemoryUnitOfWork(UnitOfWork):
    """The fake every service's store builds on: changes are staged on copies of ``tables`` (attributes
    of the shared ``state``) and become visible only on commit, with the audit rows and events.

    ``state`` needs the ``tables``, an ``audit`` list and an ``outbox`` list; ``inbox`` is a set of
    (consumer, event id) when the service consumes events.
    """

    tables: tuple[str, ...] = ()

    def __init__(self, state: Any) -> None:
        self.state = state

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        for table in self.tables:
            setattr(self, table, type(getattr(self.state, table))(getattr(self.state, table)))
        return self

    async def commit(self) -> None:
        for table in self.tables:
            setattr(self.state, table, getattr(self, table))
        for entry in self.audits:
            await self.append_audit(entry)
        self.state.outbox.extend(self.events)
        self.events, self.audits = [], []

    async def rollback(self) -> None:
        self.events, self.audits = [], []

    async def append_audit(self, entry: AuditEntry) -> None:
        self.state.audit.append(entry)

    async def claim_event(self, consumer: str, event_id: uuid.UUID) -> bool:
        if (consumer, event_id) in self.inbox:
            return False
        self.inbox.add((consumer, event_id))
        return True
