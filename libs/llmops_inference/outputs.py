"""What the engine hands back, step by step, for one request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FinishReason = Literal["stop", "length", "abort"]


@dataclass(frozen=True)
class TopLogprob:
    token: str
    token_id: int
    logprob: float


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability under the model (raw logits, before temperature,
    top-k and top-p) and, when asked, the most likely alternatives at that step."""

    token: str
    token_id: int
    logprob: float
    top: tuple[TopLogprob, ...] = ()


@dataclass(frozen=True)
class Delta:
    """New output since the previous delta. The last one has ``finish_reason`` set; the text of all
    deltas joined is the completion, with a matched stop sequence cut off."""

    text: str
    token_ids: tuple[int, ...]
    logprobs: tuple[TokenLogprob, ...]  # empty unless the request asked for logprobs
    finish_reason: FinishReason | None
    prompt_tokens: int
    completion_tokens: int  # so far

    def then(self, later: Delta) -> Delta:
        """This delta and the one after it, as one."""
        return Delta(self.text + later.text, self.token_ids + later.token_ids, self.logprobs + later.logprobs,
                     later.finish_reason, later.prompt_tokens, later.completion_tokens)
