"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from llmops_common.auth import Principal, Role
from llmops_common.db import migrate, service_migrations
from llmops_common.storage import ArtifactStore
from llmops_registry import handlers
from llmops_registry.domain.model import CreateModelVersion, ModelKind
from llmops_registry.store.postgres import PostgresUnitOfWork

REGISTRY_DEV = Principal("k1", "dev", Role.DEVELOPER)


@pytest.fixture
async def registry(pg_pool, settings_for, unique_name):
    """The registry's unit-of-work factory on a freshly migrated schema, with ``new_version(name,
    **tags)`` adding a base version (over one small weights file in S3) to a registered model."""
    async with pg_pool.connection() as conn:
        await migrate(conn, unique_name, service_migrations("llmops_registry"))
    artifacts = ArtifactStore.from_settings(settings_for())
    artifacts.ensure_buckets()
    uri = f"s3://llmops-models/{unique_name}/weights"
    artifacts.put_bytes(f"{uri}/model.safetensors", b"w" * 128)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(pg_pool, readonly=readonly)

    async def new_version(name: str, **tags: str) -> int:
        cmd = CreateModelVersion(name, uri, ModelKind.BASE, tags=tags)
        return (await handlers.create_model_version(uow, artifacts, cmd, actor=REGISTRY_DEV)).version

    uow.new_version = new_version  # type: ignore[attr-defined]
    return uow
