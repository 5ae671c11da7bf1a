"""Wiring: settings -> adapters -> host, gateway, transports and the alias follower. Nothing connects
here; ``run`` (a background worker) starts the REST server and loads models once connected."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from prometheus_client import generate_latest

from llmops_common.prompt_client import PromptClient
from llmops_common.runtime import Adapters, Service
from llmops_serving.api import events, grpc
from llmops_serving.blocklist import BlocklistClient
from llmops_serving.hosting import EngineOptions, Host
from llmops_serving.http.app import HttpLimits, create_app
from llmops_serving.inference import Limits, ServingGateway
from llmops_serving.inference_log import InferenceLog
from llmops_serving.prompting import Prompts
from llmops_serving.registry_client import GrpcRegistryReader
from llmops_serving.reloader import Reloader
from llmops_serving.settings import ServingSettings

log = logging.getLogger(__name__)


class RestServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the runtime's handlers stop the whole service."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def replica_id() -> str:
    """This process's name on the bus (a consumer name: letters, digits, '-' and '_')."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40]
    return f"{host}-{uuid.uuid4().hex[:8]}"


def bootstrap(settings: ServingSettings) -> Service:
    adapters = Adapters.build(settings)
    replica = replica_id()
    registry = GrpcRegistryReader(settings.registry_endpoint, api_key=settings.api_key(),
                                  timeout=settings.call_timeout_seconds)
    password = settings.nats_password.get_secret_value() if settings.nats_password else None
    prompt_client = PromptClient(settings.prompts_endpoint, api_key=settings.api_key(), nats_url=settings.nats_url,
                                 nats_user=settings.nats_user, nats_password=password,
                                 timeout=settings.call_timeout_seconds)
    prompts = Prompts(prompt_client)
    cache = Path(settings.cache_dir or tempfile.mkdtemp(prefix="llmops-serving-"))
    options = EngineOptions(settings.device, settings.max_batch, settings.max_adapters, settings.max_queue,
                            settings.max_bases)
    host = Host(adapters.artifacts, registry, prompts.pinned, cache=cache, options=options,
                smoke_prompt=settings.smoke_prompt, smoke_tokens=settings.smoke_max_tokens)
    inference_log = InferenceLog(adapters.bus.publish_envelopes, producer=events.PRODUCER,
                                 capacity=settings.log_buffer_events)
    ready = asyncio.Event()
    gateway = ServingGateway(host, inference_log, Limits(settings.default_max_tokens, settings.max_tokens_limit,
                                                         settings.log_redact_text), ready=ready)

    reloader = Reloader(host, events.emitter(adapters.bus), replica=replica, models=settings.models)
    events.subscribe(adapters.bus, reloader, replica=replica)
    limits = HttpLimits(settings.max_body_bytes, settings.max_tokens_limit, settings.default_max_tokens,
                        settings.rate_limit_per_minute, settings.rate_limit_burst)
    blocklist = BlocklistClient(settings.monitoring_endpoint, api_key=settings.api_key(),
                                refresh_seconds=settings.blocklist_refresh_seconds,
                                timeout=settings.call_timeout_seconds)
    app = create_app(gateway, adapters.authenticator.authenticate, limits=limits, metrics=generate_latest,
                     blocklist=lambda: blocklist.current)

    async def run(stop: asyncio.Event) -> None:
        server = RestServer(uvicorn.Config(app, host=settings.http_host, port=settings.http_port,
                                           log_level="warning", access_log=False, lifespan="off"))
        http_task = asyncio.create_task(server.serve(), name="http")
        try:
            while not server.started:
                if http_task.done():  # uvicorn could not bind: the replica cannot serve, so it stops
                    stop.set()
                    raise RuntimeError(f"the REST API could not listen on {settings.http_host}:{settings.http_port}")
                await asyncio.sleep(0.05)
            await prompt_client.start()
            await host.load_local(settings.local_models)
            if await reloader.startup(stop):
                ready.set()
            log.info("serving %s on http://%s:%d/v1", sorted(host.routes), settings.http_host, settings.http_port)
            await stop.wait()
        finally:
            server.should_exit = True
            await http_task
            host.close()
            await registry.close()
            await prompt_client.close()

    return Service(adapters, [grpc.grpc_service(gateway, host, prompts.render)],
                   background=[run, inference_log.run, blocklist.run])
