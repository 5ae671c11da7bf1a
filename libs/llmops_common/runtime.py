"""The life of a service process, the same for every service.

Build the adapters unconnected, start gRPC at once (health says NOT_SERVING), then connect Postgres
(refusing an outdated schema), NATS (streams, then subscribers) and S3, each retried with backoff
rather than crash-looping; report SERVING; relay the outbox; and on SIGTERM report NOT_SERVING, let
in-flight calls finish within the grace period, and close everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool

from llmops_common.auth import AUTH_SCHEMA, Authenticator, PostgresApiKeyStore
from llmops_common.bus import Bus
from llmops_common.db import Migration, SchemaOutdated, check_schema, load_migrations, make_pool
from llmops_common.grpc_server import GrpcServer, GrpcService, install_signal_handlers
from llmops_common.outbox import OutboxRelay
from llmops_common.settings import CommonSettings
from llmops_common.storage import ArtifactStore
from llmops_common.telemetry import configure_logging, start_metrics_server

log = logging.getLogger(__name__)

def auth_migrations() -> list[Migration]:
    return load_migrations("llmops_common", "migrations/auth", source=AUTH_SCHEMA)


@dataclass
class Adapters:
    """The connections a service's handlers use; built unconnected, connected by ``run_service``."""

    settings: CommonSettings
    pool: AsyncConnectionPool
    bus: Bus
    artifacts: ArtifactStore
    authenticator: Authenticator

    @classmethod
    def build(cls, settings: CommonSettings) -> Adapters:
        pool = make_pool(
            settings.postgres_dsn,
            settings.postgres_schema,
            min_size=settings.postgres_pool_min,
            max_size=settings.postgres_pool_max,
        )
        admin_key = settings.bootstrap_admin_key.get_secret_value() if settings.bootstrap_admin_key else None
        return cls(
            settings=settings,
            pool=pool,
            bus=Bus(settings, producer=settings.service_name),
            artifacts=ArtifactStore.from_settings(settings),
            authenticator=Authenticator(PostgresApiKeyStore(pool), bootstrap_admin_key=admin_key),
        )


async def retry_until(name: str, attempt: Callable[[], Awaitable[object]], stop: asyncio.Event, *,
                      give_up_after: float = 0.0) -> bool:
    """Run ``attempt`` until it succeeds, backing off 0.5 s to 10 s; False if stopped first.

    A ``SchemaOutdated`` is not retried: running on the wrong schema is a deployment error.
    """
    delay, waited = 0.5, 0.0
    while not stop.is_set():
        try:
            return bool(await _unless_stopped(attempt(), stop))
        except SchemaOutdated:
            raise
        except Exception as exc:
            if give_up_after and waited >= give_up_after:
                raise
            log.warning("%s unavailable; retrying in %.1fs", name, delay, extra={"error": repr(exc)})
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        waited += delay
        delay = min(delay * 2, 10.0)
    return False


async def _unless_stopped(work: Awaitable[object], stop: asyncio.Event) -> bool:
    """Await ``work``; True when it finished, False (and ``work`` cancelled) when ``stop`` came first."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return False


async def run_service(
    adapters: Adapters,
    *,
    migrations: list[Migration],
    grpc_services: list[GrpcService],
    stop: asyncio.Event | None = None,
    ready: Callable[[GrpcServer], None] | None = None,
    background: list[Callable[[asyncio.Event], Awaitable[None]]] = (),
) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop``). Subscribers must be registered on ``adapters.bus``."""
    settings = adapters.settings
    stop = stop or asyncio.Event()
    install_signal_handlers(stop)
    start_metrics_server(settings.metrics_port)
    server = GrpcServer(
        grpc_services,
        service_name=settings.service_name,
        host=settings.grpc_host,
        port=settings.grpc_port,
        authenticator=adapters.authenticator,
        access_log_enabled=settings.access_log,
    )
    await server.start()
    await server.set_serving(False)
    log.info("gRPC listening on %s:%d; connecting", settings.grpc_host, server.port)
    if ready:
        ready(server)

    give_up = settings.startup_retry_seconds
    relay_task: asyncio.Task[None] | None = None
    workers: list[asyncio.Task[None]] = []
    try:

        await adapters.pool.open(wait=False)  # connects in the background, retrying by itself

        async def open_postgres() -> None:
            async with adapters.pool.connection(timeout=5) as conn:
                await check_schema(conn, settings.postgres_schema, migrations)
                await check_schema(conn, AUTH_SCHEMA, auth_migrations())

        connected = (
            await retry_until("postgres", open_postgres, stop, give_up_after=give_up)
            and await retry_until("nats", adapters.bus.start, stop, give_up_after=give_up)
            and await retry_until("s3", lambda: asyncio.to_thread(adapters.artifacts.ensure_buckets), stop,
                                  give_up_after=give_up)
        )
        if connected:
            relay = OutboxRelay(adapters.pool, adapters.bus.publish_many, schema=settings.postgres_schema)
            relay_task = asyncio.create_task(relay.run(stop), name="outbox-relay")
            workers = [asyncio.create_task(work(stop), name=getattr(work, "__qualname__", "worker"))
                       for work in background]
            for worker in workers:
                worker.add_done_callback(_report_failure)
            await server.set_serving(True)
            log.info("%s serving", settings.service_name)
            await stop.wait()
    finally:
        await server.stop(settings.shutdown_grace_seconds)
        if relay_task:
            await relay_task
        for worker in workers:  # they watch ``stop``; a job in flight is finished or left to be retried
            with contextlib.suppress(Exception):
                await worker
        with contextlib.suppress(Exception):
            await adapters.bus.stop()
        await adapters.pool.close()
        log.info("%s stopped", settings.service_name)


def _report_failure(task: asyncio.Task[None]) -> None:
    """A background worker that dies says so at once (the shutdown path only awaits it)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("background worker %s failed", task.get_name(), exc_info=task.exception())


@dataclass
class Service:
    """What a service's bootstrap builds: its adapters (unconnected) and the gRPC services it hosts."""

    adapters: Adapters
    grpc_services: list[GrpcService]
    # Long-running workers started once connected; each gets the stop event and must return after it.
    background: list[Callable[[asyncio.Event], Awaitable[None]]] = field(default_factory=list)


def serve(settings: CommonSettings, bootstrap: Callable[[Any], Service], migrations: list[Migration]) -> None:
    """A service's ``main``: configure logging, wire the service, run it until SIGTERM."""
    configure_logging(settings.service_name, fmt=settings.log_format, level=settings.log_level)
    service = bootstrap(settings)
    asyncio.run(run_service(service.adapters, migrations=migrations, grpc_services=service.grpc_services,
                            background=service.background))
