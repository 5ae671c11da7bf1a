"""The stores' JSON forms: any spec survives JSON exactly (tuples stay tuples, the judge stays absent or
present), non-finite metrics survive jsonb (which has no NaN), and ids are read in canonical form."""

from __future__ import annotations

import json
import math
import uuid

from hypothesis import given
from hypothesis import strategies as st

from llmops_common.validation import canonical_id
from llmops_evaluation.domain.run import Progress, RunError
from llmops_evaluation.domain.spec import Baseline, EvaluationSpec, GenerationParams, JudgeSpec
from llmops_evaluation.store.codec import (
    error_from_dict,
    error_to_dict,
    metrics_from_dict,
    metrics_to_dict,
    progress_from_dict,
    progress_to_dict,
    spec_from_dict,
    spec_to_dict,
)

text = st.text(max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
count = st.integers(0, 2**63 - 1)
specs = st.builds(
    EvaluationSpec, text, text, split=text, prompt_version=text, metrics=st.tuples(text, text) | st.just(()),
    max_samples=count,
    sampling=st.builds(GenerationParams, count, finite, finite, count, count, st.lists(text, max_size=4).map(tuple)),
    training_run_id=text, baselines=st.lists(st.builds(Baseline, text, text), max_size=3).map(tuple),
    judge=st.none() | st.builds(JudgeSpec, text, text, finite, finite), confidence=finite, bootstrap_samples=count)


def through_json(value):
    return json.loads(json.dumps(value, allow_nan=False))


@given(specs)
def test_any_spec_round_trips_through_json_exactly(spec):
    got = spec_from_dict(through_json(spec_to_dict(spec)))
    assert got == spec
    assert isinstance(got.metrics, tuple) and isinstance(got.sampling.stop, tuple)
    assert isinstance(got.baselines, tuple)


@given(st.dictionaries(text, st.floats()))
def test_metrics_round_trip_through_json_with_non_finite_values(metrics):
    got = metrics_from_dict(through_json(metrics_to_dict(metrics)))
    assert got.keys() == metrics.keys()
    for name, value in metrics.items():
        assert (math.isnan(got[name]) and math.isnan(value)) or got[name] == value


def test_progress_and_error_round_trip():
    assert progress_from_dict(through_json(progress_to_dict(Progress("scoring", 3, 9)))) == Progress("scoring", 3, 9)
    error = RunError("invalid_argument", "bad", "spec.metrics[0].name")
    assert error_from_dict(through_json(error_to_dict(error))) == error
    assert error_from_dict(error_to_dict(None)) is None


def test_ids_are_read_in_canonical_form_and_anything_else_is_none():
    run_id = uuid.uuid4()
    assert canonical_id(str(run_id).upper()) == canonical_id(run_id.hex) == str(run_id)
    assert [canonical_id(v) for v in ("", "not-a-uuid", str(run_id) + "0", "\x00")] == [None] * 4
