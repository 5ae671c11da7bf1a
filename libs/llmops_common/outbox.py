"""The transactional outbox and its relay.

``add_to_outbox`` writes events in the caller's transaction, so an event exists exactly when the state
change it describes was committed. ``OutboxRelay`` publishes unpublished rows in id order and marks
them published in the same transaction that holds a per-schema advisory lock (one active relay per
schema, however many replicas run). A crash between publish and commit republishes those rows; the
stream drops them by ``Nats-Msg-Id`` inside its duplicate window, and consumers' inboxes absorb any
that arrive later. Nothing is lost: a row is only marked once the server acknowledged it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from llmops_common.bus import envelope_headers
from llmops_common.events.envelope import Envelope

log = logging.getLogger(__name__)

PublishMany = Callable[[Iterable[tuple[str, bytes, dict[str, str]]]], Awaitable[Sequence[Any]]]


async def add_to_outbox(conn: psycopg.AsyncConnection, *envelopes: Envelope[Any]) -> None:
    """Record events in the caller's open transaction (the connection's search_path picks the schema)."""
    if not conn.info.transaction_status:  # IDLE: not inside a transaction
        raise RuntimeError("add_to_outbox must run inside the transaction that makes the state change")
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO outbox (event_id, subject, payload, headers) VALUES (%s, %s, %s, %s)",
            [(e.event_id, e.subject, e.to_bytes(), json.dumps(envelope_headers(e))) for e in envelopes],
        )


class OutboxRelay:
    """Publishes a schema's outbox in order; run one per service process."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        publish_many: PublishMany,
        *,
        schema: str,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
    ) -> None:
        self.pool, self.publish_many, self.schema = pool, publish_many, schema
        self.batch_size, self.poll_seconds = batch_size, poll_seconds
        self._wake = asyncio.Event()

    async def relay_once(self) -> int:
        """Publish one batch; return how many rows were published (0 if another relay holds the lock)."""
        async with self.pool.connection() as conn, conn.transaction():
            locked = await (
                await conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", (f"llmops-outbox:{self.schema}",))
            ).fetchone()
            if not locked or not locked[0]:
                return 0
            cur = await conn.execute(
                "SELECT id, subject, payload, headers FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT %s",
                (self.batch_size,),
            )
            rows = await cur.fetchall()
            if not rows:
                return 0
            await self.publish_many((subject, bytes(payload), headers) for _, subject, payload, headers in rows)
            await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", ([r[0] for r in rows],))
            return len(rows)

    async def pending(self) -> int:
        async with self.pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")).fetchone()
            return int(row[0]) if row else 0

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set: drain whole batches at once, then wait for NOTIFY or the poll."""
        listener = asyncio.create_task(self._listen(stop))
        try:
            while not stop.is_set():
                self._wake.clear()  # before relaying: a NOTIFY that arrives meanwhile must not be lost
                try:
                    published = await self.relay_once()
                except (TimeoutError, psycopg.Error, OSError) as exc:
                    log.warning("outbox relay failed; retrying", extra={"schema": self.schema, "error": str(exc)})
                    published = 0
                except Exception as exc:  # noqa: BLE001 - a NATS error; rows stay unpublished and are retried
                    log.warning("outbox publish failed; retrying", extra={"schema": self.schema, "error": repr(exc)})
                    published = 0
                if published >= self.batch_size:
                    continue
                await _first_of(self._wake, stop, timeout=self.poll_seconds)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with self.pool.connection() as conn:
                    await conn.execute("LISTEN llmops_outbox")
                    async for note in conn.notifies():
                        if note.payload == self.schema:
                            self._wake.set()
            except (psycopg.Error, OSError):
                await asyncio.sleep(self.poll_seconds)


async def _first_of(*events: asyncio.Event, timeout: float) -> None:
    """Return when any of ``events`` is set, or after ``timeout`` seconds."""
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
