"""The ingestion schema's migrations, importable without the preparation's heavy dependencies (the
compose ``migrate`` job runs from an image without numpy or pyarrow)."""

from __future__ import annotations

from llmops_common.db import Migration, service_migrations


def migrations() -> list[Migration]:
    return service_migrations("llmops_ingestion")
