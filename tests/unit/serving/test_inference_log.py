"""The inference log: requests only append; events wait out a NATS outage and none is lost; a full
buffer drops and counts instead of blocking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from llmops_common.events.serving import InferenceCompleted
from llmops_serving import metrics
from llmops_serving.inference_log import InferenceLog


def event(i: int) -> InferenceCompleted:
    return InferenceCompleted(request_id=f"r{i}", deployment="m@prod", model_name="m", version=1, api="chat",
                              prompt_tokens=1, completion_tokens=1, latency_ms=1.0, ttft_ms=1.0,
                              finish_reason="stop", created_at=datetime.now(UTC))


class FlakySink:
    def __init__(self, failures: int) -> None:
        self.failures, self.published = failures, []

    async def __call__(self, batch) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("nats is down")
        self.published.extend(e.payload.request_id for e in batch)


async def test_events_published_after_an_outage_in_order_with_none_lost() -> None:
    sink = FlakySink(failures=3)
    log = InferenceLog(sink, producer="serving", capacity=1000)
    stop = asyncio.Event()
    runner = asyncio.create_task(log.run(stop))
    for i in range(600):
        log.record(event(i), correlation_id=f"r{i}")
    while len(sink.published) < 600:
        await asyncio.sleep(0.05)
    stop.set()
    await runner
    assert sink.published == [f"r{i}" for i in range(600)] and log.buffered == 0


async def test_a_full_buffer_drops_and_counts_without_blocking() -> None:
    log = InferenceLog(FlakySink(failures=0), producer="serving", capacity=100)
    before = metrics.LOG_DROPPED._value.get()
    for i in range(150):
        log.record(event(i), correlation_id="c")
    assert log.buffered == 100
    assert metrics.LOG_DROPPED._value.get() - before == 50


async def test_stopping_flushes_what_is_buffered() -> None:
    sink = FlakySink(failures=0)
    log = InferenceLog(sink, producer="serving", capacity=1000)
    for i in range(10):
        log.record(event(i), correlation_id="c")
    stop = asyncio.Event()
    stop.set()
    await log.run(stop)
    assert len(sink.published) == 10
