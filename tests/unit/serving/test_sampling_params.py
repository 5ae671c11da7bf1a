"""``SamplingParams.checked``: every bad value is an InvalidArgument naming its field, and nothing
else ever escapes."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_common.errors import InvalidArgument
from llmops_inference.params import MAX_STOP_CHARS, MAX_STOP_SEQUENCES, MAX_TOP_LOGPROBS, SamplingParams

LIMIT = 512


def refused(**values: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        SamplingParams(**values).checked(max_tokens_limit=LIMIT)
    return caught.value


def test_defaults_and_the_edges_of_every_range_are_accepted() -> None:
    for values in ({}, {"temperature": 0, "top_p": 1e-9, "top_k": 0, "max_tokens": 1},
                   {"temperature": 2.0, "top_p": 1, "top_k": 1 << 31, "max_tokens": LIMIT, "min_tokens": LIMIT},
                   {"seed": -(2**63), "logprobs": 0}, {"seed": 2**63 - 1, "logprobs": MAX_TOP_LOGPROBS},
                   {"stop": ("x" * MAX_STOP_CHARS,) * MAX_STOP_SEQUENCES, "ignore_eos": True}):
        params = SamplingParams(**values)
        assert params.checked(max_tokens_limit=LIMIT) is params


@pytest.mark.parametrize(("field", "value"), [
    ("temperature", math.nan), ("temperature", math.inf), ("temperature", -math.inf), ("temperature", True),
    ("temperature", "1"), ("temperature", None), ("temperature", -0.01), ("temperature", 2.01),
    ("top_p", math.nan), ("top_p", 0.0), ("top_p", -1), ("top_p", 1.5), ("top_p", False),
    ("top_k", -1), ("top_k", 1.0), ("top_k", True), ("top_k", 1 << 40),
    ("max_tokens", 0), ("max_tokens", LIMIT + 1), ("max_tokens", 3.0), ("max_tokens", False), ("max_tokens", None),
    ("min_tokens", -1), ("min_tokens", 17), ("min_tokens", 1.5),
    ("seed", 2**63), ("seed", -(2**63) - 1), ("seed", 1.0), ("seed", True),
    ("logprobs", -1), ("logprobs", MAX_TOP_LOGPROBS + 1), ("logprobs", True), ("logprobs", 2.0),
    ("ignore_eos", 1), ("ignore_eos", "yes"),
    ("stop", ("a",) * (MAX_STOP_SEQUENCES + 1)), ("stop", "abc"), ("stop", None), ("stop", ["a"]),
])
def test_a_bad_value_names_its_field(field: str, value: Any) -> None:
    error = refused(**{"max_tokens": 16, field: value})
    assert error.field == field


@pytest.mark.parametrize(("stop", "index"), [
    (("",), 0), (("ok", "a\x00b"), 1), (("ok", "x" * (MAX_STOP_CHARS + 1)), 1), ((3,), 0), (("ok", None), 1),
])
def test_a_bad_stop_sequence_names_its_index(stop: tuple[Any, ...], index: int) -> None:
    assert refused(stop=stop).field == f"stop[{index}]"


def test_a_long_bad_value_is_quoted_short() -> None:
    error = refused(temperature="t" * 10_000)
    assert error.field == "temperature" and len(str(error)) < 200


def test_greedy_is_temperature_zero_or_top_k_one() -> None:
    assert SamplingParams(temperature=0.0).greedy and SamplingParams(top_k=1).greedy
    assert not SamplingParams(temperature=0.5, top_k=2).greedy
    assert SamplingParams.names() >= {"temperature", "top_p", "top_k", "seed", "stop", "max_tokens", "logprobs"}


ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                     st.binary(max_size=8), st.lists(st.integers(), max_size=3))
STOPS = st.one_of(ANYTHING, st.lists(st.one_of(st.text(max_size=300), st.integers(), st.none()), max_size=6)
                  .map(tuple))


@settings(max_examples=400, deadline=None)
@given(values=st.fixed_dictionaries({}, optional={name: ANYTHING for name in SamplingParams.names() - {"stop"}}),
       stop=STOPS, limit=st.integers(1, 1 << 20))
def test_any_values_give_invalid_argument_or_parameters(values: dict[str, Any], stop: tuple[Any, ...],
                                                        limit: int) -> None:
    params = SamplingParams(**values, stop=stop)
    try:
        checked = params.checked(max_tokens_limit=limit)
    except InvalidArgument as exc:
        assert exc.field is not None
        assert exc.field in SamplingParams.names() or exc.field.startswith("stop[")
        return
    assert checked is params
    assert 1 <= checked.max_tokens <= limit and 0 <= checked.min_tokens <= checked.max_tokens
    assert 0.0 <= checked.temperature <= 2.0 and 0.0 < checked.top_p <= 1.0 and checked.top_k >= 0
    assert all(isinstance(s, str) and 0 < len(s) <= MAX_STOP_CHARS and "\x00" not in s for s in checked.stop)
