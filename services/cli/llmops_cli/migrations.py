"""Database migrations: the auth schema, then each named service's (the ``llmops migrate`` command,
``llmops up``, and the tests and benchmarks that start a service on a fresh database)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

import psycopg

from llmops_cli.services import SERVICES
from llmops_common import db
from llmops_common.auth import AUTH_SCHEMA
from llmops_common.runtime import auth_migrations
from llmops_common.settings import CommonSettings


async def migrate(services: Iterable[str], env: Mapping[str, str]) -> dict[str, list[str]]:
    """Apply what is pending on the database of ``env`` (``LLMOPS_*`` variables); the ids applied, by schema."""
    settings = CommonSettings.from_variables(env)
    applied: dict[str, list[str]] = {}
    async with await _connect(settings.postgres_dsn) as conn:
        applied[AUTH_SCHEMA] = await db.migrate(conn, AUTH_SCHEMA, auth_migrations())
        for name in services:
            applied[name] = await db.migrate(conn, name, SERVICES[name].migrations())
    return applied


async def _connect(dsn: str, *, attempts: int = 10, pause: float = 1.0) -> psycopg.AsyncConnection:
    """A connection, retried while a just-started server is not accepting connections yet."""
    for _ in range(attempts - 1):
        try:
            return await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        except psycopg.OperationalError:
            await asyncio.sleep(pause)
    return await psycopg.AsyncConnection.connect(dsn, autocommit=True)
