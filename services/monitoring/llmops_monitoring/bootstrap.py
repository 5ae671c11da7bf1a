"""Wiring: settings -> adapters -> store, detectors, sinks, the REST app, the servicer and the
subscriber. Nothing connects here; the MiniLM model loads on first use."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import uvicorn

from llmops_common.auth import Principal
from llmops_common.pagination import PageTokens
from llmops_common.ratelimit import RateLimiter
from llmops_common.runtime import Adapters, Service
from llmops_monitoring import handlers
from llmops_monitoring.alerts import LogSink, WebhookSink
from llmops_monitoring.api import events, grpc
from llmops_monitoring.detection import Detection
from llmops_monitoring.detectors.embeddings import MiniLMEmbedder
from llmops_monitoring.detectors.injection import InjectionDetector
from llmops_monitoring.domain.records import Feedback
from llmops_monitoring.http.app import create_app
from llmops_monitoring.settings import MonitoringSettings
from llmops_monitoring.store.postgres import PostgresUnitOfWork
from llmops_monitoring.training_data import GrpcTrainingData

log = logging.getLogger(__name__)


class RestServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the runtime's handlers stop the whole service."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Lazy:
    """The injection detector, built on its first use (it embeds its corpora with MiniLM, seconds of
    work that should not hold up the service's start)."""

    def __init__(self, build: Callable[[], InjectionDetector]) -> None:
        self._build, self._lock, self._detector = build, threading.Lock(), None

    def score(self, prompts: list[str]) -> list:
        with self._lock:
            if self._detector is None:
                self._detector = self._build()
        return self._detector.score(prompts)


def bootstrap(settings: MonitoringSettings) -> Service:
    adapters = Adapters.build(settings)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(adapters.pool, readonly=readonly)

    embedder = MiniLMEmbedder() if settings.embeddings else None
    detector = Lazy(lambda: InjectionDetector(embedder)) if embedder is not None else None
    limiter = RateLimiter(per_minute=settings.feedback_per_minute, burst=settings.feedback_burst)
    sinks = [LogSink()] + ([WebhookSink(settings.webhook_url, settings.webhook_secret)] if settings.webhook_url else [])
    training_data = GrpcTrainingData(registry=settings.registry_endpoint, ingestion=settings.ingestion_endpoint,
                                     api_key=settings.api_key(), artifacts=adapters.artifacts,
                                     timeout=settings.call_timeout_seconds)
    parts = SimpleNamespace(uow=uow, artifacts=adapters.artifacts, publish=adapters.bus.publish,
                            training_data=training_data)
    events.subscribe(adapters.bus, uow, detector)
    detection = Detection(uow, settings, embedder, sinks)

    async def send(feedback: Feedback, principal: Principal) -> Feedback:
        return await handlers.send_feedback(uow, limiter, feedback, actor=principal)

    app = create_app(adapters.authenticator.authenticate, send, max_body_bytes=settings.max_body_bytes)

    async def rest(stop: asyncio.Event) -> None:
        server = RestServer(uvicorn.Config(app, host=settings.http_host, port=settings.http_port,
                                           log_level="warning", access_log=False, lifespan="off"))
        task = asyncio.create_task(server.serve(), name="http")
        try:
            while not server.started:
                if task.done():
                    stop.set()
                    raise RuntimeError(f"the REST API could not listen on {settings.http_host}:{settings.http_port}")
                await asyncio.sleep(0.05)
            await stop.wait()
        finally:
            server.should_exit = True
            await task
            await training_data.close()

    servicer = grpc.MonitoringServicer(parts, settings, PageTokens(settings.page_token_secret()), limiter)
    return Service(adapters, [grpc.grpc_service(servicer)], background=[rest, detection.run])
