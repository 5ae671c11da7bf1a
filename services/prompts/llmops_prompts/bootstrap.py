"""Wiring: settings -> adapters -> store and servicer. Nothing connects here."""

from __future__ import annotations

from dataclasses import dataclass

from llmops_common.db import Migration, service_migrations
from llmops_common.grpc_server import GrpcService
from llmops_common.runtime import Adapters
from llmops_prompts.api import grpc
from llmops_prompts.settings import PromptsSettings
from llmops_prompts.store import PostgresUnitOfWork


def migrations() -> list[Migration]:
    return service_migrations("llmops_prompts")


@dataclass
class Prompts:
    adapters: Adapters
    grpc_services: list[GrpcService]


def bootstrap(settings: PromptsSettings) -> Prompts:
    adapters = Adapters.build(settings)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(adapters.pool, readonly=readonly)

    return Prompts(adapters, [grpc.grpc_service(uow, frozenset(settings.protected_labels))])
