"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

import pytest

from llmops_common.testing.cli import Cli
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess


@pytest.fixture
async def registry(embedded_stack, stack_env, tmp_path):
    """The registry as its own process on a free port, its schema migrated through the CLI."""
    Cli(embedded_stack.home, TEST_ADMIN_KEY).ok("migrate", "registry")
    service = ServiceProcess("registry", "llmops_registry.main", stack_env, tmp_path / "registry.log").start()
    try:
        await service.wait_serving()
        yield service.endpoint
    finally:
        service.stop()
