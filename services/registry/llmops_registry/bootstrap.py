"""Wiring: settings -> adapters -> store, servicer and subscribers. Nothing connects here."""

from __future__ import annotations

from dataclasses import dataclass

from llmops_common.db import Migration, service_migrations
from llmops_common.grpc_server import GrpcService
from llmops_common.runtime import Adapters
from llmops_registry.api import events, grpc
from llmops_registry.settings import RegistrySettings
from llmops_registry.store import PostgresUnitOfWork


def migrations() -> list[Migration]:
    return service_migrations("llmops_registry")


@dataclass
class Registry:
    adapters: Adapters
    grpc_services: list[GrpcService]


def bootstrap(settings: RegistrySettings) -> Registry:
    adapters = Adapters.build(settings)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(adapters.pool, readonly=readonly)

    events.subscribe(adapters.bus, uow)
    return Registry(adapters, [grpc.grpc_service(uow, adapters.artifacts)])
