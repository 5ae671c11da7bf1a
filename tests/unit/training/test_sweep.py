"""Sweeps: their bounds, what each trial cost, the best trial and the cheapest within the margin."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops_common.errors import InvalidArgument
from llmops_training.domain.run import RunStatus
from llmops_training.domain.spec import RunSpec
from llmops_training.domain.sweep import (
    Dimension,
    Prices,
    SweepSpec,
    Trial,
    best_trial,
    cheapest_within,
    sweep_spec_from_dict,
    sweep_spec_to_dict,
    update_trial,
)

BASE = RunSpec("models:/tiny/1", "qa@v1", "qa@latest")


def test_cost_is_compute_hours_times_the_price_of_what_was_held():
    prices = Prices(cpu_hour=0.10, gpu_hour=4.0)
    assert prices.cost(3600, gpu=False) == pytest.approx(0.10)
    assert prices.cost(1800, gpu=True) == pytest.approx(2.0)
    trial = update_trial(Trial("r", 0), {"status": "succeeded", "parameters": {"lora.r": 4}, "steps": 20},
                         {"val_loss": 1.2, "compute_seconds": 7200, "tokens": 5000, "peak_memory_bytes": 10},
                         "val_loss", prices, gpu=False)
    assert (trial.objective, trial.estimated_cost, trial.tokens, trial.steps) == (1.2, pytest.approx(0.2), 5000, 20)
    assert trial.status is RunStatus.SUCCEEDED and not trial.stopped_early


def test_best_and_cheapest_within_margin():
    trials = [Trial("a", 0, RunStatus.SUCCEEDED, objective=1.00, estimated_cost=9.0),
              Trial("b", 1, RunStatus.SUCCEEDED, objective=1.04, estimated_cost=2.0),
              Trial("c", 2, RunStatus.SUCCEEDED, objective=1.20, estimated_cost=0.5),
              Trial("d", 3, RunStatus.FAILED, objective=0.10, estimated_cost=0.1)]
    assert best_trial(trials, "min").run_id == "a"
    assert cheapest_within(trials, "min", 0.05).run_id == "b"
    assert cheapest_within(trials, "min", 0.0).run_id == "a"
    assert best_trial(trials, "max").run_id == "c"


@given(st.lists(st.tuples(st.floats(0.01, 10), st.floats(0, 100)), min_size=1, max_size=8), st.floats(0, 1))
def test_cheapest_is_never_costlier_than_best_and_within_margin(pairs, margin):
    trials = [Trial(str(i), i, RunStatus.SUCCEEDED, objective=o, estimated_cost=c) for i, (o, c) in enumerate(pairs)]
    best, cheap = best_trial(trials, "min"), cheapest_within(trials, "min", margin)
    assert cheap.estimated_cost <= best.estimated_cost
    assert cheap.objective <= best.objective * (1 + margin) + 1e-12


@pytest.mark.parametrize(("spec", "field"), [
    (SweepSpec(BASE, ()), "parameters"),
    (SweepSpec(BASE, (Dimension("distributed.workers", (1, 2)),)), "parameters[0].path"),
    (SweepSpec(BASE, (Dimension("lora.r", (4, 0)),)), "parameters[0].choices[1]"),
    (SweepSpec(BASE, (Dimension("lora.r", (4.5,)),)), "parameters[0].choices[0]"),
    (SweepSpec(BASE, (Dimension("hyperparameters.learning_rate", (), 1e-3, 1e-4),)), "parameters[0].range"),
    (SweepSpec(BASE, (Dimension("hyperparameters.learning_rate", (), 1e-5, 1e-3),), algorithm="grid"), "algorithm"),
    (SweepSpec(BASE, (Dimension("lora.r", (4,)),), max_trials=0), "max_trials"),
    (SweepSpec(BASE, (Dimension("lora.r", (4,)),), quality_margin=float("nan")), "quality_margin"),
    (SweepSpec(BASE, (Dimension("lora.r", (4,)),), early_stopping="hyperband"), "early_stopping"),
])
def test_bad_sweeps_name_the_field(spec, field):
    with pytest.raises(InvalidArgument) as err:
        spec.validate()
    assert err.value.field == field


def test_sweep_spec_round_trips_and_integer_paths_become_integers():
    spec = SweepSpec(BASE, (Dimension("lora.r", (4.0, 8.0)),
                            Dimension("hyperparameters.learning_rate", (), 1e-5, 1e-3, True))).validate()
    assert spec.dimensions[0].choices == (4, 8) and spec.dimensions[0].integer
    assert sweep_spec_from_dict(sweep_spec_to_dict(spec)) == spec
