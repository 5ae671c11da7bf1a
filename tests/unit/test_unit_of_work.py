"""The unit of work wraps every event a handler records: in the service's name, in the caller's
correlation, and, while handling an event, following it (causation id = that event's id)."""

import pytest

from llmops_common.audit import AuditEntry
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.events.registry import ModelCreated
from llmops_common.unit_of_work import InMemoryUnitOfWork, UnitOfWork
from llmops_ingestion.store import IngestionUnitOfWork
from llmops_prompts.store import PromptsUnitOfWork
from llmops_registry.store import RegistryUnitOfWork


class _State:
    def __init__(self) -> None:
        self.audit: list[AuditEntry] = []
        self.outbox: list[Envelope] = []


class _Fake(InMemoryUnitOfWork):
    producer = "tests"


@pytest.mark.parametrize(("contract", "producer"), [(RegistryUnitOfWork, "registry"), (PromptsUnitOfWork, "prompts"),
                                                    (IngestionUnitOfWork, "ingestion")])
def test_each_service_names_the_producer_of_its_events(contract: type[UnitOfWork], producer: str):
    assert contract.producer == producer


async def test_recorded_events_join_the_audit_rows_correlation_and_start_no_causation():
    state = _State()
    async with _Fake(state) as tx:
        tx.record(AuditEntry("ann", "model.created", "m", correlation_id="c-1"), ModelCreated(model_name="m"))
        tx.emit(ModelCreated(model_name="n"))
        await tx.commit()
    first, second = state.outbox
    assert (first.producer, first.correlation_id, first.causation_id) == ("tests", "c-1", None)
    assert second.correlation_id and second.correlation_id != "c-1" and second.causation_id is None
    assert [a.subject for a in state.audit] == ["m"]


async def test_a_unit_that_handles_an_event_emits_events_that_follow_it():
    state = _State()
    cause = Envelope.wrap(EvaluationRunCompleted(evaluation_run_id="e", model_name="m", model_version=1, metrics={}),
                          producer="evaluation", correlation_id="run-1")
    async with _Fake(state) as tx:
        tx.follow(cause)
        tx.record(AuditEntry("svc", "evaluation.attached", "m", correlation_id="run-1"), ModelCreated(model_name="m"))
        await tx.commit()
    (event,) = state.outbox
    assert (event.producer, event.correlation_id, event.causation_id) == ("tests", "run-1", str(cause.event_id))
    async with _Fake(state) as tx:  # a new unit starts without a cause
        tx.emit(ModelCreated(model_name="m"))
        await tx.commit()
    assert state.outbox[-1].causation_id is None
