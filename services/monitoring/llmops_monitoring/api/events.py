"""Event subscribers: translation only."""

from __future__ import annotations

from typing import Any

from llmops_common.bus import Bus
from llmops_common.events import Envelope
from llmops_common.events.serving import InferenceCompleted
from llmops_monitoring import handlers
from llmops_monitoring.store import UnitOfWorkFactory


def subscribe(bus: Bus, uow: UnitOfWorkFactory, detector: Any) -> None:
    async def on_inference(envelope: Envelope[Any]) -> None:
        await handlers.record_inference(uow, detector, envelope)

    bus.subscribe(InferenceCompleted.event_type, durable=handlers.INFERENCE_CONSUMER, handler=on_inference)
