"""The training use cases and the tracker against the in-memory store, a fake launcher replaying a
scripted job log, and fake references (the same ports as Ray and the other services)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest

from llmops_common.errors import FailedPrecondition, InvalidArgument
from llmops_common.events import Envelope
from llmops_common.events.training import TrainingRunRequested
from llmops_common.pagination import Page
from llmops_training import handlers
from llmops_training.api.events import command_from_event
from llmops_training.domain.run import RunStatus
from llmops_training.domain.spec import Distributed, Hyperparameters, LoraSpec, Method, RunSpec
from llmops_training.domain.sweep import Dimension, SweepSpec
from llmops_training.jobs.protocol import TrainPlan
from llmops_training.store import RunQuery
from llmops_training.tracking import Tracker

from .conftest import ANN, event

SPEC = RunSpec("models:/tiny@prod", "qa@v1", "qa@latest", hyperparameters=Hyperparameters(max_steps=10))


async def submit(state, refs, settings, spec=SPEC, **kw):
    return await handlers.submit_run(state.unit_of_work, refs, settings, handlers.SubmitRun(spec, "r", **kw),
                                     actor=ANN, correlation_id="corr-1")


def tracker(state, launcher, refs, settings) -> Tracker:
    return Tracker(state.unit_of_work, launcher, refs, settings)


async def test_submit_resolves_checks_and_stores_a_pending_run_with_its_plan(state, refs, settings):
    run = await submit(state, refs, settings)
    assert run.status is RunStatus.PENDING and run.created_by == "ann" and run.correlation_id == "corr-1"
    assert run.resolved == {"base_model_version": "models:/tiny/1", "base_uri": "s3://llmops-models/tiny/1",
                            "dataset_version": "qa@v1", "prompt_version": "qa/2"}
    plan = TrainPlan.model_validate({**run.plan, "storage": {"endpoint": "x", "access_key": "a", "secret_key": "s"}})
    assert plan.lora.target_modules == ("q_proj", "v_proj") and plan.data.template is not None
    assert "storage" not in run.plan  # no credentials in the database
    assert len(run.config_hash) == 64


@pytest.mark.parametrize(("spec", "error", "field"), [
    (replace(SPEC, base_model="models:/nope/1"), FailedPrecondition, "base_model"),
    (replace(SPEC, dataset_version="nope@v1"), FailedPrecondition, "dataset_version"),
    (replace(SPEC, prompt_version="nope@latest"), FailedPrecondition, "prompt_version"),
    (replace(SPEC, prompt_version="bad@latest"), FailedPrecondition, "prompt_version"),
    (replace(SPEC, hyperparameters=Hyperparameters(learning_rate=0.0)), InvalidArgument,
     "hyperparameters.learning_rate"),
    (replace(SPEC, lora=LoraSpec(r=0)), InvalidArgument, "lora.r"),
    (replace(SPEC, lora=LoraSpec(target_modules=("query_key_value",))), InvalidArgument, "lora.target_modules[0]"),
    (replace(SPEC, hyperparameters=Hyperparameters(max_seq_length=100_000)), InvalidArgument,
     "hyperparameters.max_seq_length"),
    (replace(SPEC, dataset_version="corpus@v1"), InvalidArgument, "prompt_version"),
])
async def test_bad_submissions_fail_before_anything_is_stored_or_launched(state, refs, settings, launcher, spec, error,
                                                                         field):
    with pytest.raises(error) as err:
        await submit(state, refs, settings, spec)
    assert err.value.field == field
    await tracker(state, launcher, refs, settings).track_once()
    assert state.runs == {} and launcher.calls == [] and state.outbox == []


async def test_a_repeated_request_id_returns_the_first_run(state, refs, settings):
    first = await submit(state, refs, settings, request_id="req-1")
    again = await submit(state, refs, settings, request_id="req-1")
    assert again.run_id == first.run_id and len(state.runs) == 1


async def test_a_run_goes_pending_queued_running_succeeded_and_registers_once(state, refs, settings, launcher):
    run = await submit(state, refs, settings)
    track = tracker(state, launcher, refs, settings)
    await track.track_once()
    assert state.runs[run.run_id].status is RunStatus.QUEUED and run.run_id in launcher.submitted
    launcher.script[run.run_id] = [event(1, "started", data={"workers": 1, "total_steps": 10})]
    await track.track_once()
    assert state.runs[run.run_id].status is RunStatus.RUNNING
    succeeded = event(3, "succeeded", uri="s3://llmops-models/training/x", metrics={"loss": 0.5})
    launcher.script[run.run_id] += [event(2, "progress", step=10, metrics={"loss": 0.5}), succeeded]
    await track.track_once()
    done = state.runs[run.run_id]
    assert done.status is RunStatus.SUCCEEDED and done.model_version == "models:/tiny-lora/1"
    # the same `succeeded` applied again (a redelivery) changes nothing and registers nothing more
    await handlers.record_job_events(state.unit_of_work, run.run_id, [succeeded])
    await handlers.complete_run(state.unit_of_work, refs, run.run_id)
    assert len(refs.registered) == 1
    registration = refs.registered[run.run_id][1]
    assert (registration.kind, registration.base_model_version, registration.prompt_version) == \
        ("adapter", "models:/tiny/1", "qa/2")
    assert registration.tags["seed"] == "0" and registration.config_hash == done.config_hash
    assert registration.code_version == settings.code_version  # the spec named none: the service's own
    completed = [e for e in state.outbox if e.type == "llmops.training.run.completed"]
    assert len(completed) == 1 and completed[0].payload.model_version == "models:/tiny-lora/1"
    assert completed[0].correlation_id == "corr-1"
    assert [e.type.rsplit(".", 1)[1] for e in state.outbox] == ["started", "progress", "completed"]


async def test_a_registry_that_is_away_delays_success_without_losing_it(state, refs, settings, launcher):
    run = await submit(state, refs, settings, replace(SPEC, method=Method.FULL))
    track = tracker(state, launcher, refs, settings)
    launcher.script[run.run_id] = [event(1, "succeeded", uri="s3://llmops-models/training/x")]
    refs.registry_up = False
    await track.track_once()
    await track.track_once()
    assert state.runs[run.run_id].status is RunStatus.RUNNING and state.runs[run.run_id].output_ready
    refs.registry_up = True
    await track.track_once()
    assert state.runs[run.run_id].status is RunStatus.SUCCEEDED
    assert refs.registered[run.run_id][1].kind == "base"


async def test_nan_loss_failure_fails_the_run_with_the_step(state, refs, settings, launcher):
    run = await submit(state, refs, settings)
    track = tracker(state, launcher, refs, settings)
    await track.track_once()
    launcher.script[run.run_id] = [event(1, "progress", step=6, metrics={"loss": 1e9}),
                                   event(2, "failed", step=7, message="loss is not finite (nan)")]
    await track.track_once()
    failed = state.runs[run.run_id]
    assert failed.status is RunStatus.FAILED and failed.error.step == 7 and "nan" in failed.error.message
    events = [e for e in state.outbox if e.type == "llmops.training.run.failed"]
    assert len(events) == 1 and events[0].payload.step == 7


async def test_cancel_stops_the_job_and_ends_cancelled(state, refs, settings, launcher):
    run = await submit(state, refs, settings)
    track = tracker(state, launcher, refs, settings)
    await track.track_once()
    cancelling = await handlers.cancel_run(state.unit_of_work, launcher, run.run_id, actor=ANN, reason="enough")
    assert cancelling.status is RunStatus.CANCELLING and launcher.cancelled == [run.run_id]
    await track.track_once()
    assert state.runs[run.run_id].status is RunStatus.CANCELLED
    pending = await submit(state, refs, settings, request_id="other")
    cancelled = await handlers.cancel_run(state.unit_of_work, launcher, pending.run_id, actor=ANN)
    assert cancelled.status is RunStatus.CANCELLED and launcher.cancelled == [run.run_id]  # never reached Ray


async def test_an_unreachable_cluster_keeps_the_run_queued_then_fails_it(state, refs, settings, launcher):
    launcher.is_reachable = False
    run = await submit(state, refs, settings)
    track = tracker(state, launcher, refs, settings)
    await track.track_once()
    assert state.runs[run.run_id].status is RunStatus.QUEUED and not state.runs[run.run_id].submitted
    await asyncio.sleep(settings.queue_timeout_seconds)
    await track.track_once()
    failed = state.runs[run.run_id]
    assert failed.status is RunStatus.FAILED and "could not be reached" in failed.error.message


async def test_a_lost_job_fails_its_run_with_the_reason(state, refs, settings, launcher):
    run = await submit(state, refs, settings)
    track = tracker(state, launcher, refs, settings)
    await track.track_once()
    launcher.lost.add(run.run_id)
    await track.track_once()
    assert "driver actor is gone" in state.runs[run.run_id].error.message


async def test_a_restarted_tracker_reattaches_from_the_stored_cursor(state, refs, settings, launcher):
    run = await submit(state, refs, settings)
    await tracker(state, launcher, refs, settings).track_once()
    launcher.script[run.run_id] = [event(1, "progress", step=1), event(2, "progress", step=2)]
    await tracker(state, launcher, refs, settings).track_once()
    launcher.script[run.run_id].append(event(3, "progress", step=3))
    await tracker(state, launcher, refs, settings).track_once()  # a new process: same store, same launcher
    steps = [p.step for p in state.points[run.run_id] if p.kind == "progress"]
    assert steps == [1, 2, 3] and launcher.calls == ["submit"]


async def test_stream_progress_replays_then_follows_to_the_end(state, refs, settings, launcher):
    run = await submit(state, refs, settings)
    track = tracker(state, launcher, refs, settings)
    await track.track_once()
    launcher.script[run.run_id] = [event(1, "progress", step=1, metrics={"loss": 3.0})]
    await track.track_once()

    async def follow() -> list:
        return [p async for p in handlers.stream_progress(state.unit_of_work, run.run_id, from_start=True,
                                                          hub=track.hub, poll_seconds=0.01)]
    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    assert not follower.done()
    launcher.script[run.run_id] += [event(2, "progress", step=2, metrics={"loss": 2.0}),
                                    event(3, "succeeded", uri="s3://llmops-models/training/x")]
    await track.track_once()
    points = await asyncio.wait_for(follower, 5)
    assert [p.kind for p in points] == ["status", "status", "progress", "progress", "succeeded", "status"]
    assert points[-1].status is RunStatus.SUCCEEDED and [p.seq for p in points] == list(range(1, 7))


async def test_list_runs_filters_and_pages(state, refs, settings):
    first = await submit(state, refs, settings, request_id="a")
    second = await submit(state, refs, settings, request_id="b")
    rows, last = await handlers.list_runs(state.unit_of_work, RunQuery(), Page(1, None))
    assert [r.run_id for r in rows] == [second.run_id] and last is not None
    rows, _ = await handlers.list_runs(state.unit_of_work, RunQuery(), Page(10, last))
    assert [r.run_id for r in rows] == [first.run_id]
    rows, _ = await handlers.list_runs(state.unit_of_work, RunQuery(base_model="models:/tiny/1"), Page(10, None))
    assert len(rows) == 2
    rows, _ = await handlers.list_runs(state.unit_of_work, RunQuery(statuses=(RunStatus.RUNNING,)), Page(10, None))
    assert rows == []


async def test_a_requested_event_submits_once_and_a_bad_one_is_answered_with_failed(state, refs, settings):
    envelope = Envelope.wrap(TrainingRunRequested(base_model_uri="models:/tiny/1", dataset_version="qa@v1",
                                                  prompt_version="qa@latest", spec={"method": "TRAINING_METHOD_FULL"}),
                             producer="test")
    cmd = command_from_event(envelope)
    for _ in range(2):
        await handlers.submit_run(state.unit_of_work, refs, settings, cmd, actor=ANN)
    assert len(state.runs) == 1 and next(iter(state.runs.values())).spec.method is Method.FULL
    bad = Envelope.wrap(TrainingRunRequested(base_model_uri="models:/nope/1", dataset_version="qa@v1"),
                        producer="test")
    with pytest.raises(FailedPrecondition) as err:
        await handlers.submit_run(state.unit_of_work, refs, settings, command_from_event(bad), actor=ANN)
    assert await handlers.reject_request(state.unit_of_work, bad, err.value)
    assert not await handlers.reject_request(state.unit_of_work, bad, err.value)
    failed = [e for e in state.outbox if e.type == "llmops.training.run.failed"]
    assert len(failed) == 1 and "base_model" in failed[0].payload.reason and failed[0].causation_id == str(bad.event_id)
    malformed = Envelope.wrap(TrainingRunRequested(base_model_uri="models:/tiny/1", dataset_version="qa@v1",
                                                   spec={"hyperparameters": {"surprise": 1}}), producer="test")
    with pytest.raises(InvalidArgument, match="not a TrainingSpec") as err:
        command_from_event(malformed)
    assert err.value.field == "spec"


async def test_a_sweep_records_trials_with_cost_and_names_best_and_cheapest(state, refs, settings, launcher):
    spec = SweepSpec(SPEC, (Dimension("lora.r", (4, 8)),), max_trials=2, quality_margin=0.1)
    sweep = await handlers.submit_sweep(state.unit_of_work, refs, settings, handlers.SubmitSweep(spec, "s"),
                                        actor=ANN)
    track = tracker(state, launcher, refs, settings)
    await track.track_once()
    assert sweep.sweep_id in launcher.submitted
    gpu_hour_free = {"compute_seconds": 3600.0, "tokens": 100.0, "peak_memory_bytes": 1e6}
    launcher.script[sweep.sweep_id] = [
        event(1, "trial", data={"trial": 0, "status": "succeeded", "parameters": {"lora.r": 4}, "steps": 10},
              metrics={"objective": 1.05, **gpu_hour_free}),
        event(2, "trial", data={"trial": 1, "status": "succeeded", "parameters": {"lora.r": 8}, "steps": 10},
              metrics={"objective": 1.00, **gpu_hour_free, "compute_seconds": 7200.0}),
        event(3, "succeeded")]
    await track.track_once()
    done = await handlers.get_sweep(state.unit_of_work, sweep.sweep_id)
    assert done.status is RunStatus.SUCCEEDED
    costs = {t.index: t.estimated_cost for t in done.trials}
    assert costs == {0: pytest.approx(settings.price_per_cpu_hour), 1: pytest.approx(2 * settings.price_per_cpu_hour)}
    assert done.best_run_id == done.trials[1].run_id and done.cheapest_run_id == done.trials[0].run_id
    trial_run = await handlers.get_run(state.unit_of_work, done.trials[0].run_id)
    assert trial_run.sweep_id == sweep.sweep_id and trial_run.spec.lora.r == 4 and trial_run.status.terminal


async def test_unknown_ids_are_not_found(state):
    from llmops_common.errors import NotFound

    for bad in ("", "x" * 300, str(uuid.uuid4())):
        with pytest.raises(NotFound):
            await handlers.get_run(state.unit_of_work, bad)


async def test_cpu_precision_and_workers_bounds_reach_the_caller(state, refs, settings):
    with pytest.raises(InvalidArgument) as err:
        await submit(state, refs, settings, replace(SPEC, distributed=Distributed(precision="bf16")))
    assert err.value.field == "distributed.precision"


async def test_progress_events_are_rate_limited_while_every_point_is_stored(state, refs, settings, launcher):
    run = await submit(state, refs, settings)
    track = tracker(state, launcher, refs, settings)  # at most one progress event per 60 s
    await track.track_once()
    launcher.script[run.run_id] = []
    for step in range(1, 6):
        launcher.script[run.run_id].append(event(step, "progress", step=step, metrics={"loss": 5.0 - step}))
        await track.track_once()
    assert [p.step for p in state.points[run.run_id] if p.kind == "progress"] == [1, 2, 3, 4, 5]
    assert len([e for e in state.outbox if e.type == "llmops.training.run.progress"]) == 1


async def test_stream_without_from_start_follows_only_new_points(state, refs, settings, launcher):
    run = await submit(state, refs, settings)
    track = tracker(state, launcher, refs, settings)
    await track.track_once()
    launcher.script[run.run_id] = [event(1, "progress", step=1)]
    await track.track_once()

    async def follow() -> list:
        return [p async for p in handlers.stream_progress(state.unit_of_work, run.run_id, from_start=False,
                                                          hub=track.hub, poll_seconds=0.01)]
    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    launcher.script[run.run_id].append(event(2, "failed", step=2, message="boom"))
    await track.track_once()
    points = await asyncio.wait_for(follower, 5)
    assert [p.kind for p in points] == ["failed"]
