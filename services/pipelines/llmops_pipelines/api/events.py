"""Event subscribers: translation only. Triggers start runs; answers move them; each wakes the driver
so the next step is requested at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from llmops_common.bus import Bus
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted, EvaluationRunFailed
from llmops_common.events.ingestion import DatasetIngested
from llmops_common.events.monitoring import AlertRaised
from llmops_common.events.registry import EvaluationAttached, PromotionApproved, PromotionRejected
from llmops_common.events.training import TrainingRunCompleted, TrainingRunFailed
from llmops_pipelines import handlers
from llmops_pipelines.store import UnitOfWorkFactory

ANSWERS = (TrainingRunCompleted, TrainingRunFailed, EvaluationRunCompleted, EvaluationRunFailed, EvaluationAttached,
           PromotionApproved, PromotionRejected)


def subscribe(bus: Bus, uow: UnitOfWorkFactory, services: handlers.Services, wake: Callable[[], None]) -> None:
    def waking(handle: Callable[[Envelope[Any]], Awaitable[Any]]) -> Callable[[Envelope[Any]], Awaitable[None]]:
        async def handler(envelope: Envelope[Any]) -> None:
            if await handle(envelope):
                wake()
        return handler

    bus.subscribe(DatasetIngested.event_type, durable=handlers.DATASET_CONSUMER,
                  handler=waking(lambda e: handlers.on_dataset_ingested(uow, services, e)))
    bus.subscribe(AlertRaised.event_type, durable=handlers.ALERT_CONSUMER,
                  handler=waking(lambda e: handlers.on_alert_raised(uow, services, e)))
    for payload in ANSWERS:
        durable = f"{handlers.ANSWER_CONSUMER}-{payload.event_type.replace('.', '-')}"
        bus.subscribe(payload.event_type, durable=durable, handler=waking(lambda e: handlers.on_answer(uow, e)))
