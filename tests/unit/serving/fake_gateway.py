"""A fake ``Gateway`` for the REST API's unit tests: it echoes the words of the prompt (chat: of the
last message) one delta per word, checks sampling parameters as the real gateway does
(``SamplingParams.checked``), and records every call and every ``aclose``.

Some model names act out failures: ``busy`` (queue full), ``loading`` (unavailable), ``crash`` (a bug),
``flaky`` (fails after its first delta), ``stalls`` (one delta, then waits until closed)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from llmops_common.errors import NotFound, ResourceExhausted, Unavailable
from llmops_common.validation import quote
from llmops_inference.outputs import Delta, TokenLogprob, TopLogprob
from llmops_inference.params import SamplingParams
from llmops_serving.gateway import ContextTooLong, Gateway, Generation, InferenceCall, ModelCard

CARDS = [
    ModelCard("tiny", 1_700_000_000, "llmops", root="tiny", parent=None),
    ModelCard("support-bot@production", 1_700_000_100, "llmops", root="tiny", parent="tiny"),
]
SERVED = {card.id for card in CARDS} | {"support-bot/3"}
ACTING = {"busy", "loading", "crash", "flaky", "stalls"}
MAX_TOKENS_LIMIT = 4096
CONTEXT = 64  # words; a prompt with "TOO_LONG" in it is over it
SECRET = "secret-detail-that-must-not-leak"


class FakeGeneration(Generation):
    def __init__(self, call: InferenceCall, params: SamplingParams, words: list[str], prompt_tokens: int) -> None:
        self.request_id = call.request_id
        self.model = call.model
        self.model_version = f"models:/{call.model.split('@')[0].split('/')[0]}/3"
        self.prompt_tokens = prompt_tokens
        self.call = call
        self.params = params
        self.words = words
        self.closed = threading.Event()  # set by aclose; the tests wait on it from another thread
        self._iterator = self._deltas()

    def __aiter__(self) -> AsyncIterator[Delta]:
        return self._iterator

    async def aclose(self) -> None:
        self.closed.set()
        await self._iterator.aclose()

    async def _deltas(self) -> AsyncIterator[Delta]:
        words, limit = self.words, self.params.max_tokens
        if not words:
            yield Delta("", (), (), "stop", self.prompt_tokens, 0)
            return
        for i, word in enumerate(words[:limit]):
            if i == 1 and self.model == "flaky":
                raise Unavailable("the replica went away")
            if i == 1 and self.model == "stalls":
                await asyncio.Event().wait()  # until cancelled
            text = word if i == 0 else " " + word
            last = i + 1 == len(words) or i + 1 == limit
            finish = None if not last else ("stop" if i + 1 == len(words) else "length")
            yield Delta(text, (100 + i,), self._logprobs(text, i), finish, self.prompt_tokens, i + 1)
            await asyncio.sleep(0)

    def _logprobs(self, text: str, i: int) -> tuple[TokenLogprob, ...]:
        if self.params.logprobs is None:
            return ()
        top = tuple(TopLogprob(f"alt{j}", j, -1.0 - j) for j in range(self.params.logprobs))
        return (TokenLogprob(text, 100 + i, -0.5 * (i + 1), top),)


@dataclass
class FakeGateway(Gateway):
    status: str = "ok"
    calls: list[InferenceCall] = field(default_factory=list)
    generations: dict[str, FakeGeneration] = field(default_factory=dict)

    def models(self) -> list[ModelCard]:
        return list(CARDS)

    def health(self) -> dict[str, Any]:
        return {"status": self.status, "models": sorted(SERVED)}

    async def start(self, call: InferenceCall) -> Generation:
        self.calls.append(call)
        if call.model not in SERVED | ACTING:
            raise NotFound(f"no model {quote(call.model)}", field="model")
        if call.model == "busy":
            raise ResourceExhausted("the queue is full", retry_after=2.5)
        if call.model == "loading":
            raise Unavailable("the model is still loading")
        if call.model == "crash":
            raise RuntimeError(SECRET)
        params = SamplingParams(**call.sampling).checked(max_tokens_limit=MAX_TOKENS_LIMIT)
        prompt = call.prompt if call.prompt is not None else " ".join(m.content for m in call.messages or ())
        if "TOO_LONG" in prompt:
            raise ContextTooLong(f"the prompt is over the context of {CONTEXT} tokens",
                                 field="prompt" if call.prompt is not None else "messages")
        echoed = call.prompt if call.prompt is not None else (call.messages or ())[-1].content
        generation = FakeGeneration(call, params, echoed.split(" ") if echoed else [], len(prompt.split()))
        self.generations[call.request_id] = generation
        return generation
