"""Wiring: settings -> adapters -> store, references, launcher, tracker, servicer and subscribers.
Nothing connects here."""

from __future__ import annotations

from llmops_common.db import Migration, service_migrations
from llmops_common.pagination import PageTokens
from llmops_common.runtime import Adapters, Service
from llmops_training.api import events, grpc
from llmops_training.launcher import JobLauncher
from llmops_training.references import GrpcReferences, References
from llmops_training.settings import TrainingSettings
from llmops_training.store.postgres import PostgresUnitOfWork
from llmops_training.tracking import Tracker


def migrations() -> list[Migration]:
    return service_migrations("llmops_training")


def ray_launcher(settings: TrainingSettings) -> JobLauncher:
    from llmops_training.ray_launcher import RayLauncher  # Ray is imported only by a service that runs jobs

    return RayLauncher(settings.ray_address, connect_timeout=settings.ray_connect_timeout_seconds)


def bootstrap(settings: TrainingSettings, *, launcher: JobLauncher | None = None,
              references: References | None = None) -> Service:
    """The service; ``launcher`` defaults to Ray at ``ray_address``, ``references`` to the registry,
    ingestion and prompt services over gRPC."""
    adapters = Adapters.build(settings)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(adapters.pool, readonly=readonly)

    launcher = launcher or ray_launcher(settings)
    references = references or GrpcReferences(
        registry=settings.registry_endpoint, ingestion=settings.ingestion_endpoint,
        prompts=settings.prompts_endpoint, api_key=settings.api_key(), artifacts=adapters.artifacts,
        timeout=settings.call_timeout_seconds)
    tracker = Tracker(uow, launcher, references, settings)
    events.subscribe(adapters.bus, uow, references, settings, tracker.wake)
    servicer = grpc.TrainingServicer(uow, references, launcher, settings, tracker,
                                     PageTokens(settings.page_token_secret()))
    return Service(adapters, [grpc.grpc_service(servicer)], background=[tracker.run])
