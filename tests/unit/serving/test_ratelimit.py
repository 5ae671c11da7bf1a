"""The per-key token bucket, on a clock the tests move."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops_common.errors import InvalidArgument, ResourceExhausted
from llmops_common.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(per_minute: float = 60, burst: int = 3, **kwargs) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(per_minute=per_minute, burst=burst, clock=clock, **kwargs), clock


def test_a_burst_is_admitted_then_refused() -> None:
    limits, _ = limiter(burst=3)
    for _ in range(3):
        limits.admit("k")
    with pytest.raises(ResourceExhausted):
        limits.admit("k")


def test_retry_after_is_the_time_until_the_next_token() -> None:
    limits, clock = limiter(per_minute=30, burst=1)  # one token every 2 s
    limits.admit("k")
    with pytest.raises(ResourceExhausted) as first:
        limits.admit("k")
    assert first.value.retry_after == pytest.approx(2.0)
    clock.now += 1.5
    with pytest.raises(ResourceExhausted) as later:
        limits.admit("k")
    assert later.value.retry_after == pytest.approx(0.5)


def test_tokens_refill_over_time_up_to_the_burst() -> None:
    limits, clock = limiter(per_minute=60, burst=2)
    limits.admit("k")
    limits.admit("k")
    clock.now += 1.0  # one token back
    limits.admit("k")
    with pytest.raises(ResourceExhausted):
        limits.admit("k")
    clock.now += 3600  # an hour idle refills to the burst, no further
    limits.admit("k")
    limits.admit("k")
    with pytest.raises(ResourceExhausted):
        limits.admit("k")


def test_refused_requests_take_no_token() -> None:
    limits, clock = limiter(per_minute=60, burst=1)
    limits.admit("k")
    for _ in range(5):
        with pytest.raises(ResourceExhausted):
            limits.admit("k")
    clock.now += 1.0
    limits.admit("k")


def test_keys_are_independent() -> None:
    limits, _ = limiter(burst=1)
    limits.admit("a")
    with pytest.raises(ResourceExhausted):
        limits.admit("a")
    limits.admit("b")


def test_a_clock_going_backwards_adds_no_tokens() -> None:
    limits, clock = limiter(per_minute=60, burst=1)
    limits.admit("k")
    clock.now -= 100
    with pytest.raises(ResourceExhausted):
        limits.admit("k")


def test_refilled_buckets_are_dropped_first_when_keys_overflow() -> None:
    limits, clock = limiter(per_minute=60, burst=1, max_keys=2)
    limits.admit("old")
    clock.now += 10  # "old" has refilled: dropping it loses nothing
    limits.admit("busy")
    limits.admit("new")
    with pytest.raises(ResourceExhausted):  # "busy" kept its (empty) bucket
        limits.admit("busy")
    assert len(limits._buckets) <= 2


def test_memory_stays_bounded_when_every_bucket_is_refilling() -> None:
    limits, _ = limiter(per_minute=1, burst=1, max_keys=10)
    for i in range(100):
        limits.admit(f"k{i}")
    assert len(limits._buckets) == 10
    with pytest.raises(ResourceExhausted):  # the most recent keys are remembered
        limits.admit("k99")


@pytest.mark.parametrize("kwargs", [{"per_minute": 0}, {"burst": 0}, {"max_keys": 0}])
def test_a_limit_that_admits_nothing_is_refused(kwargs: dict) -> None:
    with pytest.raises(InvalidArgument):
        RateLimiter(**{"per_minute": 60, "burst": 1} | kwargs)


@given(per_minute=st.integers(1, 10_000), burst=st.integers(1, 100),
       gaps=st.lists(st.floats(0, 120, allow_nan=False), max_size=60))
def test_admitted_requests_never_exceed_burst_plus_refill(per_minute: int, burst: int, gaps: list[float]) -> None:
    limits, clock = limiter(per_minute=per_minute, burst=burst)
    start, admitted = clock.now, 0
    for gap in gaps:
        clock.now += gap
        try:
            limits.admit("k")
            admitted += 1
        except ResourceExhausted as exc:
            assert exc.retry_after > 0
    assert admitted <= burst + (clock.now - start) * per_minute / 60 + 1e-6
