"""Alias rules, model URIs, evaluation gates, and the promotion workflow on the in-memory store."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops_common.auth import Principal, Role
from llmops_common.errors import AlreadyExists, Conflict, FailedPrecondition, InvalidArgument, PermissionDenied
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.testing.fakes import InMemoryArtifacts
from llmops_registry import handlers, releases
from llmops_registry.domain.governance import (
    AliasPolicy,
    MetricGate,
    Pin,
    PromotionStatus,
    RequestPromotion,
    Rollback,
    SetAlias,
    evaluate_gates,
    latest_metrics,
    parse_model_uri,
    validate_alias,
)
from llmops_registry.domain.model import CreateModelVersion, EvaluationResult, ModelKind, RegisterModel
from llmops_registry.store.memory import InMemoryRegistry

DEV = Principal("k1", "dev", Role.DEVELOPER)
ANN = Principal("k2", "ann", Role.APPROVER)
BOB = Principal("k3", "bob", Role.APPROVER)
ADMIN = Principal("k4", "root", Role.ADMIN)
EVALUATOR = Principal("k5", "evaluator", Role.SERVICE)
URI = "s3://llmops-models/m/1"


@pytest.mark.parametrize("alias, rule", [
    ("latest", "reserved"), ("LATEST", "reserved"), ("v3", "looks like a version"), ("V12", "looks like a version"),
    ("", "1-255"), ("has space", "1-255"), ("a" * 256, "1-255"), ("dots.no", "1-255"),
])
def test_invalid_aliases_name_the_rule(alias, rule):
    with pytest.raises(InvalidArgument, match=rule) as err:
        validate_alias(alias)
    assert err.value.field == "alias"


def test_valid_aliases_and_uris():
    for alias in ("production", "staging-2", "champion_a", "v", "version1", "v1a"):
        validate_alias(alias)
    assert parse_model_uri("models:/m/3").version == 3
    assert parse_model_uri("models:/m@production").alias == "production"
    assert parse_model_uri("models:/m@latest").is_latest
    for bad in ("models:/m", "m/3", "models:/m/x", "s3://m/3", "models:/m@a@b"):
        with pytest.raises(InvalidArgument):
            parse_model_uri(bad)


def test_gates_threshold_and_change_against_the_holder():
    gates = (MetricGate("bleu", threshold=30.0, min_absolute_change=1.0),
             MetricGate("toxicity", threshold=0.1, greater_is_better=False))
    ok = evaluate_gates(gates, {"bleu": 33.0, "toxicity": 0.05}, {"bleu": 31.5, "toxicity": 0.2})
    assert [r.passed for r in ok] == [True, True]
    small = evaluate_gates(gates, {"bleu": 32.0, "toxicity": 0.05}, {"bleu": 31.5})
    assert not small[0].passed and "improves by 0.5, needs 1" in small[0].message
    low = evaluate_gates(gates, {"bleu": 29.0, "toxicity": 0.3}, None)
    assert [r.passed for r in low] == [False, False]
    assert "bleu=29 is not >= 30" in low[0].message and "toxicity=0.3 is not <= 0.1" in low[1].message
    missing = evaluate_gates(gates, {"toxicity": 0.0}, None)
    assert missing[0].message.startswith("no trusted bleu result is attached")
    first = evaluate_gates((MetricGate("bleu", min_relative_change=0.05),), {"bleu": 10.0}, None)
    assert first[0].passed  # nothing holds the alias yet: no change to require
    relative = evaluate_gates((MetricGate("bleu", min_relative_change=0.05),), {"bleu": 10.2}, {"bleu": 10.0})
    assert not relative[0].passed and "needs 5.00%" in relative[0].message


@pytest.fixture
async def registry():
    state = InMemoryRegistry()
    artifacts = InMemoryArtifacts()
    artifacts.put(URI, b"w")
    await handlers.register_model(state.unit_of_work, RegisterModel("m"), actor=DEV)
    for metrics in ({"bleu": 20.0}, {"bleu": 35.0}):
        v = await handlers.create_model_version(state.unit_of_work, artifacts,
                                                CreateModelVersion("m", URI, ModelKind.BASE), actor=DEV)
        await handlers.attach_evaluation_command(state.unit_of_work, "m", v.version,
                                                 EvaluationResult(f"e{v.version}", metrics, "", datetime.now(UTC)),
                                                 actor=EVALUATOR)
    await releases.set_policy(state.unit_of_work, AliasPolicy("m", "production", protected=True,
                                                              gates=(MetricGate("bleu", threshold=30.0),),
                                                              required_approvals=2), actor=ADMIN)
    return state


async def test_protected_alias_cannot_be_set_directly(registry):
    with pytest.raises(PermissionDenied, match="protected"):
        await releases.set_alias(registry.unit_of_work, SetAlias("m", "production", Pin(2)), actor=ADMIN)
    await releases.set_alias(registry.unit_of_work, SetAlias("m", "staging", Pin(2)), actor=DEV)  # unprotected: fine


async def test_failed_gate_closes_the_request_and_moves_nothing(registry):
    promotion = await releases.request_promotion(registry.unit_of_work,
                                                 RequestPromotion("m", "production", Pin(1)), actor=DEV)
    assert promotion.status is PromotionStatus.GATES_FAILED
    assert "bleu=20 is not >= 30" in promotion.gate_results[0].message
    assert ("m", "production") not in registry.aliases
    with pytest.raises(FailedPrecondition, match="gates_failed"):
        await releases.approve_promotion(registry.unit_of_work, promotion.id, actor=ANN)


async def test_approvals_count_distinct_approvers_and_exclude_the_requester(registry):
    promotion = await releases.request_promotion(registry.unit_of_work,
                                                 RequestPromotion("m", "production", Pin(2)), actor=ANN)
    assert promotion.status is PromotionStatus.PENDING
    with pytest.raises(PermissionDenied, match="requested this promotion"):
        await releases.approve_promotion(registry.unit_of_work, promotion.id, actor=ANN)
    with pytest.raises(PermissionDenied, match="needs approver"):
        await releases.approve_promotion(registry.unit_of_work, promotion.id, actor=DEV)
    first = await releases.approve_promotion(registry.unit_of_work, promotion.id, actor=BOB)
    assert first.status is PromotionStatus.PENDING and first.approvals == 1
    assert ("m", "production") not in registry.aliases
    with pytest.raises(AlreadyExists):
        await releases.approve_promotion(registry.unit_of_work, promotion.id, actor=BOB)
    done = await releases.approve_promotion(registry.unit_of_work, promotion.id, actor=ADMIN)
    assert done.status is PromotionStatus.APPROVED
    assert registry.aliases[("m", "production")].version == 2


async def test_rollback_restores_the_previous_holder(registry):
    await releases.set_alias(registry.unit_of_work,
                             SetAlias("m", "champion", Pin(1, "p/1", {"temperature": 0.1})), actor=DEV)
    await releases.set_alias(registry.unit_of_work, SetAlias("m", "champion", Pin(2, "p/2")), actor=DEV)
    release, replaced = await releases.rollback(registry.unit_of_work, Rollback("m", "champion"), actor=DEV)
    assert (release.version, replaced.version) == (1, 2)
    assert (release.prompt_version, release.sampling_parameters) == ("p/1", {"temperature": 0.1})
    with pytest.raises(Conflict):
        await releases.set_alias(registry.unit_of_work,
                                 SetAlias("m", "champion", Pin(2), expected_version=2), actor=DEV)


async def test_every_state_change_has_one_audit_row_and_one_event(registry):
    promotion = await releases.request_promotion(registry.unit_of_work,
                                                 RequestPromotion("m", "production", Pin(2)), actor=ANN)
    await releases.approve_promotion(registry.unit_of_work, promotion.id, actor=BOB)
    await releases.approve_promotion(registry.unit_of_work, promotion.id, actor=ADMIN)
    assert len(registry.audit) == len(registry.outbox)
    assert [a.action for a in registry.audit][-4:] == [
        "promotion.requested", "promotion.approval_recorded", "promotion.approved", "alias.promoted"]
    assert [e.type.removeprefix("llmops.registry.") for e in registry.outbox][-4:] == [
        "promotion.requested", "promotion.approved", "promotion.approved", "alias.moved"]


async def _new_version(state: InMemoryRegistry) -> int:
    artifacts = InMemoryArtifacts()
    artifacts.put(URI, b"w")
    created = await handlers.create_model_version(state.unit_of_work, artifacts,
                                                  CreateModelVersion("m", URI, ModelKind.BASE), actor=DEV)
    return created.version


async def test_results_attached_by_people_are_kept_but_only_the_evaluation_services_pass_a_gate(registry):
    version = await _new_version(registry)
    for who in (DEV, ANN, ADMIN):
        await handlers.attach_evaluation_command(registry.unit_of_work, "m", version,
                                                 EvaluationResult(f"by-{who.name}", {"bleu": 99.0}), actor=who)
    shown = await handlers.get_model_version(registry.unit_of_work, "m", version)
    assert [(e.attached_by, e.trusted) for e in shown.evaluations] == [("dev", False), ("ann", False), ("root", False)]
    refused = await releases.request_promotion(registry.unit_of_work,
                                               RequestPromotion("m", "production", Pin(version)), actor=DEV)
    assert refused.status is PromotionStatus.GATES_FAILED
    assert refused.gate_results[0].message.startswith("no trusted bleu result is attached")

    completed = Envelope.wrap(EvaluationRunCompleted(evaluation_run_id="ev-1", model_name="m", model_version=version,
                                                     metrics={"bleu": 99.0}), producer="evaluation")
    assert await handlers.record_evaluation(registry.unit_of_work, completed)
    shown = await handlers.get_model_version(registry.unit_of_work, "m", version)
    assert (shown.evaluations[-1].attached_by, shown.evaluations[-1].trusted) == (handlers.EVALUATION_ACTOR, True)
    passed = await releases.request_promotion(registry.unit_of_work,
                                              RequestPromotion("m", "production", Pin(version)), actor=DEV)
    assert passed.status is PromotionStatus.PENDING and passed.gate_results[0].candidate_value == 99.0
    assert registry.audit[-2].after["trusted"] is True  # the attach's audit row says how it was counted


async def test_a_key_with_the_service_role_attaches_trusted_results(registry):
    version = await _new_version(registry)
    await handlers.attach_evaluation_command(registry.unit_of_work, "m", version,
                                             EvaluationResult("svc-1", {"bleu": 40.0}), actor=EVALUATOR)
    promotion = await releases.request_promotion(registry.unit_of_work,
                                                 RequestPromotion("m", "production", Pin(version)), actor=DEV)
    assert promotion.status is PromotionStatus.PENDING


async def test_a_future_dated_evaluation_does_not_outrank_a_later_one(registry):
    version = await _new_version(registry)
    future = datetime(2999, 1, 1, tzinfo=UTC)
    await handlers.attach_evaluation_command(registry.unit_of_work, "m", version,
                                             EvaluationResult("early", {"bleu": 99.0}, "", future), actor=EVALUATOR)
    await handlers.attach_evaluation_command(registry.unit_of_work, "m", version,
                                             EvaluationResult("later", {"bleu": 10.0}, "", datetime.now(UTC)),
                                             actor=EVALUATOR)
    shown = await handlers.get_model_version(registry.unit_of_work, "m", version)
    assert shown.evaluations[0].reported_at == future  # kept, for information only
    assert all(e.recorded_at <= datetime.now(UTC) for e in shown.evaluations)
    assert latest_metrics(shown.evaluations) == {"bleu": 10.0}
    promotion = await releases.request_promotion(registry.unit_of_work,
                                                 RequestPromotion("m", "production", Pin(version)), actor=DEV)
    assert (promotion.status is PromotionStatus.GATES_FAILED
            and "bleu=10 is not >= 30" in promotion.gate_results[0].message)


@given(st.lists(st.tuples(st.datetimes(timezones=st.just(UTC)), st.booleans(), st.floats(0, 100)), max_size=8))
def test_latest_metrics_ranks_trusted_results_by_when_they_were_recorded(results):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    evaluations = tuple(EvaluationResult(f"r{i}", {"bleu": value}, "", reported, "someone", trusted,
                                         start + timedelta(seconds=i))
                        for i, (reported, trusted, value) in enumerate(results))
    trusted_values = [value for _, trusted, value in results if trusted]
    assert latest_metrics(evaluations[::-1]) == ({"bleu": trusted_values[-1]} if trusted_values else {})


async def test_events_recorded_for_an_evaluation_event_follow_it(registry):
    """Every event the consumer records (the attach, and the promotion it opens and completes) carries the
    incoming event's correlation id and names it as its cause; events from API calls name no cause."""
    version = await _new_version(registry)
    await releases.set_policy(registry.unit_of_work, AliasPolicy("m", "staging", protected=False, required_approvals=0,
                                                                 auto_request_on_evaluation=True), actor=ADMIN)
    sent = len(registry.outbox)
    completed = Envelope.wrap(EvaluationRunCompleted(evaluation_run_id="ev-7", model_name="m", model_version=version,
                                                     metrics={"bleu": 50.0}), producer="evaluation",
                              correlation_id="run-7")
    assert await handlers.record_evaluation(registry.unit_of_work, completed)
    caused = registry.outbox[sent:]
    assert [e.type.removeprefix("llmops.registry.") for e in caused] == [
        "evaluation.attached", "promotion.requested", "promotion.approved", "alias.moved"]
    assert {(e.correlation_id, e.causation_id, e.producer) for e in caused} == {
        ("run-7", str(completed.event_id), "registry")}
    assert {e.causation_id for e in registry.outbox[:sent]} == {None}


async def test_a_release_its_audit_row_and_its_event_carry_the_same_pin(registry):
    pin = Pin(2, "p/3", {"temperature": 0.2})
    release, _ = await releases.set_alias(registry.unit_of_work, SetAlias("m", "canary", pin, reason="try"), actor=DEV)
    moved, audit = registry.outbox[-1].payload, registry.audit[-1]
    assert release.pin == pin and audit.after == pin.as_json() and audit.reason == "try"
    assert (moved.new_version, moved.prompt_version, moved.parameters) == (2, "p/3", {"temperature": 0.2})
    back, replaced = await releases.set_alias(registry.unit_of_work, SetAlias("m", "canary", Pin(1)), actor=DEV)
    assert back.previous == pin and replaced.pin == pin and registry.audit[-1].before == pin.as_json()
    assert registry.outbox[-1].payload.prompt_version is None and registry.outbox[-1].payload.previous_version == 2
