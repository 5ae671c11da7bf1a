"""Event subscribers: translation only."""

from __future__ import annotations

from typing import Any

from llmops_common.bus import Bus
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.events.serving import DeploymentUpdated
from llmops_registry import handlers
from llmops_registry.store import UnitOfWorkFactory


def subscribe(bus: Bus, uow: UnitOfWorkFactory) -> None:
    async def on_evaluation_completed(envelope: Envelope[Any]) -> None:
        await handlers.record_evaluation(uow, envelope)

    bus.subscribe(
        EvaluationRunCompleted.event_type, durable=handlers.EVALUATION_CONSUMER, handler=on_evaluation_completed
    )

    async def on_deployment_updated(envelope: Envelope[Any]) -> None:
        await handlers.record_deployment(uow, envelope)

    bus.subscribe(DeploymentUpdated.event_type, durable=handlers.DEPLOYMENT_CONSUMER, handler=on_deployment_updated)
