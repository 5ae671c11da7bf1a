"""Wiring: settings -> adapters -> store, servicer and subscribers. Nothing connects here."""

from __future__ import annotations

from llmops_common.db import Migration, service_migrations
from llmops_common.pagination import PageTokens
from llmops_common.runtime import Adapters, Service
from llmops_registry.api import events, grpc
from llmops_registry.settings import RegistrySettings
from llmops_registry.store.postgres import PostgresUnitOfWork


def migrations() -> list[Migration]:
    return service_migrations("llmops_registry")


def bootstrap(settings: RegistrySettings) -> Service:
    adapters = Adapters.build(settings)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(adapters.pool, readonly=readonly)

    events.subscribe(adapters.bus, uow)
    return Service(adapters, [grpc.grpc_service(uow, adapters.artifacts, PageTokens(settings.page_token_secret()))])
