"""The consumer inbox: a handler claims an event id in the same transaction as its change, so a
redelivered event is recognised and skipped, and its side effects happen once."""

from __future__ import annotations

import uuid

import psycopg


async def claim_event(conn: psycopg.AsyncConnection, consumer: str, event_id: uuid.UUID) -> bool:
    """True the first time ``consumer`` sees ``event_id`` (inside the caller's transaction), else False."""
    if not conn.info.transaction_status:
        raise RuntimeError("claim_event must run inside the handler's transaction")
    cur = await conn.execute(
        "INSERT INTO inbox (consumer, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (consumer, event_id),
    )
    return await cur.fetchone() is not None
