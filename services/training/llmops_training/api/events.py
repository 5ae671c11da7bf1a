"""Event subscribers: translation only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmops_common.auth import Principal, Role
from llmops_common.bus import Bus, is_permanent
from llmops_common.errors import DomainError
from llmops_common.events import Envelope
from llmops_common.events.training import TrainingRunRequested
from llmops_training import handlers
from llmops_training.domain.spec import spec_from_dict
from llmops_training.references import References
from llmops_training.settings import TrainingSettings
from llmops_training.store import UnitOfWorkFactory

EVENT_ACTOR = Principal("event", "event:llmops.training.run.requested", Role.DEVELOPER)


def command_from_event(envelope: Envelope[TrainingRunRequested]) -> handlers.SubmitRun:
    """The payload's ``spec`` (or ``config``) holds the spec's other fields; the event id is the request id."""
    payload = envelope.payload
    fields: dict[str, Any] = {**(payload.spec or payload.config), "base_model": payload.base_model_uri,
                              "dataset_version": payload.dataset_version}
    if payload.prompt_version:
        fields["prompt_version"] = payload.prompt_version
    return handlers.SubmitRun(spec_from_dict(fields), payload.name, f"event:{envelope.event_id}")


def subscribe(bus: Bus, uow: UnitOfWorkFactory, references: References, settings: TrainingSettings,
              wake: Callable[[], None]) -> None:
    async def on_requested(envelope: Envelope[Any]) -> None:
        """Submit the run (idempotent per event id); a request that can never be valid is answered with
        ``run.failed`` rather than retried."""
        try:
            await handlers.submit_run(uow, references, settings, command_from_event(envelope), actor=EVENT_ACTOR,
                                      correlation_id=envelope.correlation_id, wake=wake)
        except DomainError as exc:
            if not is_permanent(exc):
                raise
            await handlers.reject_request(uow, envelope, exc)

    bus.subscribe(TrainingRunRequested.event_type, durable=handlers.REQUEST_CONSUMER, handler=on_requested)
