"""Event subscribers: translation only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmops_common.auth import Principal, Role
from llmops_common.bus import Bus, is_permanent
from llmops_common.errors import DomainError, InvalidArgument
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunRequested
from llmops_common.events.ingestion import DatasetRequested
from llmops_common.events.training import TrainingRunRequested
from llmops_ingestion import handlers, jobs
from llmops_ingestion.domain.config import parse_config
from llmops_ingestion.domain.model import IngestionRequest, SourceSpec
from llmops_ingestion.domain.shapes import Shape
from llmops_ingestion.sources import SourceRules
from llmops_ingestion.store import UnitOfWorkFactory

EVENT_ACTOR = Principal("event", "event:llmops.ingestion.dataset.requested", Role.DEVELOPER)


def request_from_event(envelope: Envelope[DatasetRequested]) -> IngestionRequest:
    """The payload's ``config`` may carry ``preparation``, ``shape`` and ``column_mapping``."""
    payload = envelope.payload
    config = dict(payload.config)
    shape = config.pop("shape", None)
    try:
        shape_value = Shape(shape) if shape else None
    except ValueError:
        raise InvalidArgument(f"unknown shape {shape!r}; known: {[s.value for s in Shape]}",
                              field="config.shape") from None
    return IngestionRequest(payload.dataset_name, SourceSpec.from_uri(payload.source_uri, payload.format),
                            shape_value, dict(config.pop("column_mapping", {}) or {}),
                            parse_config(config.pop("preparation", {}), where="config.preparation"),
                            request_id=f"event:{envelope.event_id}")


def subscribe(bus: Bus, uow: UnitOfWorkFactory, sources: SourceRules, wake: Callable[[], None]) -> None:
    async def on_requested(envelope: Envelope[Any]) -> None:
        """Queue a job (idempotent: the event id is the request id). A request that can never be valid
        is answered with ``dataset.failed`` (through the outbox) rather than retried."""
        try:
            await handlers.submit_ingestion(uow, request_from_event(envelope), actor=EVENT_ACTOR,
                                            sources=sources, correlation_id=envelope.correlation_id,
                                            wake=wake)
        except DomainError as exc:
            if not is_permanent(exc):
                raise
            await jobs.reject_request(uow, envelope, exc)

    async def on_named(envelope: Envelope[Any]) -> None:
        reference = getattr(envelope.payload, "base_model_uri", "") or getattr(envelope.payload, "model_uri", "")
        await handlers.record_usage(uow, envelope.event_id, envelope.payload.dataset_version, envelope.type, reference)

    bus.subscribe(DatasetRequested.event_type, durable=handlers.REQUEST_CONSUMER, handler=on_requested)
    for event_type in (TrainingRunRequested.event_type, EvaluationRunRequested.event_type):
        bus.subscribe(event_type, durable=f"{handlers.USAGE_CONSUMER}-{event_type.split('.')[1]}", handler=on_named)
