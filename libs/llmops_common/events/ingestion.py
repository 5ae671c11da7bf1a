"""Events owned by the ingestion context."""

from __future__ import annotations

from llmops_common.events.envelope import EventPayload


class DatasetRequested(EventPayload, event_type="llmops.ingestion.dataset.requested"):
    dataset_name: str
    source_uri: str
    format: str | None = None
    config: dict[str, object] = {}


class DatasetIngested(EventPayload, event_type="llmops.ingestion.dataset.ingested"):
    dataset_name: str
    version: str
    uri: str
    counts: dict[str, int] = {}


class DatasetIngestionFailed(EventPayload, event_type="llmops.ingestion.dataset.failed"):
    dataset_name: str
    reason: str
