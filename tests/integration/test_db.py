"""Migrations on a real PostgreSQL: applied once under a lock, and an outdated schema is refused."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from llmops_common.db import Migration, SchemaOutdated, check_schema, migrate, service_migrations

pytestmark = pytest.mark.integration


async def connect(settings_for):
    return await psycopg.AsyncConnection.connect(settings_for().postgres_dsn, autocommit=True)


async def test_migrate_applies_once_even_when_replicas_race(settings_for, unique_name):
    migrations = service_migrations("llmops_registry")
    conns = [await connect(settings_for) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c, unique_name, migrations) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, len(migrations)]
        await check_schema(conns[0], unique_name, migrations)
        tables = await (await conns[0].execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (unique_name,)
        )).fetchall()
        assert {"outbox", "inbox", "registered_models", "model_versions", "schema_migrations"} <= {t[0] for t in tables}
    finally:
        for c in conns:
            await c.close()


async def test_outdated_changed_and_unknown_schemas_are_refused(settings_for, unique_name):
    base = [Migration("t/0001_a.sql", "CREATE TABLE a (id int)")]
    newer = [*base, Migration("t/0002_b.sql", "CREATE TABLE b (id int)")]
    async with await connect(settings_for) as conn:
        with pytest.raises(SchemaOutdated, match="not migrated"):
            await check_schema(conn, unique_name, base)
        await migrate(conn, unique_name, base)
        with pytest.raises(SchemaOutdated, match="behind the code.*0002_b"):
            await check_schema(conn, unique_name, newer)
        with pytest.raises(SchemaOutdated, match="edited"):
            await check_schema(conn, unique_name, [Migration("t/0001_a.sql", "CREATE TABLE a (id bigint)")])
        await migrate(conn, unique_name, newer)
        with pytest.raises(SchemaOutdated, match="code is older"):
            await check_schema(conn, unique_name, base)


async def test_a_failing_migration_leaves_nothing_half_applied(settings_for, unique_name):
    broken = [Migration("t/0001_ok.sql", "CREATE TABLE ok (id int)"), Migration("t/0002_bad.sql", "CREATE TABLE (")]
    async with await connect(settings_for) as conn:
        with pytest.raises(psycopg.errors.SyntaxError):
            await migrate(conn, unique_name, broken)
        exists = await (await conn.execute("SELECT to_regclass(%s)", (f"{unique_name}.ok",))).fetchone()
        assert exists == (None,)
