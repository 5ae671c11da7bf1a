"""Event subscribers: translation only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from llmops.training.v1 import training_pb2 as pb
from llmops_common.auth import Principal, Role
from llmops_common.bus import Bus, is_permanent
from llmops_common.errors import DomainError, InvalidArgument
from llmops_common.events import Envelope
from llmops_common.events.training import TrainingRunRequested
from llmops_common.validation import quote
from llmops_training import handlers
from llmops_training.api import convert
from llmops_training.references import References
from llmops_training.settings import TrainingSettings
from llmops_training.store import UnitOfWorkFactory

EVENT_ACTOR = Principal("event", "event:llmops.training.run.requested", Role.DEVELOPER)


def command_from_event(envelope: Envelope[TrainingRunRequested]) -> handlers.SubmitRun:
    """The payload's ``spec`` (or ``config``) holds the other fields of a ``TrainingSpec`` in its protobuf
    JSON form, as for ``SubmitRun``; the event id is the request id."""
    payload = envelope.payload
    fields: dict[str, Any] = {**(payload.spec or payload.config), "base_model": payload.base_model_uri,
                              "dataset_version": payload.dataset_version}
    if payload.prompt_version:
        fields["prompt_version"] = payload.prompt_version
    try:
        message = json_format.ParseDict(fields, pb.TrainingSpec())
    except json_format.ParseError as exc:
        raise InvalidArgument(f"not a TrainingSpec: {quote(str(exc), 160)}", field="spec") from None
    return handlers.SubmitRun(convert.spec_from_pb(message), payload.name, f"event:{envelope.event_id}")


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
