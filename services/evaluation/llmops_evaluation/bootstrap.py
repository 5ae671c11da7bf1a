"""Wiring: settings -> adapters -> store, references, executor, evaluator, worker, servicer and
subscribers. Nothing connects here."""

from __future__ import annotations

from llmops_common.pagination import PageTokens
from llmops_common.runtime import Adapters, Service
from llmops_evaluation.api import events, grpc
from llmops_evaluation.evaluator import Evaluator
from llmops_evaluation.generation.executor import Executor, RayExecutor
from llmops_evaluation.judge import Judge
from llmops_evaluation.references import GrpcReferences, References
from llmops_evaluation.settings import EvaluationSettings
from llmops_evaluation.store.postgres import PostgresUnitOfWork
from llmops_evaluation.worker import RunWorker


def bootstrap(settings: EvaluationSettings, *, executor: Executor | None = None,
              references: References | None = None, judge: Judge | None = None) -> Service:
    """The service; ``executor`` defaults to Ray at ``ray_address``, ``references`` to the registry,
    ingestion and prompt services over gRPC, ``judge`` to serving's REST API."""
    adapters = Adapters.build(settings)

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(adapters.pool, readonly=readonly)

    executor = executor or RayExecutor(settings.ray_address, num_cpus_per_task=settings.task_cpus,
                                       connect_timeout=settings.ray_connect_timeout_seconds)
    references = references or GrpcReferences(
        registry=settings.registry_endpoint, ingestion=settings.ingestion_endpoint,
        prompts=settings.prompts_endpoint, api_key=settings.api_key(), artifacts=adapters.artifacts,
        timeout=settings.call_timeout_seconds)
    evaluator = Evaluator(references, executor, adapters.artifacts, settings, judge)
    worker = RunWorker(uow, evaluator, settings)
    events.subscribe(adapters.bus, uow, references, settings, worker.wake)
    servicer = grpc.EvaluationServicer(uow, references, adapters.artifacts, settings,
                                       PageTokens(settings.page_token_secret()), worker.wake)
    return Service(adapters, [grpc.grpc_service(servicer)], background=[worker.run])
