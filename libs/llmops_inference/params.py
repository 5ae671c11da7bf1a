"""Sampling parameters of one request, checked before it reaches the engine.

The ranges are OpenAI's where OpenAI sets one (temperature 0-2, 4 stop sequences, 20 top logprobs);
``top_k``, ``min_tokens`` and ``ignore_eos`` are vLLM's extensions. Every error names its parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from llmops_common.errors import InvalidArgument

MAX_STOP_SEQUENCES = 4
MAX_STOP_CHARS = 256
MAX_TOP_LOGPROBS = 20
SEED_RANGE = (-(2**63), 2**63 - 1)
GREEDY_BELOW = 1e-5  # vLLM's _SAMPLING_EPS: logits divided by less overflow float32


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 16
    temperature: float = 1.0  # 0 (below GREEDY_BELOW): greedy
    top_p: float = 1.0
    top_k: int = 0  # 0: off
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: int | None = None  # None: off; k: the chosen token's logprob and the k most likely
    ignore_eos: bool = False
    min_tokens: int = 0

    @property
    def greedy(self) -> bool:
        return self.temperature < GREEDY_BELOW or self.top_k == 1

    def checked(self, *, max_tokens_limit: int) -> SamplingParams:
        """This, or InvalidArgument naming the first bad parameter."""
        _number("temperature", self.temperature, 0.0, 2.0)
        _number("top_p", self.top_p, 0.0, 1.0, low_open=True)
        _integer("top_k", self.top_k, 0, 1 << 31)
        _integer("max_tokens", self.max_tokens, 1, max_tokens_limit)
        _integer("min_tokens", self.min_tokens, 0, self.max_tokens)
        if self.seed is not None:
            _integer("seed", self.seed, *SEED_RANGE)
        if self.logprobs is not None:
            _integer("logprobs", self.logprobs, 0, MAX_TOP_LOGPROBS)
        if not isinstance(self.ignore_eos, bool):
            raise InvalidArgument("must be a boolean", field="ignore_eos")
        if not isinstance(self.stop, tuple):
            raise InvalidArgument("must be a tuple of strings", field="stop")
        if len(self.stop) > MAX_STOP_SEQUENCES:
            raise InvalidArgument(f"at most {MAX_STOP_SEQUENCES} stop sequences", field="stop")
        for i, text in enumerate(self.stop):
            if not isinstance(text, str) or not text or len(text) > MAX_STOP_CHARS or "\x00" in text:
                raise InvalidArgument(f"a stop sequence is 1-{MAX_STOP_CHARS} characters, without NUL",
                                      field=f"stop[{i}]")
        return self

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))


def _number(name: str, value: object, low: float, high: float, *, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgument(f"must be a finite number, got {str(value)[:40]!r}", field=name)
    if value < low or value > high or (low_open and value == low):
        interval = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
        raise InvalidArgument(f"must be in {interval}, got {value}", field=name)


def _integer(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"must be an integer, got {str(value)[:40]!r}", field=name)
    if value < low or value > high:
        raise InvalidArgument(f"must be between {low} and {high}, got {value}", field=name)
