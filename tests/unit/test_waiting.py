"""The test library's wait_for: returns what the condition found, retries only what it is told to, and
fails loudly (what was awaited, what was last seen) instead of falling through."""

from __future__ import annotations

import itertools

import pytest

from llmops_common.testing.waiting import wait_for, wait_for_sync


def counting_up(ready_at: int):
    calls = itertools.count(1)
    return lambda: (n := next(calls)) >= ready_at and f"ready after {n}"


async def test_returns_the_first_truthy_value_of_a_sync_or_async_condition():
    assert await wait_for(counting_up(3), what="three calls", interval=0) == "ready after 3"
    check = counting_up(2)

    async def condition():
        return check()

    assert await wait_for(condition, what="two calls", interval=0) == "ready after 2"


async def test_times_out_with_an_assertion_naming_what_and_the_last_value():
    jobs = {"j1": "RUNNING"}
    with pytest.raises(AssertionError, match=r"timed out after 0.05s waiting for j1 to finish; last saw \[\]"):
        await wait_for(lambda: [j for j, status in jobs.items() if status == "DONE"], 0.05, what="j1 to finish",
                       interval=0.01)


async def test_retries_listed_exceptions_and_chains_the_last_one_on_timeout():
    attempts = itertools.count(1)

    def flaky():
        if next(attempts) < 3:
            raise ConnectionError("not yet")
        return "up"

    assert await wait_for(flaky, what="the service", interval=0, retry_on=(ConnectionError,)) == "up"

    def down():
        raise ConnectionError("refused")

    with pytest.raises(AssertionError, match="waiting for the service; last saw ConnectionError") as err:
        await wait_for(down, 0.05, what="the service", interval=0.01, retry_on=(ConnectionError,))
    assert isinstance(err.value.__cause__, ConnectionError)


async def test_an_exception_not_listed_propagates_at_once():
    calls = []

    def broken():
        calls.append(1)
        raise KeyError("bug in the test")

    with pytest.raises(KeyError):
        await wait_for(broken, 10, what="anything", retry_on=(ConnectionError,))
    assert calls == [1]


def test_the_sync_variant_has_the_same_contract():
    assert wait_for_sync(counting_up(4), what="four calls", interval=0) == "ready after 4"
    with pytest.raises(AssertionError, match=r"timed out after 0.05s waiting for nothing; last saw 0"):
        wait_for_sync(lambda: 0, 0.05, what="nothing", interval=0.01)
