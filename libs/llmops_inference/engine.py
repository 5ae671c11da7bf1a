"""Continuous batching over one base model and its LoRA adapters.

One thread runs the batch. At every step, requests that arrived are prefilled together (left-padded)
and join the running batch; then every row decodes one token, each under its own sampling
parameters and adapter (PEFT's mixed-adapter batches, ``adapter_names``); rows that finished or whose
client went away leave before the next step. Deltas reach each request's asyncio queue.

transformers' own ``ContinuousBatchingManager`` (5.24) was not used: it has no per-request LoRA
adapter, and it applies the first request's sampling settings to the whole batch (stop sequences,
temperature), both of which serving needs per request. Its paged cache is replaced here by a plain
``DynamicCache`` whose rows are joined and dropped (``batch.BatchCache``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from llmops_common.errors import InvalidArgument, NotFound, ResourceExhausted, Unavailable
from llmops_inference import metrics, scoring
from llmops_inference.adapters import BASE, AdapterSet
from llmops_inference.batch import BatchCache
from llmops_inference.loading import load_base, pick_device
from llmops_inference.outputs import Delta, TokenLogprob, TopLogprob
from llmops_inference.params import SamplingParams
from llmops_inference.sampling import Choice, choose
from llmops_inference.text import IncrementalDetokenizer, StopMatcher

log = logging.getLogger(__name__)

MAX_PREFILL_TOKENS = 16_384  # padded prompt tokens prefilled in one step; later arrivals wait a step


@dataclass(frozen=True)
class GenerationRequest:
    request_id: str
    prompt_ids: tuple[int, ...]
    params: SamplingParams
    adapter: str | None = None  # None: the base model


class Stream:
    """A submitted request: async-iterate it for deltas; ``aclose``/``cancel`` frees its slot."""

    def __init__(self, request: GenerationRequest, loop: asyncio.AbstractEventLoop, wake: Any) -> None:
        self.request = request
        self.cancelled = False
        self._loop = loop
        self._queue: asyncio.Queue[Delta | BaseException] = asyncio.Queue()
        self._wake = wake
        self._done = False
        self._held: BaseException | None = None

    def put(self, item: Delta | BaseException) -> None:
        """From the engine thread."""
        deliver(self._loop, [(self, item)])

    def cancel(self) -> None:
        if not self._done:
            self.cancelled = True
            self._wake()

    async def aclose(self) -> None:
        self.cancel()

    def __aiter__(self) -> AsyncIterator[Delta]:
        return self

    async def __anext__(self) -> Delta:
        """The next output; when the consumer fell behind, every delta waiting is merged into one (a
        slow reader gets fewer, larger chunks instead of a growing backlog)."""
        if self._held is not None:
            self._done, error, self._held = True, self._held, None
            raise error
        if self._done:
            raise StopAsyncIteration
        try:
            item = await self._queue.get()
        except asyncio.CancelledError:
            self.cancel()
            raise
        if isinstance(item, BaseException):
            self._done = True
            raise item
        while item.finish_reason is None and not self._queue.empty():
            later = self._queue.get_nowait()
            if isinstance(later, BaseException):
                self._held = later
                break
            item = item.then(later)
        if item.finish_reason is not None:
            self._done = True
        return item


def _hand_over(items: list[tuple[Stream, Delta | BaseException]]) -> None:
    for stream, item in items:
        stream._queue.put_nowait(item)


def deliver(loop: asyncio.AbstractEventLoop, items: list[tuple[Stream, Delta | BaseException]]) -> None:
    """Hand a step's outputs to their consumers' loop in one wake-up (not one per token)."""
    try:
        loop.call_soon_threadsafe(_hand_over, items)
    except RuntimeError:  # the consumers' loop is gone
        for stream, _ in items:
            stream.cancelled = True


@dataclass
class _Sequence:
    stream: Stream
    params: SamplingParams
    prompt_tokens: int
    detok: IncrementalDetokenizer
    stopper: StopMatcher
    generator: torch.Generator | None
    adapter: str
    generated: list[int] = field(default_factory=list)
    finished: bool = False

    @property
    def position(self) -> int:
        """Position of the last generated token, the one the next step feeds in."""
        return self.prompt_tokens + len(self.generated) - 1


@dataclass(frozen=True)
class EngineStats:
    running: int
    waiting: int
    kv_tokens: int
    kv_bytes: int
    adapters: tuple[str, ...]


class Engine:
    def __init__(self, model: Any, tokenizer: Any, *, device: torch.device, max_batch: int = 64,
                 max_adapters: int = 16, max_queue: int = 1024, name: str = "engine") -> None:
        self.tokenizer = tokenizer
        self.device = device
        self.name = name
        self.max_batch, self.max_queue = max_batch, max_queue
        self.adapters = AdapterSet(model, max_adapters)
        config = model.config
        self.max_context = int(getattr(config, "max_position_embeddings", 0) or 2048)
        self.vocab_size = int(model.get_input_embeddings().num_embeddings)
        eos = getattr(model.generation_config, "eos_token_id", None) or config.eos_token_id or tokenizer.eos_token_id
        self.eos_ids = frozenset(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self.eos_ids, default=0)
        # transformers 5.24 renamed ``past_key_values`` to ``cache`` (the old name warns until 5.40)
        self._cache_arg = "cache" if "cache" in inspect.signature(type(model).forward).parameters else "past_key_values"
        self._cond = threading.Condition()
        self._step_lock = threading.Lock()
        self._inbox: deque[_Sequence] = deque()
        self._rows: list[_Sequence] = []
        self._batch: BatchCache | None = None
        self._closing = False
        self._thread: threading.Thread | None = None
        self._outputs: dict[asyncio.AbstractEventLoop, list[tuple[Stream, Delta | BaseException]]] = {}

    @classmethod
    def from_folder(cls, folder: str | Path, *, device: str = "auto", **options: Any) -> Engine:
        where = pick_device(device)
        model, tokenizer = load_base(Path(folder), where)
        return cls(model, tokenizer, device=where, name=options.pop("name", Path(folder).name), **options)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Engine:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"engine-{self.name}", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for seq in [*self._inbox, *self._rows]:
            self._finish(seq, Unavailable("the engine is shutting down"))
        self._inbox.clear()
        self._rows.clear()
        self._batch = None

    # -- adapters ----------------------------------------------------------------------------------

    def load_adapter(self, name: str, folder: Path) -> None:
        """Load between two steps (blocks until the current step ends)."""
        with self._step_lock:
            self.adapters.load(name, Path(folder))
        metrics.ADAPTERS.labels(self.name).set(len(self.adapters.names))

    def unload_adapter(self, name: str) -> None:
        with self._step_lock:
            self.adapters.unload(name)
        metrics.ADAPTERS.labels(self.name).set(len(self.adapters.names))

    # -- scoring -----------------------------------------------------------------------------------

    def score(self, requests: list[scoring.ScoreRequest]) -> list[scoring.ContinuationScore | None]:
        """Continuation log-likelihoods (``scoring.continuation_nll``), run between two steps (blocks
        until the current step ends, like loading an adapter); NotFound for an adapter not loaded."""
        for request in requests:
            if request.adapter is not None and request.adapter not in self.adapters:
                raise NotFound(f"adapter {request.adapter!r} is not loaded", field="model")
        with self._step_lock, torch.inference_mode():
            return scoring.continuation_nll(self.adapters.model, requests, forward_kwargs=self.adapters.forward_kwargs,
                                            base_name=BASE, max_context=self.max_context, pad_id=self.pad_id)

    # -- requests ----------------------------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> Stream:
        """Queue ``request`` (from a running event loop); raises before queueing on bad input."""
        if not request.prompt_ids:
            raise InvalidArgument("the prompt is empty", field="prompt")
        if not all(isinstance(t, int) and 0 <= t < self.vocab_size for t in request.prompt_ids):
            raise InvalidArgument(f"token ids are integers below {self.vocab_size}", field="prompt")
        request.params.checked(max_tokens_limit=self.max_context)  # a bad row would fail the whole step
        if len(request.prompt_ids) + request.params.max_tokens > self.max_context:
            raise InvalidArgument(
                f"the prompt ({len(request.prompt_ids)} tokens) and max_tokens ({request.params.max_tokens}) "
                f"exceed the context of {self.max_context} tokens", field="max_tokens")
        adapter = request.adapter or BASE
        if adapter != BASE and adapter not in self.adapters:
            raise NotFound(f"adapter {adapter!r} is not loaded", field="model")
        stream = Stream(request, asyncio.get_running_loop(), self._wake)
        seq = _Sequence(stream, request.params, len(request.prompt_ids),
                        IncrementalDetokenizer(self.tokenizer, request.prompt_ids), StopMatcher(request.params.stop),
                        self._generator(request.params), adapter)
        with self._cond:
            if self._closing:
                raise Unavailable("the engine is shutting down")
            if len(self._inbox) >= self.max_queue:
                raise ResourceExhausted(f"{len(self._inbox)} requests are already waiting", retry_after=1.0)
            self.adapters.pin(adapter)
            self._inbox.append(seq)
            metrics.WAITING.labels(self.name).set(len(self._inbox))
            self._cond.notify_all()
        return stream

    async def generate(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        stream = self.submit(request)
        try:
            async for delta in stream:
                yield delta
        finally:
            stream.cancel()

    def stats(self) -> EngineStats:
        batch = self._batch
        return EngineStats(len(self._rows), len(self._inbox), batch.tokens() if batch else 0,
                           batch.nbytes() if batch else 0, tuple(self.adapters.names))

    def memory(self) -> dict[str, int]:
        adapter_bytes = self.adapters.adapter_bytes()
        total = sum(p.numel() * p.element_size() for p in self.adapters.model.parameters())
        return {"parameters_bytes": total - adapter_bytes, "adapter_bytes": adapter_bytes,
                "kv_cache_bytes": self.stats().kv_bytes}

    def _generator(self, params: SamplingParams) -> torch.Generator | None:
        if params.greedy:
            return None
        generator = torch.Generator(device=self.device)
        if params.seed is not None:
            generator.manual_seed(params.seed & 0xFFFF_FFFF_FFFF_FFFF)
        else:
            generator.seed()
        return generator

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    # -- the loop (engine thread) -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closing and not self._inbox and not self._rows:
                    self._cond.wait()
                if self._closing:
                    return
                newcomers = self._admit()
            try:
                with self._step_lock, torch.inference_mode():
                    self._drop_finished()
                    if newcomers:
                        self._prefill(newcomers)
                    if self._rows:
                        self._decode()
            except Exception as exc:  # a failed step fails its sequences, never the engine
                log.exception("engine %s: step failed", self.name)
                for seq in [*newcomers, *self._rows]:
                    self._finish(seq, Unavailable(f"generation failed: {exc.__class__.__name__}: {str(exc)[:200]}"))
                self._rows, self._batch = [], None
            self._flush_outputs()
            self._publish_stats()

    def _admit(self) -> list[_Sequence]:
        taken: list[_Sequence] = []
        longest = 0
        while self._inbox and len(self._rows) + len(taken) < self.max_batch:
            seq = self._inbox[0]
            if seq.stream.cancelled:
                self._inbox.popleft()
                self._finish(seq, None)
                continue
            longest_after = max(longest, seq.prompt_tokens)
            if taken and longest_after * (len(taken) + 1) > MAX_PREFILL_TOKENS:
                break
            taken.append(self._inbox.popleft())
            longest = longest_after
        return taken

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any,
                 rows: list[_Sequence]) -> torch.Tensor:
        """Last-position logits; ``cache`` is updated in place."""
        extra = self.adapters.forward_kwargs([s.adapter for s in rows])
        extra[self._cache_arg] = cache
        out = self.adapters.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                                  logits_to_keep=1, **extra)
        return out.logits[:, -1, :]

    def _prefill(self, seqs: list[_Sequence]) -> None:
        from transformers import DynamicCache

        width = max(s.prompt_tokens for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for row, seq in enumerate(seqs):
            prompt = seq.stream.request.prompt_ids
            ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt):] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.adapters.model.config)
        logits = self._forward(ids, mask, positions, cache, seqs)
        metrics.PROMPT_TOKENS.labels(self.name).inc(sum(s.prompt_tokens for s in seqs))
        joined = BatchCache(cache, mask)
        if self._batch is None:
            self._batch = joined
        else:
            self._batch.append(joined)
        self._rows.extend(seqs)
        self._step(logits, seqs, first_row=len(self._rows) - len(seqs))

    def _decode(self) -> None:
        assert self._batch is not None
        ids = torch.tensor([[s.generated[-1]] for s in self._rows], dtype=torch.long, device=self.device)
        positions = torch.tensor([[s.position] for s in self._rows], dtype=torch.long, device=self.device)
        mask = self._batch.extend_mask()
        logits = self._forward(ids, mask, positions, self._batch.cache, self._rows)
        metrics.BATCH.labels(self.name).observe(len(self._rows))
        self._step(logits, self._rows, first_row=0)

    def _step(self, logits: torch.Tensor, seqs: list[_Sequence], *, first_row: int) -> None:
        """Sample one token for each of ``seqs`` (rows ``first_row``...), emit, drop finished rows."""
        banned = [self.eos_ids if len(s.generated) < s.params.min_tokens else () for s in seqs]
        choices = choose(logits, [s.params for s in seqs], [s.generator for s in seqs], banned)
        metrics.TOKENS.labels(self.name).inc(len(seqs))
        for seq, choice in zip(seqs, choices, strict=True):
            self._advance(seq, choice)
        self._drop_finished()

    def _drop_finished(self) -> None:
        """Rows that finished or whose client went away leave the batch (and the cache)."""
        keep = [row for row, seq in enumerate(self._rows) if not seq.finished and not seq.stream.cancelled]
        if len(keep) == len(self._rows):
            return
        for seq in self._rows:
            if seq.stream.cancelled:
                self._finish(seq, None)
        self._rows = [self._rows[row] for row in keep]
        if self._rows:
            assert self._batch is not None
            self._batch.select(keep)
        else:
            self._batch = None

    def _advance(self, seq: _Sequence, choice: Choice) -> None:
        seq.generated.append(choice.token_id)
        params = seq.params
        at_eos = choice.token_id in self.eos_ids and not params.ignore_eos
        text, matched = seq.stopper.feed("" if at_eos else seq.detok.add(choice.token_id))
        reason = "stop" if (at_eos or matched) else None
        if reason is None and (len(seq.generated) >= params.max_tokens or seq.position + 1 >= self.max_context):
            reason = "length"
        if reason is not None and not matched:
            tail, matched = seq.stopper.feed(seq.detok.flush())
            text += tail if matched else tail + seq.stopper.flush()
            reason = "stop" if matched else reason
        logprobs = ()
        if choice.logprob is not None:
            top = tuple(TopLogprob(self._token_text(i), i, lp) for i, lp in choice.top)
            logprobs = (TokenLogprob(self._token_text(choice.token_id), choice.token_id, choice.logprob, top),)
        delta = Delta(text, (choice.token_id,), logprobs, reason, seq.prompt_tokens, len(seq.generated))
        self._outputs.setdefault(seq.stream._loop, []).append((seq.stream, delta))
        if reason is not None:
            self._finish(seq, None)

    def _token_text(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id], skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def _finish(self, seq: _Sequence, error: BaseException | None) -> None:
        if seq.finished:
            return
        seq.finished = True
        if error is not None:
            seq.stream.put(error)
        self.adapters.unpin(seq.adapter)

    def _flush_outputs(self) -> None:
        outputs, self._outputs = self._outputs, {}
        for loop, items in outputs.items():
            deliver(loop, items)

    def _publish_stats(self) -> None:
        stats = self.stats()
        metrics.ACTIVE.labels(self.name).set(stats.running)
        metrics.WAITING.labels(self.name).set(stats.waiting)
        metrics.KV_TOKENS.labels(self.name).set(stats.kv_tokens)
        metrics.KV_BYTES.labels(self.name).set(stats.kv_bytes)
