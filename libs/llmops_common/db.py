"""Postgres: an async psycopg 3 pool per service, one schema per service, and migrations.

Migrations are a small numbered-SQL runner rather than Alembic or yoyo: Alembic is built on
SQLAlchemy, which nothing else here uses, and neither tool runs on psycopg's async pool. The runner
applies ``NNNN_name.sql`` files in order inside one transaction under an advisory lock (so replicas
starting together migrate once), records each file's checksum, and ``check_schema`` refuses to run
against a schema that is behind, ahead of, or different from the code.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from llmops_common.errors import DomainError, ErrorCode

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class SchemaOutdated(DomainError):
    code = ErrorCode.FAILED_PRECONDITION


@dataclass(frozen=True)
class Migration:
    id: str  # "<source>/<file name>", e.g. "common/0001_outbox_inbox.sql"
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def json_param(value: Any) -> str | None:
    """A JSON column's parameter: None stays NULL; NaN and infinities are refused (ValueError), as
    PostgreSQL's JSON has no spelling for them."""
    return None if value is None else json.dumps(value, allow_nan=False)


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching values that start with ``prefix`` (its ``%``, ``_`` and ``\\`` escaped)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def load_migrations(package: str, folder: str, *, source: str) -> list[Migration]:
    """The ``NNNN_name.sql`` files of ``package/folder``, in order."""
    root = resources.files(package).joinpath(folder)
    files = sorted(p for p in root.iterdir() if p.name.endswith(".sql"))
    for path in files:
        if not _NAME.match(path.name):
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
    return [Migration(f"{source}/{p.name}", p.read_text()) for p in files]


def service_migrations(package: str) -> list[Migration]:
    """A service's migrations: the shared outbox/inbox tables, then its own ``migrations/`` folder."""
    return load_migrations("llmops_common", "migrations/service", source="common") + load_migrations(
        package, "migrations", source=package
    )


def _check_schema_name(schema: str) -> None:
    if not _SCHEMA.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")


def make_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> AsyncConnectionPool:
    """A closed pool whose connections use ``schema`` (then public); open it with ``await pool.open()``."""
    _check_schema_name(schema)
    return AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"options": f"-c search_path={schema},public", "autocommit": True},
        name=f"llmops-{schema}",
        timeout=5.0,  # a caller waiting longer for a connection gets UNAVAILABLE
    )


async def migrate(conn: psycopg.AsyncConnection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is missing, in one transaction under an advisory lock; return the ids applied."""
    _check_schema_name(schema)
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"llmops-migrate:{schema}",))
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        await conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                " id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(sql.Identifier(schema))
        )
        applied = await _applied(conn, schema)
        _verify(applied, migrations, schema, allow_missing=True)
        await conn.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(sql.Identifier(schema)))
        for migration in migrations:
            if migration.id in applied:
                continue
            await conn.execute(migration.sql.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (id, checksum) VALUES (%s, %s)", (migration.id, migration.checksum)
            )
            applied_now.append(migration.id)
    return applied_now


async def check_schema(conn: psycopg.AsyncConnection, schema: str, migrations: list[Migration]) -> None:
    """Raise SchemaOutdated unless the schema holds exactly ``migrations``, unchanged."""
    exists = await (
        await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.schema_migrations",))
    ).fetchone()
    if not exists or not exists[0]:
        raise SchemaOutdated(f"schema {schema!r} is not migrated; run `llmops migrate {schema}`")
    _verify(await _applied(conn, schema), migrations, schema, allow_missing=False)


async def _applied(conn: psycopg.AsyncConnection, schema: str) -> dict[str, str]:
    cur = await conn.execute(sql.SQL("SELECT id, checksum FROM {}.schema_migrations").format(sql.Identifier(schema)))
    return {row[0]: row[1] for row in await cur.fetchall()}


def _verify(applied: dict[str, str], migrations: list[Migration], schema: str, *, allow_missing: bool) -> None:
    known = {m.id: m.checksum for m in migrations}
    unknown = sorted(set(applied) - set(known))
    if unknown:
        raise SchemaOutdated(f"schema {schema!r} has migrations this code does not know: {unknown} (code is older)")
    changed = sorted(i for i, c in applied.items() if known[i] != c)
    if changed:
        raise SchemaOutdated(f"schema {schema!r}: applied migrations were edited since: {changed}")
    missing = [m.id for m in migrations if m.id not in applied]
    if missing and not allow_missing:
        raise SchemaOutdated(f"schema {schema!r} is behind the code; pending migrations: {missing}")
