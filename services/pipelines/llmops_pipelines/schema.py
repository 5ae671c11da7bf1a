"""The pipelines schema, importable on its own (the migrate job)."""

from __future__ import annotations

from llmops_common.db import Migration, service_migrations


def migrations() -> list[Migration]:
    return service_migrations("llmops_pipelines")
