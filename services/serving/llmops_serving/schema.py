"""Serving's schema, importable without the engine (the migrate job's image has no torch)."""

from __future__ import annotations

from llmops_common.db import Migration, load_migrations


def migrations() -> list[Migration]:
    """Serving keeps no tables of its own: the shared outbox/inbox only."""
    return load_migrations("llmops_common", "migrations/service", source="common")
