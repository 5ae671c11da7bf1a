"""pytest fixtures over the real embedded stack: NATS, PostgreSQL and S3 on free ports, started once
per test run (session scope) under a temporary folder and stopped at the end.

Set ``LLMOPS_TEST_STACK_HOME`` to reuse a stack that is already running there (e.g. ``llmops stack up``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from llmops_common.embedded import EmbeddedStack, StackPorts
from llmops_common.settings import CommonSettings


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    reuse = os.environ.get("LLMOPS_TEST_STACK_HOME")
    if reuse:
        yield EmbeddedStack.load(Path(reuse))
        return
    stack = EmbeddedStack(tmp_path_factory.mktemp("llmops-stack"), StackPorts.free())
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
def stack_env(embedded_stack: EmbeddedStack) -> dict[str, str]:
    return embedded_stack.env()


@pytest.fixture(scope="session")
def ray_env(embedded_stack: EmbeddedStack) -> dict[str, str]:
    """The stack with its Ray head (one per test run, started on first use). This process can then
    ``ray.init`` the address: the head's token settings are put in its environment."""
    embedded_stack.up(with_ray=True)
    env = embedded_stack.env(with_ray=True)
    os.environ.update(embedded_stack.ray_client_env())
    return env


@pytest.fixture(scope="session")
def settings_for(stack_env: dict[str, str]) -> Callable[..., CommonSettings]:
    """Build any settings class pointed at the stack: ``settings_for(RegistrySettings, grpc_port=0)``."""

    def build(cls: type[CommonSettings] = CommonSettings, **overrides: object) -> CommonSettings:
        return cls.from_variables(stack_env, **overrides)

    return build


@pytest.fixture
def unique_name() -> str:
    """A name no other test uses: schemas, streams' durable consumers, buckets' prefixes."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def pg_pool(settings_for: Callable[..., CommonSettings], unique_name: str) -> AsyncIterator[object]:
    """An open pool on a fresh schema with the shared outbox/inbox tables migrated."""
    from llmops_common.db import load_migrations, make_pool, migrate

    settings = settings_for()
    pool = make_pool(settings.postgres_dsn, unique_name)
    await pool.open(wait=True, timeout=30)
    async with pool.connection() as conn:
        await migrate(conn, unique_name, load_migrations("llmops_common", "migrations/service", source="common"))
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def make_bus(settings_for: Callable[..., CommonSettings]) -> AsyncIterator[Callable[..., object]]:
    """Build buses on the stack; each is stopped after the test."""
    from llmops_common.bus import Bus, DeliveryPolicy

    buses: list[Bus] = []

    def build(policy: DeliveryPolicy | None = None) -> Bus:
        bus = Bus(settings_for(), producer="tests", policy=policy)
        buses.append(bus)
        return bus

    yield build
    for bus in buses:
        await bus.stop()
