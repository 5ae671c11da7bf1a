"""Wiring: settings -> adapters -> store, job runner, servicer and subscribers. Nothing connects here."""

from __future__ import annotations

from llmops_common.runtime import Adapters, Service
from llmops_ingestion.api import events, grpc
from llmops_ingestion.jobs import JobRunner
from llmops_ingestion.schema import migrations
from llmops_ingestion.settings import IngestionSettings
from llmops_ingestion.sources import SourceRules
from llmops_ingestion.store.postgres import PostgresUnitOfWork

__all__ = ["bootstrap", "migrations"]


def bootstrap(settings: IngestionSettings) -> Service:
    adapters = Adapters.build(settings)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(adapters.pool, readonly=readonly)

    runner = JobRunner(uow, adapters.artifacts, settings)
    events.subscribe(adapters.bus, uow, SourceRules.from_settings(settings), runner.wake)
    return Service(adapters, [grpc.grpc_service(uow, adapters.artifacts, settings, runner.wake)],
                   background=[runner.run])
