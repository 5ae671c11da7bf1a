"""``llmops.serving.inference.completed``, off the request path.

A request only appends its event to a bounded in-memory buffer; one task publishes from it in
batches with JetStream acknowledgements, and while NATS is unreachable keeps the events and retries
with backoff. A bounded buffer rather than the Postgres outbox: the outbox would put a database
write behind every inference, and the buffer (100,000 events by default, minutes of peak traffic)
rides out a NATS restart. What a full buffer or a crashed replica loses is counted
(``llmops_serving_inference_log_dropped_total``), never silently: the event log is telemetry, and
serving must not stop answering because its log sink is down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nats.errors import Error as NatsError

from llmops_common.events import Envelope
from llmops_common.events.serving import InferenceCompleted
from llmops_serving import metrics

log = logging.getLogger(__name__)

BATCH = 256
FLUSH_SECONDS = 5.0


class InferenceLog:
    def __init__(self, publish: Callable[[Sequence[Envelope[Any]]], Awaitable[object]], *, producer: str,
                 capacity: int) -> None:
        self.publish, self.producer, self.capacity = publish, producer, capacity
        self._buffer: deque[Envelope[Any]] = deque()
        self._ready = asyncio.Event()

    def record(self, event: InferenceCompleted, correlation_id: str) -> None:
        """Never blocks, never raises."""
        if len(self._buffer) >= self.capacity:
            metrics.LOG_DROPPED.inc()
            return
        self._buffer.append(Envelope.wrap(event, producer=self.producer, correlation_id=correlation_id))
        metrics.LOG_BUFFERED.set(len(self._buffer))
        self._ready.set()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    async def run(self, stop: asyncio.Event) -> None:
        delay = 0.1
        while not stop.is_set() or self._buffer:
            if not self._buffer:
                self._ready.clear()
                waiter = asyncio.ensure_future(self._ready.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                continue
            batch = [self._buffer[i] for i in range(min(BATCH, len(self._buffer)))]
            try:
                await self.publish(batch)
            except (NatsError, TimeoutError, OSError, RuntimeError) as exc:  # NATS down or slow: keep, retry
                if stop.is_set():
                    log.warning("stopping with %d inference events unpublished: %s", len(self._buffer), exc)
                    metrics.LOG_DROPPED.inc(len(self._buffer))
                    return
                log.warning("inference log: publishing failed (%s); %d events kept", exc, len(self._buffer))
                await asyncio.sleep(delay)
                delay = min(delay * 2, FLUSH_SECONDS)
                continue
            delay = 0.1
            for _ in batch:
                self._buffer.popleft()
            metrics.LOG_BUFFERED.set(len(self._buffer))
