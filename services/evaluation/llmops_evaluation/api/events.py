"""Event subscribers: translation only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from llmops.evaluation.v1 import evaluation_pb2 as pb
from llmops_common.auth import Principal, Role
from llmops_common.bus import Bus, is_permanent
from llmops_common.errors import DomainError, InvalidArgument
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunRequested
from llmops_common.events.training import TrainingRunCompleted
from llmops_common.validation import quote
from llmops_evaluation import handlers
from llmops_evaluation.api import convert
from llmops_evaluation.references import References
from llmops_evaluation.settings import EvaluationSettings
from llmops_evaluation.store import UnitOfWorkFactory

REQUEST_ACTOR = Principal("event", "event:llmops.evaluation.run.requested", Role.DEVELOPER)
TRAINING_ACTOR = Principal("event", "event:llmops.training.run.completed", Role.DEVELOPER)


def command_from_event(envelope: Envelope[EvaluationRunRequested], default_bootstrap: int) -> handlers.StartRun:
    """``spec`` holds the other fields of an ``EvaluationSpec`` in protobuf JSON; the event id is the
    request id."""
    payload = envelope.payload
    fields: dict[str, Any] = {**payload.spec, "model_version": payload.model_uri,
                              "dataset_version": payload.dataset_version}
    if payload.metrics:
        fields["metrics"] = [{"name": m} for m in payload.metrics]
    try:
        message = json_format.ParseDict(fields, pb.EvaluationSpec())
    except json_format.ParseError as exc:
        raise InvalidArgument(f"not an EvaluationSpec: {quote(str(exc), 160)}", field="spec") from None
    return handlers.StartRun(convert.spec_from_pb(message, default_bootstrap=default_bootstrap),
                             f"event:{envelope.event_id}")


def subscribe(bus: Bus, uow: UnitOfWorkFactory, references: References, settings: EvaluationSettings,
              wake: Callable[[], None]) -> None:
    async def on_requested(envelope: Envelope[Any]) -> None:
        """Start the run (idempotent per event id); a request that can never be valid is answered with
        ``run.failed`` rather than retried."""
        try:
            await handlers.start_run(uow, references, command_from_event(envelope, settings.bootstrap_samples),
                                     actor=REQUEST_ACTOR, correlation_id=envelope.correlation_id, wake=wake)
        except DomainError as exc:
            if not is_permanent(exc):
                raise
            await handlers.reject_request(uow, envelope, exc)

    async def on_training_completed(envelope: Envelope[Any]) -> None:
        await handlers.on_training_completed(uow, references, settings, envelope, actor=TRAINING_ACTOR, wake=wake)

    bus.subscribe(EvaluationRunRequested.event_type, durable=handlers.REQUEST_CONSUMER, handler=on_requested)
    bus.subscribe(TrainingRunCompleted.event_type, durable=handlers.TRAINING_CONSUMER, handler=on_training_completed)
