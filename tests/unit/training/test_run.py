"""Runs: the status machine and how a job's events move a run (each applied once)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops_common.errors import FailedPrecondition
from llmops_training.domain.run import TRANSITIONS, Run, RunStatus, apply_events
from llmops_training.domain.spec import RunSpec

from .conftest import event

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def queued() -> Run:
    run = Run("r1", "n", RunSpec("models:/tiny/1", "qa@v1"), "ann")
    run.move(RunStatus.QUEUED, NOW)
    run.submitted = True
    return run


def test_terminal_states_have_no_way_out_and_illegal_moves_are_refused():
    for status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
        assert TRANSITIONS[status] == frozenset()
    run = queued()
    with pytest.raises(FailedPrecondition):
        run.move(RunStatus.SUCCEEDED, NOW)  # a job must run (and be registered) first


def test_a_job_log_takes_the_run_to_its_output_and_records_points():
    run = queued()
    applied = apply_events(run, [
        event(1, "started", data={"workers": 2, "total_steps": 10}),
        event(2, "progress", step=5, metrics={"loss": 2.0, "learning_rate": 1e-4}, data={"total_steps": 10}),
        event(3, "checkpoint", step=5, uri="s3://llmops-artifacts/c/5"),
        event(4, "succeeded", uri="s3://llmops-models/training/r1", metrics={"loss": 1.5}),
    ])
    assert run.status is RunStatus.RUNNING and run.output_ready and run.job_cursor == 4
    assert run.progress.step == 5 and run.progress.total_steps == 10
    assert [c.step for c in applied.checkpoints] == [5] and applied.started
    assert [p.kind for p in applied.points] == ["started", "progress", "checkpoint", "succeeded"]


def test_events_are_applied_once_whatever_is_redelivered():
    run = queued()
    log = [event(1, "progress", step=1, metrics={"loss": 3.0}), event(2, "progress", step=2, metrics={"loss": 2.0})]
    first = apply_events(run, log)
    again = apply_events(run, log + [event(3, "progress", step=3, metrics={"loss": 1.0})])
    assert len(first.points) == 2 and [p.step for p in again.points] == [3]


def test_nan_loss_failure_fails_the_run_with_the_step():
    run = queued()
    apply_events(run, [event(1, "progress", step=2, metrics={"loss": 2.0}),
                       event(2, "failed", step=3, message="loss is nan")])
    assert run.status is RunStatus.FAILED
    assert run.error.step == 3 and "loss is nan" in run.error.message and "step 3" in run.error.message


def test_a_resume_rewinds_the_loss_curve_to_the_checkpoint():
    run = queued()
    applied = apply_events(run, [event(1, "progress", step=4), event(2, "progress", step=5),
                                 event(3, "resumed", step=4), event(4, "progress", step=5)])
    assert applied.rewind_to == 4
    assert [p.step for p in applied.points if p.kind == "progress"] == [4, 5]


def test_events_after_the_end_only_move_the_cursor():
    run = queued()
    apply_events(run, [event(1, "cancelled")])
    assert run.status is RunStatus.CANCELLED
    applied = apply_events(run, [event(2, "succeeded", uri="s3://x/y")])
    assert run.status is RunStatus.CANCELLED and not run.output_ready and applied.points == [] and run.job_cursor == 2


@given(st.lists(st.sampled_from(["started", "progress", "checkpoint", "resumed", "succeeded", "failed",
                                 "cancelled"]), max_size=12))
def test_any_event_sequence_keeps_the_run_in_a_legal_state(kinds):
    run = queued()
    apply_events(run, [event(i + 1, k, step=i, uri="s3://llmops-models/x") for i, k in enumerate(kinds)])
    assert run.job_cursor == len(kinds)
    assert run.status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED)
    assert (run.finished_at is not None) == run.status.terminal


def test_a_progress_event_carries_the_steps_since_the_last_one_and_malformed_ones_are_left_out():
    run = queued()
    earlier = [{"step": 1, "loss": 3.0, "learning_rate": 1e-4}, {"step": 2, "loss": float("nan")},
               "not a point", {"step": True, "loss": 1.0}, {"step": 9, "loss": 1.0},  # beyond the event's own step
               {"step": 3, "loss": 2.5, "val_loss": 2.7, "surprise": 1.0}, {"step": 2, "loss": 2.9}]  # out of order
    applied = apply_events(run, [event(1, "started", data={"workers": 1, "total_steps": 10}),
                                 event(2, "progress", step=4, metrics={"loss": 2.0},
                                       data={"total_steps": 10, "points": earlier})])
    curve = [(p.step, p.metrics) for p in applied.points if p.kind == "progress"]
    assert curve == [(1, {"loss": 3.0, "learning_rate": 1e-4}), (3, {"loss": 2.5, "val_loss": 2.7}),
                     (4, {"loss": 2.0})]
