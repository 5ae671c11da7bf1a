"""Per-API-key request rate limits: one token bucket per key.

A bucket holds at most ``burst`` tokens and refills at ``per_minute / 60`` tokens a second; a request
takes one token or is refused with the time until one is there. Written here rather than taken from a
library because the ones that exist (``limits``, ``aiolimiter``) either wait instead of refusing or
bring storage backends, and neither lets a test drive the clock. Memory stays bounded: a bucket that
has refilled is the same as no bucket, so those are dropped first when there are too many keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from llmops_common.errors import InvalidArgument, ResourceExhausted

#: how many keys keep a bucket before refilled ones are dropped
MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float  # the clock when ``tokens`` was last brought up to date


class RateLimiter:
    """``admit(key)`` takes a token from ``key``'s bucket, or raises ``ResourceExhausted`` whose
    ``retry_after`` is the seconds until the next token."""

    def __init__(self, *, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        if per_minute <= 0 or burst < 1 or max_keys < 1:
            raise InvalidArgument("a rate limit needs per_minute > 0, burst >= 1 and max_keys >= 1")
        self.rate = per_minute / 60.0  # tokens a second
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def admit(self, key: str) -> None:
        now = self.clock()
        bucket = self._buckets.pop(key, None)  # re-inserted below: the dict stays in least-recent order
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + max(0.0, now - bucket.at) * self.rate)
            bucket.at = now
        admitted = bucket.tokens >= 1.0
        if admitted:
            bucket.tokens -= 1.0
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._evict(now)
        if not admitted:
            raise ResourceExhausted(f"rate limit of {self.rate * 60:g} requests a minute (burst {self.burst}) reached",
                                    retry_after=(1.0 - bucket.tokens) / self.rate)

    def _evict(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > self.max_keys:  # all still refilling: forget the least recently seen
            del self._buckets[next(iter(self._buckets))]
