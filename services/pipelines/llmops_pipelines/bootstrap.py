"""Wiring: settings -> adapters -> store, registry client, driver, servicer and subscribers. Nothing
connects here."""

from __future__ import annotations

from llmops_common.pagination import PageTokens
from llmops_common.runtime import Adapters, Service
from llmops_pipelines.api import events, grpc
from llmops_pipelines.driver import Driver
from llmops_pipelines.governance import Governance, GrpcGovernance
from llmops_pipelines.handlers import Services
from llmops_pipelines.settings import PipelinesSettings
from llmops_pipelines.store.postgres import PostgresUnitOfWork


def bootstrap(settings: PipelinesSettings, *, governance: Governance | None = None) -> Service:
    """The service; ``governance`` defaults to the registry over gRPC."""
    adapters = Adapters.build(settings)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(adapters.pool, readonly=readonly)

    governance = governance or GrpcGovernance(settings.registry_endpoint, settings.api_key(),
                                              settings.call_timeout_seconds)
    services = Services(governance, settings.code_version, settings.promotion_recheck_seconds)
    driver = Driver(uow, services, settings.poll_interval_seconds)
    events.subscribe(adapters.bus, uow, services, driver.wake)
    servicer = grpc.PipelinesServicer(uow, services, PageTokens(settings.page_token_secret()), driver.wake)
    return Service(adapters, [grpc.grpc_service(servicer)], background=[driver.run])
