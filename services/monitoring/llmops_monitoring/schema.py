"""Monitoring's schema, importable without torch (the migrate job's image has none)."""

from __future__ import annotations

from llmops_common.db import Migration, service_migrations


def migrations() -> list[Migration]:
    return service_migrations("llmops_monitoring")
