"""The next token of every row of a batch, each row under its own sampling parameters.

Greedy rows are one vectorised argmax. A sampled row draws from its own ``torch.Generator`` (seeded
from the request's seed when given), so a seeded request gives the same tokens alone or in any batch.
Log-probabilities are of the model's raw distribution (before temperature, top-k and top-p), as
OpenAI and vLLM report them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from llmops_inference.params import SamplingParams


@dataclass(frozen=True)
class Choice:
    token_id: int
    logprob: float | None  # set when the row asked for logprobs
    top: tuple[tuple[int, float], ...] = ()


def _filtered(logits: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """One row's logits after temperature, top-k and top-p (what is cut is -inf)."""
    scores = logits / params.temperature
    if 0 < params.top_k < scores.numel():
        kth = torch.topk(scores, params.top_k).values[-1]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if params.top_p < 1.0:
        ordered, order = torch.sort(scores, descending=True)
        probs = torch.softmax(ordered, dim=-1)
        cut = (torch.cumsum(probs, dim=-1) - probs) > params.top_p  # keep the smallest set reaching top_p
        scores = scores.scatter(0, order, ordered.masked_fill(cut, float("-inf")))
    return scores


def choose(logits: torch.Tensor, params: Sequence[SamplingParams], generators: Sequence[torch.Generator | None],
           banned: Sequence[Sequence[int]]) -> list[Choice]:
    """``logits`` [rows, vocab]; ``banned[i]`` token ids row i may not take now (EOS before
    ``min_tokens``)."""
    logits = logits.float()
    wanted = [row for row, p in enumerate(params) if p.logprobs is not None]
    logprobs = torch.log_softmax(logits[wanted], dim=-1) if wanted else None
    for row, ids in enumerate(banned):
        if ids:
            logits[row, list(ids)] = float("-inf")
    tokens = torch.argmax(logits, dim=-1).tolist()
    for row, p in enumerate(params):
        if not p.greedy:
            probs = torch.softmax(_filtered(logits[row], p), dim=-1)
            tokens[row] = int(torch.multinomial(probs, 1, generator=generators[row]).item())
    choices = [Choice(t, None) for t in tokens]
    for i, row in enumerate(wanted):
        assert logprobs is not None
        k = params[row].logprobs or 0
        top = torch.topk(logprobs[i], k) if k else None
        alternatives = tuple(zip(top.indices.tolist(), top.values.tolist(), strict=True)) if top is not None else ()
        choices[row] = Choice(tokens[row], float(logprobs[i, tokens[row]]), alternatives)
    return choices
