"""The pipeline's use cases against the in-memory store and a fake registry: triggers, the run's state
machine driven by answers and by the driver, retries, timeouts, gates, approvals, reproductions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pipeline_fakes import ALICE, DEFINITION, FakeGovernance, attached, envelope, evaluated, ingested, trained

from llmops_common.errors import FailedPrecondition, InvalidArgument, NotFound
from llmops_common.events.evaluation import EvaluationRunFailed
from llmops_common.events.monitoring import AlertRaised
from llmops_common.events.registry import PromotionApproved, PromotionRejected
from llmops_common.events.training import TrainingRunFailed
from llmops_common.pagination import Page
from llmops_pipelines import handlers
from llmops_pipelines.domain.run import RunStatus, StepStatus
from llmops_pipelines.governance import PromotionOutcome
from llmops_pipelines.store import RunQuery
from llmops_pipelines.store.memory import InMemoryPipelines


@pytest.fixture
def world():
    state, governance = InMemoryPipelines(), FakeGovernance()
    governance.aliases["production"] = "models:/qa-lora/1"
    return state, governance, handlers.Services(governance, "code-1", recheck_seconds=30)


def _sent(state, event_type):
    return [e for e in state.outbox if e.type == event_type]


async def _run(state):
    return next(iter(state.runs.values()))


async def _later(monkeypatch, seconds):
    moved = handlers.now() + timedelta(seconds=seconds)
    monkeypatch.setattr(handlers, "now", lambda: moved)


async def _trained_and_evaluated(uow, services, run_id):
    """Training and evaluation answer; the run is due for its first promotion."""
    await handlers.on_answer(uow, trained(run_id))
    await handlers.drive_due_runs(uow, services)
    await handlers.on_answer(uow, evaluated(run_id))
    await handlers.on_answer(uow, attached(run_id))


async def _started(world):
    state, governance, services = world
    await handlers.apply_pipeline(state.unit_of_work, governance, DEFINITION, actor=ALICE)
    [run_id] = await handlers.on_dataset_ingested(state.unit_of_work, services, ingested())
    await handlers.drive_due_runs(state.unit_of_work, services)
    return run_id


async def test_apply_versions_a_definition_once_per_content_and_sets_the_registry_policies(world):
    state, governance, _ = world
    first = await handlers.apply_pipeline(state.unit_of_work, governance, DEFINITION, actor=ALICE)
    again = await handlers.apply_pipeline(state.unit_of_work, governance, DEFINITION + "\n# a comment\n", actor=ALICE)
    changed = await handlers.apply_pipeline(state.unit_of_work, governance,
                                            DEFINITION.replace("max_steps: 5", "max_steps: 6"), actor=ALICE)
    assert (first.version, again.version, changed.version) == (1, 1, 2)
    assert [d.promote[0].alias for d in governance.applied] == ["staging", "staging"]
    assert (await handlers.get_pipeline(state.unit_of_work, "qa")).version == 2
    assert (await handlers.get_pipeline(state.unit_of_work, "qa", 1)).definition.train.spec["hyperparameters"][
        "max_steps"] == 5
    with pytest.raises(NotFound):
        await handlers.get_pipeline(state.unit_of_work, "nope")


async def test_a_new_dataset_version_starts_a_run_that_requests_training_in_its_own_correlation(world):
    state, _, _ = world
    run_id = await _started(world)
    [request] = _sent(state, "llmops.training.run.requested")
    assert request.correlation_id == run_id
    assert request.payload.dataset_version == "qa-data@v1"
    assert request.payload.base_model_uri == "models:/tiny@latest"
    assert request.payload.spec["output_model_name"] == "qa-lora"
    assert request.payload.spec["code_version"] == "code-1"
    run = await _run(state)
    assert run.trigger.value == "dataset" and run.inputs["seed"] == "7"
    assert run.step("train").status is StepStatus.REQUESTED and run.step("train").attempt == 1


async def test_the_whole_flow_train_evaluate_gate_approve(world):
    state, governance, services = world
    run_id = await _started(world)
    uow = state.unit_of_work
    assert await handlers.on_answer(uow, trained(run_id))
    await handlers.drive_due_runs(uow, services)
    [request] = _sent(state, "llmops.evaluation.run.requested")
    assert request.payload.model_uri == "models:/qa-lora/2"
    assert request.payload.dataset_version == "qa-data@v1"  # the trained version, by default
    assert request.payload.spec["baselines"] == [{"role": "champion", "model_version": "models:/qa-lora/1"},
                                                 {"role": "base", "model_version": "models:/tiny/1"}]
    assert request.payload.spec["prompt_version"] == "qa/3"
    # the registry's note may come before the results: the step waits for both
    assert await handlers.on_answer(uow, attached(run_id))
    assert (await _run(state)).step("evaluate").status is StepStatus.REQUESTED
    assert await handlers.on_answer(uow, evaluated(run_id))
    assert (await _run(state)).step("evaluate").status is StepStatus.SUCCEEDED
    governance.outcomes["production"] = PromotionOutcome.PENDING
    await handlers.drive_due_runs(uow, services)  # staging: approved by policy
    await handlers.drive_due_runs(uow, services)  # production: waits for an approver
    run = await _run(state)
    assert run.status is RunStatus.WAITING_APPROVAL and run.awaiting == "promo-production"
    assert [c.prompt_version for c in governance.calls] == ["qa/3", "qa/3"]
    one_of_two = envelope(PromotionApproved(request_id="promo-production", model_name="qa-lora", version=2,
                                            alias="production", approved_by="bob", approvals=1, required_approvals=2))
    assert await handlers.on_answer(uow, one_of_two)
    assert (await _run(state)).status is RunStatus.WAITING_APPROVAL
    approved = envelope(PromotionApproved(request_id="promo-production", model_name="qa-lora", version=2,
                                          alias="production", approved_by="carol", approvals=2, required_approvals=2))
    assert await handlers.on_answer(uow, approved)
    run = await _run(state)
    assert run.status is RunStatus.SUCCEEDED and run.promoted == ["staging", "production"]
    [done] = _sent(state, "llmops.pipelines.run.completed")
    assert done.payload.promoted == ["staging", "production"] and done.payload.model_version == "models:/qa-lora/2"
    assert all(e.correlation_id == run_id for e in state.outbox)
    # the same event again changes nothing (inbox)
    assert not await handlers.on_answer(uow, approved)


async def test_a_transient_failure_is_retried_after_the_backoff_and_a_permanent_one_ends_the_run(world, monkeypatch):
    state, _, services = world
    run_id = await _started(world)
    uow = state.unit_of_work
    failed = TrainingRunFailed(run_id="t", reason="worker died", code="internal")
    await handlers.on_answer(uow, envelope(failed, run_id))
    run = await _run(state)
    assert run.step("train").status is StepStatus.PENDING and run.due_at > handlers.now()
    assert await handlers.drive_due_runs(uow, services) == 0  # not due yet
    await _later(monkeypatch, 11)
    await handlers.drive_due_runs(uow, services)
    assert len(_sent(state, "llmops.training.run.requested")) == 2
    assert (await _run(state)).step("train").attempt == 2
    await handlers.on_answer(uow, envelope(TrainingRunFailed(run_id="t", reason="worker died", code=""), run_id))
    run = await _run(state)  # two attempts allowed: the second failure ends it
    assert run.status is RunStatus.FAILED and "worker died" in run.error


async def test_a_refused_request_fails_at_once(world):
    state, _, _ = world
    run_id = await _started(world)
    await handlers.on_answer(state.unit_of_work, envelope(
        TrainingRunFailed(run_id="", reason="dataset_version: not found", code="failed_precondition"), run_id))
    run = await _run(state)
    assert run.status is RunStatus.FAILED and run.step("train").attempt == 1


async def test_an_unanswered_step_times_out_and_is_retried(world, monkeypatch):
    state, _, services = world
    await _started(world)
    await _later(monkeypatch, 3601)
    await handlers.drive_due_runs(state.unit_of_work, services)  # the timeout: a failure, retried later
    run = await _run(state)
    assert run.step("train").status is StepStatus.PENDING and "no answer within 3600 s" in run.step("train").error
    await _later(monkeypatch, 3601 + 11)
    await handlers.drive_due_runs(state.unit_of_work, services)
    assert len(_sent(state, "llmops.training.run.requested")) == 2


async def test_failed_gates_reject_the_run(world):
    state, governance, services = world
    run_id = await _started(world)
    uow = state.unit_of_work
    await _trained_and_evaluated(uow, services, run_id)
    governance.outcomes["staging"] = PromotionOutcome.REFUSED
    await handlers.drive_due_runs(uow, services)
    run = await _run(state)
    assert run.status is RunStatus.REJECTED and "bleu too low" in run.error
    assert run.step("promote-production").status is StepStatus.PENDING  # never reached


async def test_an_approver_rejection_and_an_evaluation_failure_end_runs(world):
    state, governance, services = world
    run_id = await _started(world)
    uow = state.unit_of_work
    await handlers.on_answer(uow, trained(run_id))
    await handlers.drive_due_runs(uow, services)
    await handlers.on_answer(uow, envelope(EvaluationRunFailed(evaluation_run_id="e", reason="bad split",
                                                               code="invalid"), run_id))
    assert (await _run(state)).status is RunStatus.FAILED
    state2, governance2 = InMemoryPipelines(), FakeGovernance()
    governance2.outcomes["staging"] = PromotionOutcome.PENDING
    world2 = (state2, governance2, handlers.Services(governance2, "code-1"))
    run_id = await _started(world2)
    for event in (trained(run_id),):
        await handlers.on_answer(state2.unit_of_work, event)
    await handlers.drive_due_runs(state2.unit_of_work, world2[2])
    await handlers.on_answer(state2.unit_of_work, evaluated(run_id))
    await handlers.on_answer(state2.unit_of_work, attached(run_id))
    await handlers.drive_due_runs(state2.unit_of_work, world2[2])
    rejected = envelope(PromotionRejected(request_id="promo-staging", model_name="qa-lora", version=2,
                                          alias="staging", rejected_by="bob", reason="not convinced"))
    assert await handlers.on_answer(state2.unit_of_work, rejected)
    run = await _run(state2)
    assert run.status is RunStatus.REJECTED and "not convinced" in run.error


async def test_a_waiting_promotion_is_looked_at_again_and_times_out(world, monkeypatch):
    state, governance, services = world
    run_id = await _started(world)
    uow = state.unit_of_work
    await _trained_and_evaluated(uow, services, run_id)
    governance.outcomes["production"] = PromotionOutcome.PENDING
    await handlers.drive_due_runs(uow, services)
    await handlers.drive_due_runs(uow, services)
    # an approval whose event raced the request: the recheck finds it
    governance.outcomes["production"] = PromotionOutcome.APPROVED
    await _later(monkeypatch, 31)
    await handlers.drive_due_runs(uow, services)
    assert (await _run(state)).status is RunStatus.SUCCEEDED


async def test_no_decision_before_the_deadline_fails_the_run(world, monkeypatch):
    state, governance, services = world
    run_id = await _started(world)
    uow = state.unit_of_work
    await _trained_and_evaluated(uow, services, run_id)
    governance.outcomes["production"] = PromotionOutcome.PENDING
    await handlers.drive_due_runs(uow, services)
    await handlers.drive_due_runs(uow, services)
    await _later(monkeypatch, 7 * 86400 + 1)
    await handlers.drive_due_runs(uow, services)
    run = await _run(state)
    assert run.status is RunStatus.FAILED and "no decision" in run.error


async def test_stale_answers_and_answers_for_no_run_change_nothing(world):
    state, _, _ = world
    run_id = await _started(world)
    uow = state.unit_of_work
    assert not await handlers.on_answer(uow, evaluated(run_id))  # the run is training
    assert not await handlers.on_answer(uow, trained("not-a-run"))
    assert not await handlers.on_answer(uow, trained("6d3c0b3e-0000-4000-8000-000000000000"))


async def test_evaluations_of_another_version_do_not_answer_the_run(world):
    state, _, services = world
    run_id = await _started(world)
    uow = state.unit_of_work
    await handlers.on_answer(uow, trained(run_id))  # models:/qa-lora/2
    await handlers.drive_due_runs(uow, services)
    assert not await handlers.on_answer(uow, evaluated(run_id, "e-9", version=9))
    assert not await handlers.on_answer(uow, attached(run_id, "e-9", version=9))
    await handlers.on_answer(uow, evaluated(run_id))
    await handlers.on_answer(uow, attached(run_id))
    evaluate = (await handlers.get_run(uow, run_id)).steps[1]
    assert (evaluate.status, evaluate.outputs["evaluation_run_id"]) == (StepStatus.SUCCEEDED, "e-1")


async def test_reproduce_pins_the_exact_inputs_skips_promotion_and_compares(world):
    state, _, services = world
    run_id = await _started(world)
    uow = state.unit_of_work
    with pytest.raises(FailedPrecondition):
        await handlers.reproduce_run(uow, services, run_id, actor=ALICE)
    await handlers.on_answer(uow, trained(run_id))
    await handlers.drive_due_runs(uow, services)
    await handlers.on_answer(uow, evaluated(run_id, bleu=30.0))
    await handlers.on_answer(uow, attached(run_id))
    await handlers.drive_due_runs(uow, services)
    await handlers.drive_due_runs(uow, services)
    copy = await handlers.reproduce_run(uow, services, run_id, actor=ALICE, request_id="r1")
    assert await handlers.reproduce_run(uow, services, run_id, actor=ALICE, request_id="r1") == copy
    assert [s.kind for s in copy.steps] == ["train", "evaluate"]
    await handlers.drive_due_runs(uow, services)
    request = _sent(state, "llmops.training.run.requested")[-1]
    assert request.correlation_id == copy.run_id
    assert (request.payload.base_model_uri, request.payload.dataset_version, request.payload.prompt_version) == \
        ("models:/tiny/1", "qa-data@v1", "qa/3")
    assert request.payload.spec["hyperparameters"]["seed"] == 7
    await handlers.on_answer(uow, trained(copy.run_id, "models:/qa-lora/3"))
    await handlers.drive_due_runs(uow, services)
    evaluation = _sent(state, "llmops.evaluation.run.requested")[-1]
    assert evaluation.payload.spec["baselines"][0] == {"role": "champion", "model_version": "models:/qa-lora/1"}
    await handlers.on_answer(uow, evaluated(copy.run_id, "e-2", bleu=31.0, version=3))
    await handlers.on_answer(uow, attached(copy.run_id, "e-2", version=3))
    done = await handlers.get_run(uow, copy.run_id)
    assert done.status is RunStatus.SUCCEEDED
    assert done.comparison == [{"metric": "bleu", "original": 30.0, "reproduced": 31.0, "delta": 1.0,
                                "within_interval": True}]


async def test_alert_triggers_start_on_the_newest_data_unless_a_run_is_going(world):
    state, governance, services = world
    text = DEFINITION.replace("datasets: [qa-data]", "datasets: [qa-data]\n  alerts: [drift]")
    await handlers.apply_pipeline(state.unit_of_work, governance, text, actor=ALICE)
    alert = envelope(AlertRaised(detector="embedding_drift", severity="warning", message="drift", kind="drift",
                                 model_version="models:/qa-lora/1", alert_id="a1"))
    assert await handlers.on_alert_raised(state.unit_of_work, services, alert) == []  # no data seen yet
    [first] = await handlers.on_dataset_ingested(state.unit_of_work, services, ingested(version="v2"))
    again = envelope(AlertRaised(detector="embedding_drift", severity="warning", message="drift", kind="drift",
                                 model_version="models:/qa-lora/1", alert_id="a2"))
    assert await handlers.on_alert_raised(state.unit_of_work, services, again) == []  # a run is going
    await handlers.cancel_run(state.unit_of_work, first, actor=ALICE)
    third = envelope(AlertRaised(detector="embedding_drift", severity="warning", message="drift", kind="drift",
                                 model_version="models:/qa-lora/1", alert_id="a3"))
    [started] = await handlers.on_alert_raised(state.unit_of_work, services, third)
    run = await handlers.get_run(state.unit_of_work, started)
    assert run.inputs["dataset_version"] == "qa-data@v2" and run.trigger_detail == "a3"
    other = envelope(AlertRaised(detector="d", severity="warning", message="m", kind="drift",
                                 model_version="models:/other/1", alert_id="a4"))
    assert await handlers.on_alert_raised(state.unit_of_work, services, other) == []


async def test_schedules_fire_when_due_and_move_on(world, monkeypatch):
    state, governance, services = world
    text = DEFINITION.replace("datasets: [qa-data]", "datasets: [qa-data]\n  every: 1h")
    await handlers.on_dataset_ingested(state.unit_of_work, services, ingested(version="v0"))  # before the pipeline
    await handlers.apply_pipeline(state.unit_of_work, governance, text, actor=ALICE)
    assert await handlers.fire_schedules(state.unit_of_work, services, handlers.now()) == []
    due = handlers.now() + timedelta(hours=1, seconds=1)
    [started] = await handlers.fire_schedules(state.unit_of_work, services, due)
    assert (await handlers.get_run(state.unit_of_work, started)).trigger.value == "schedule"
    pipeline = await handlers.get_pipeline(state.unit_of_work, "qa")
    assert pipeline.next_scheduled_at > handlers.now() + timedelta(hours=1, seconds=30)


async def test_manual_start_checks_its_input_and_is_idempotent(world):
    state, governance, services = world
    await handlers.apply_pipeline(state.unit_of_work, governance, DEFINITION, actor=ALICE)
    with pytest.raises(FailedPrecondition, match="no version of dataset"):
        await handlers.start_run(state.unit_of_work, services, "qa", actor=ALICE)
    with pytest.raises(InvalidArgument) as bad:
        await handlers.start_run(state.unit_of_work, services, "qa", dataset_version="qa-data", actor=ALICE)
    assert bad.value.field == "dataset_version"
    with pytest.raises(NotFound):
        await handlers.start_run(state.unit_of_work, services, "nope", dataset_version="d@1", actor=ALICE)
    first = await handlers.start_run(state.unit_of_work, services, "qa", dataset_version="qa-data@v9",
                                     request_id="k", actor=ALICE)
    again = await handlers.start_run(state.unit_of_work, services, "qa", dataset_version="qa-data@v9",
                                     request_id="k", actor=ALICE)
    assert first.run_id == again.run_id and first.trigger.value == "manual"
    rows, _ = await handlers.list_runs(state.unit_of_work, RunQuery("qa"), Page(10, None))
    assert [r.run_id for r in rows] == [first.run_id]


async def test_a_registry_outage_while_requesting_a_promotion_is_retried(world, monkeypatch):
    state, governance, services = world
    run_id = await _started(world)
    uow = state.unit_of_work
    await _trained_and_evaluated(uow, services, run_id)
    governance.down = True
    await handlers.drive_due_runs(uow, services)
    run = await _run(state)
    assert run.status is RunStatus.RUNNING and run.step("promote-staging").status is StepStatus.PENDING
    governance.down = False
    await _later(monkeypatch, 11)
    await handlers.drive_due_runs(uow, services)
    await handlers.drive_due_runs(uow, services)
    assert (await _run(state)).status is RunStatus.SUCCEEDED


@pytest.mark.parametrize("model_version", ["models:/other/2", "models:/qa-lora/x", "models:/qa-lora/٣", "", "qa-lora/2",
                                           "models:/qa-lora/99999999999999999999"])
async def test_a_training_answer_naming_a_foreign_or_malformed_version_fails_the_run(world, model_version):
    state, _, _ = world
    run_id = await _started(world)
    assert await handlers.on_answer(state.unit_of_work, trained(run_id, model_version))
    run = await _run(state)
    assert run.status is RunStatus.FAILED and "not a version of qa-lora" in run.error


async def test_a_defect_while_driving_one_run_fails_it_and_the_others_go_on(world):
    state, governance, services = world
    first = await _started(world)
    [second] = await handlers.on_dataset_ingested(state.unit_of_work, services, ingested(version="v2"))
    uow = state.unit_of_work
    await handlers.drive_due_runs(uow, services)
    for run_id in (first, second):
        await handlers.on_answer(uow, trained(run_id))
    await handlers.drive_due_runs(uow, services)
    for run_id in (first, second):
        await handlers.on_answer(uow, evaluated(run_id))
        await handlers.on_answer(uow, attached(run_id))

    async def broken(request):
        if request.request_id.startswith(f"pipeline:{first}"):
            raise RuntimeError("a defect")
        return await FakeGovernance.request_promotion(governance, request)

    governance.request_promotion = broken
    await handlers.drive_due_runs(uow, services)
    await handlers.drive_due_runs(uow, services)
    assert (await handlers.get_run(uow, first)).error.endswith("internal error: RuntimeError")
    assert (await handlers.get_run(uow, second)).status is RunStatus.SUCCEEDED
