"""Wiring: settings -> adapters -> store and servicer. Nothing connects here."""

from __future__ import annotations

from llmops_common.db import Migration, service_migrations
from llmops_common.pagination import PageTokens
from llmops_common.runtime import Adapters, Service
from llmops_common.templating import RenderPool
from llmops_prompts.api import grpc
from llmops_prompts.settings import PromptsSettings
from llmops_prompts.store.postgres import PostgresUnitOfWork


def migrations() -> list[Migration]:
    return service_migrations("llmops_prompts")


def bootstrap(settings: PromptsSettings) -> Service:
    adapters = Adapters.build(settings)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(adapters.pool, readonly=readonly)

    renders = RenderPool(settings.render_workers, memory_bytes=settings.render_memory_mb * 1024 * 1024,
                         timeout=settings.render_timeout_seconds)
    return Service(adapters, [grpc.grpc_service(uow, frozenset(settings.protected_labels),
                                                PageTokens(settings.page_token_secret()), renders.render)],
                   background=[renders.run])
