"""The log-likelihood of a continuation given a prompt, under a base model or one of its LoRA adapters.

Perplexity on references is lm-evaluation-harness's ``loglikelihood`` request: prompt and continuation
are tokenized together and split where the prompt's own tokens end (so a token that spans the
boundary belongs to the continuation), and the continuation's tokens are scored in one forward pass
(teacher forcing). Rows are right-padded and batched, each row under its own adapter (PEFT's
mixed-adapter batches, through ``AdapterSet.forward_kwargs``); only the continuation's positions reach
``log_softmax``. transformers and PEFT have no such call; lm-evaluation-harness has it, but only behind
its own model wrappers and task machinery.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

LOGIT_BUDGET = 1 << 26  # padded tokens x vocabulary per forward pass (256 MiB of fp32 logits)


@dataclass(frozen=True)
class ScoreRequest:
    prompt_ids: tuple[int, ...]
    continuation_ids: tuple[int, ...]
    adapter: str | None = None  # None: the base model


@dataclass(frozen=True)
class ContinuationScore:
    """``nll``: the summed negative log-likelihood of the continuation's tokens, in nats."""

    nll: float
    tokens: int


def split_pair(tokenizer: Any, prompt: str, continuation: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(prompt ids, continuation ids) as the engine sees them: BOS (if the tokenizer has one), then the
    text without special tokens; the pair is tokenized as one text and split after the prompt's tokens
    (lm-evaluation-harness's rule), or, where joining changes the prompt's tokens, tokenized apart."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    context = bos + tokenizer.encode(prompt, add_special_tokens=False)
    whole = bos + tokenizer.encode(prompt + continuation, add_special_tokens=False)
    if whole[:len(context)] == context:
        return tuple(context), tuple(whole[len(context):])
    return tuple(context), tuple(tokenizer.encode(continuation, add_special_tokens=False))


def continuation_nll(model: Any, requests: Sequence[ScoreRequest], *, forward_kwargs: Callable[[list[str]], dict],
                     base_name: str, max_context: int, pad_id: int) -> list[ContinuationScore | None]:
    """One score per request, in order; None where there is nothing to score against (an empty prompt)
    or the pair does not fit the context. An empty continuation scores 0 over 0 tokens. The caller
    holds the model (no generation step may run meanwhile) and is in ``torch.inference_mode``."""
    scores: list[ContinuationScore | None] = [None] * len(requests)
    todo = []
    for index, request in enumerate(requests):
        if not request.continuation_ids and request.prompt_ids:
            scores[index] = ContinuationScore(0.0, 0)
        elif request.prompt_ids and _length(request) <= max_context:
            todo.append(index)
    # grouped by adapter (fewer mixed batches), longest first (less padding)
    todo.sort(key=lambda i: (requests[i].adapter or "", -_length(requests[i])))
    vocab = int(model.get_input_embeddings().num_embeddings)
    start = 0
    while start < len(todo):
        width = _length(requests[todo[start]])
        rows = max(1, LOGIT_BUDGET // (width * vocab))
        batch = todo[start:start + rows]
        for index, score in zip(batch, _score_batch(model, [requests[i] for i in batch], forward_kwargs,
                                                    base_name, width, pad_id), strict=True):
            scores[index] = score
        start += len(batch)
    return scores


def _length(request: ScoreRequest) -> int:
    return len(request.prompt_ids) + len(request.continuation_ids)


def _score_batch(model: Any, batch: list[ScoreRequest], forward_kwargs: Callable[[list[str]], dict],
                 base_name: str, width: int, pad_id: int) -> list[ContinuationScore]:
    device = next(model.parameters()).device
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, request in enumerate(batch):
        tokens = request.prompt_ids + request.continuation_ids
        ids[row, :len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[row, :len(tokens)] = 1
    extra = forward_kwargs([r.adapter or base_name for r in batch])
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False, **extra).logits
    out = []
    for row, request in enumerate(batch):
        first, count = len(request.prompt_ids), len(request.continuation_ids)
        # the logits at position p predict the token at p + 1
        row_logprobs = torch.log_softmax(logits[row, first - 1:first - 1 + count].float(), dim=-1)
        target = torch.tensor(request.continuation_ids, dtype=torch.long, device=row_logprobs.device)
        nll = -row_logprobs.gather(1, target[:, None]).sum()
        out.append(ContinuationScore(float(nll), count))
    return out
