"""Fuzz fixtures: a service as its own process on the embedded stack, with a database of its own (so
the half-written check sees only what this service did), an address-space cap (so a runaway
allocation fails inside the service rather than taking the test machine down) and a restart for
when an RPC leaves it unhealthy."""

from __future__ import annotations

import asyncio
import resource
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from llmops_cli.migrations import migrate
from llmops_common.testing.fuzz_runner import FuzzTarget, SchemaProbe
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess

SERVICE_MEMORY_CAP = 8 * 2**30


def _capped(service: ServiceProcess) -> ServiceProcess:
    service.start()
    assert service.proc is not None
    resource.prlimit(service.proc.pid, resource.RLIMIT_AS, (SERVICE_MEMORY_CAP, SERVICE_MEMORY_CAP))
    asyncio.run(service.wait_serving())
    return service


@pytest.fixture(scope="module")
def fuzz_service(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Callable[..., tuple[FuzzTarget, ServiceProcess]]]:
    """``fuzz_service("registry", "llmops_registry.main", extra_env, **probe_options)``: the service on a
    fresh database, SERVING, with a FuzzTarget that calls it with the admin key and probes its schema."""
    started: list[tuple[FuzzTarget, ServiceProcess, str]] = []
    server_dsn = stack_env["LLMOPS_POSTGRES_DSN"]

    def start(name: str, module: str, extra_env: dict[str, str] | None = None,
              **probe_options: frozenset[str]) -> tuple[FuzzTarget, ServiceProcess]:
        database = f"fuzz_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        dsn = server_dsn.rsplit("/", 1)[0] + f"/{database}"
        env = {**stack_env, "LLMOPS_POSTGRES_DSN": dsn, **(extra_env or {})}
        asyncio.run(migrate([name], env))
        log = Path(tmp_path_factory.mktemp(f"fuzz-{name}")) / f"{name}.log"
        service = _capped(ServiceProcess(name, module, env, log))

        def restart() -> None:
            service.stop(timeout=3)
            _capped(service)

        target = FuzzTarget(service.endpoint, SchemaProbe(dsn, name, **probe_options),
                            [("authorization", f"Bearer {TEST_ADMIN_KEY}")], restart=restart)
        started.append((target, service, database))
        return target, service

    yield start
    for target, service, database in started:
        target.close()
        service.stop()
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
