"""The inference engine on a tiny random llama and LoRA adapters: batching (mixed adapters, requests
joining mid-run) never changes a request's tokens, cancellation frees the slot, sampling parameters,
logprobs, context limits and the adapter set's lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from llmops_common.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted, Unavailable
from llmops_inference.adapters import AdapterLoadError
from llmops_inference.engine import GenerationRequest
from llmops_inference.outputs import Delta
from llmops_inference.params import SamplingParams
from llmops_inference.sampling import choose

PROMPTS = ["the quick brown", "fox jumps over the lazy dog 3", "é ü", "the", "漢字 lazy dog brown fox quick 17"]
ADAPTERS = [None, "a0", "a1"]
GREEDY = {"temperature": 0.0, "ignore_eos": True}


@dataclass(frozen=True)
class Result:
    tokens: list[int]
    deltas: list[Delta]

    @property
    def text(self) -> str:
        return "".join(d.text for d in self.deltas)

    @property
    def finish_reason(self) -> str | None:
        return self.deltas[-1].finish_reason


async def run(engine: Any, prompt: str, adapter: str | None = None, *, delay: float = 0.0, **params: Any) -> Result:
    if delay:
        await asyncio.sleep(delay)
    request = GenerationRequest("r", tuple(engine.tokenizer.encode(prompt)), SamplingParams(**params), adapter)
    deltas = [d async for d in engine.generate(request)]
    return Result([t for d in deltas for t in d.token_ids], deltas)


def metric(name: str, engine: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"engine": engine, **labels}) or 0.0


async def wait_idle(engine: Any) -> None:
    """Until the engine has no running or waiting sequence (bounded; the assertion is the caller's)."""
    for _ in range(2000):
        stats = engine.stats()
        if stats.running == 0 and stats.waiting == 0:
            return
        await asyncio.sleep(0.005)


# -- batching never changes a request's tokens ---------------------------------------------------------

async def test_mixed_adapter_batch_gives_each_request_its_tokens_alone(shared_engine: Any) -> None:
    jobs = [(p, a) for p in PROMPTS for a in ADAPTERS]
    alone = [await run(shared_engine, p, a, max_tokens=12, **GREEDY) for p, a in jobs]
    together = await asyncio.gather(*[run(shared_engine, p, a, max_tokens=12, **GREEDY) for p, a in jobs])

    assert [r.tokens for r in together] == [r.tokens for r in alone]
    for i in range(0, len(jobs), len(ADAPTERS)):  # the adapters really change the output, each its own way
        base, a0, a1 = (r.tokens for r in alone[i:i + 3])
        assert base != a0 and base != a1 and a0 != a1, jobs[i][0]
    assert all(len(r.tokens) == 12 and r.finish_reason == "length" for r in together)


async def test_greedy_matches_transformers_generate(shared_engine: Any, tiny_models: Any) -> None:
    from transformers import AutoModelForCausalLM

    reference = AutoModelForCausalLM.from_pretrained(tiny_models.base, local_files_only=True).eval()
    for prompt in PROMPTS:
        ids = torch.tensor([shared_engine.tokenizer.encode(prompt)])
        expected = reference.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=20, min_new_tokens=20,
                                      do_sample=False)[0, ids.shape[1]:].tolist()
        ours = await run(shared_engine, prompt, max_tokens=20, min_tokens=20, **GREEDY)  # EOS banned, as there
        assert ours.tokens == expected, prompt


async def test_requests_joining_mid_run_get_their_tokens_alone(make_engine: Any) -> None:
    engine = make_engine("unit-continuous", adapters=("a0", "a1"))
    jobs = [(p, a) for p in PROMPTS for a in ADAPTERS]
    alone = [await run(engine, p, a, max_tokens=30, **GREEDY) for p, a in jobs]
    wide_before = metric("llmops_engine_batch_size_count", engine.name) - \
        metric("llmops_engine_batch_size_bucket", engine.name, le="1.0")
    running: list[int] = []

    async def watch() -> None:
        while True:
            running.append(engine.stats().running)
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    staggered = await asyncio.gather(*[run(engine, p, a, delay=0.01 * i, max_tokens=30, **GREEDY)
                                       for i, (p, a) in enumerate(jobs)])
    watcher.cancel()

    assert [r.tokens for r in staggered] == [r.tokens for r in alone]
    wide_steps = metric("llmops_engine_batch_size_count", engine.name) - \
        metric("llmops_engine_batch_size_bucket", engine.name, le="1.0") - wide_before
    assert wide_steps > 0  # decoding steps really ran several rows
    joined = [0 < before < after for before, after in zip(running, running[1:], strict=False)]
    assert any(joined)  # rows joined a batch that was running


async def test_no_step_runs_more_rows_than_max_batch(make_engine: Any, shared_engine: Any) -> None:
    engine = make_engine("unit-max-batch", adapters=("a0",), max_batch=2)
    jobs = [(p, a) for p in PROMPTS for a in (None, "a0")]
    alone = [await run(shared_engine, p, a, max_tokens=8, **GREEDY) for p, a in jobs]
    together = await asyncio.gather(*[run(engine, p, a, max_tokens=8, **GREEDY) for p, a in jobs])
    assert [r.tokens for r in together] == [r.tokens for r in alone]
    steps = metric("llmops_engine_batch_size_count", engine.name)
    assert steps > 0 and metric("llmops_engine_batch_size_bucket", engine.name, le="2.0") == steps
    assert metric("llmops_engine_batch_size_bucket", engine.name, le="1.0") < steps


# -- cancellation ---------------------------------------------------------------------------------------

async def _first_delta_then(engine: Any, leave: str) -> None:
    request = GenerationRequest("r", tuple(engine.tokenizer.encode("the quick")), SamplingParams(
        max_tokens=250, **GREEDY), "a0")
    if leave == "aclose":
        stream = engine.submit(request)
        await stream.__anext__()
        await stream.aclose()
    elif leave == "break":
        async with contextlib.aclosing(engine.generate(request)) as deltas:
            async for _ in deltas:
                break
    else:  # the consuming task is cancelled (a client that disconnects)
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in engine.generate(request):
                first.set()

        task = asyncio.create_task(consume())
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("leave", ["aclose", "break", "task-cancelled"])
async def test_a_cancelled_stream_leaves_the_batch_and_releases_its_adapter(make_engine: Any, leave: str) -> None:
    engine = make_engine(f"unit-cancel-{leave}", adapters=("a0",))
    await _first_delta_then(engine, leave)
    await wait_idle(engine)

    stats = engine.stats()
    assert (stats.running, stats.waiting, stats.kv_tokens) == (0, 0, 0)
    assert metric("llmops_engine_generated_tokens_total", engine.name) < 250  # it did not run to the end
    engine.unload_adapter("a0")  # no longer pinned
    assert engine.stats().adapters == ()


async def test_an_adapter_in_use_cannot_be_unloaded(make_engine: Any) -> None:
    engine = make_engine("unit-pinned", adapters=("a0",), start=False)
    stream = engine.submit(GenerationRequest("r", (5, 6), SamplingParams(max_tokens=4), "a0"))
    with pytest.raises(FailedPrecondition):
        engine.unload_adapter("a0")
    await stream.aclose()  # cancelled while still waiting for a slot
    engine.start()
    await wait_idle(engine)
    assert engine.stats().waiting == 0
    engine.unload_adapter("a0")
    assert metric("llmops_engine_generated_tokens_total", engine.name) == 0


async def test_a_full_queue_is_refused_and_closing_fails_the_waiting_streams(make_engine: Any) -> None:
    engine = make_engine("unit-queue", start=False, max_queue=1)
    stream = engine.submit(GenerationRequest("r", (5, 6), SamplingParams(max_tokens=4)))
    with pytest.raises(ResourceExhausted):
        engine.submit(GenerationRequest("r", (5, 6), SamplingParams(max_tokens=4)))
    engine.close()
    with pytest.raises(Unavailable):
        await stream.__anext__()
    with pytest.raises(Unavailable):
        engine.submit(GenerationRequest("r", (5, 6), SamplingParams(max_tokens=4)))


# -- sampling parameters ----------------------------------------------------------------------------------

async def test_max_tokens_ends_with_length_and_exactly_that_many_tokens(shared_engine: Any) -> None:
    for n in (1, 7):
        result = await run(shared_engine, PROMPTS[0], "a1", max_tokens=n, **GREEDY)
        assert len(result.tokens) == n and result.finish_reason == "length"
        counts = [d.completion_tokens for d in result.deltas]  # a lagging reader gets merged deltas
        assert counts == sorted(set(counts)) and counts[-1] == n
        assert counts == list(itertools.accumulate(len(d.token_ids) for d in result.deltas))
        assert {d.prompt_tokens for d in result.deltas} == {len(shared_engine.tokenizer.encode(PROMPTS[0]))}
        assert [d.finish_reason for d in result.deltas[:-1]] == [None] * (len(result.deltas) - 1)


async def test_eos_stops_unless_ignored_and_min_tokens_bans_it(make_engine: Any, shared_engine: Any) -> None:
    prompt = PROMPTS[1]
    free = (await run(shared_engine, prompt, max_tokens=12, **GREEDY)).tokens
    engine = make_engine("unit-eos")
    engine.eos_ids = frozenset({free[0]})  # a model whose end-of-sequence token is its first greedy choice

    stopped = await run(engine, prompt, max_tokens=12, temperature=0.0)
    assert stopped.tokens == free[:1] and stopped.finish_reason == "stop" and stopped.text == ""
    ignored = await run(engine, prompt, max_tokens=12, **GREEDY)
    assert ignored.tokens == free and ignored.finish_reason == "length"
    held = await run(engine, prompt, max_tokens=12, min_tokens=5, temperature=0.0)
    assert free[0] not in held.tokens[:5] and len(held.tokens) >= 5
    assert held.finish_reason == "length" or held.tokens[-1] == free[0]


def test_choose_bans_eos_before_min_tokens_even_when_it_dominates() -> None:
    logits = torch.zeros(3, 10)
    logits[:, 1] = 50.0  # token 1 (EOS) takes nearly all the probability
    params = [SamplingParams(temperature=0.0), SamplingParams(temperature=1.0, seed=3),
              SamplingParams(temperature=1.0, logprobs=2)]
    generators = [None, torch.Generator().manual_seed(3), torch.Generator().manual_seed(4)]
    assert [c.token_id for c in choose(logits.clone(), params, generators, [(), (), ()])] == [1, 1, 1]
    banned = choose(logits.clone(), params, generators, [(1,), (1,), (1,)])
    assert all(c.token_id != 1 for c in banned)
    assert banned[2].logprob is not None and banned[2].top[0][0] == 1  # logprobs are the model's, before the ban


def test_choose_with_a_vanishing_temperature_is_greedy() -> None:
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]] * 4)
    params = [SamplingParams(temperature=t, top_k=k) for t, k in ((5e-324, 0), (1e-40, 0), (1e-45, 3), (1e-6, 2))]
    picked = choose(logits, params, [torch.Generator().manual_seed(i) for i in range(4)], [(), (), (), ()])
    assert [c.token_id for c in picked] == [1, 1, 1, 1]


def test_choose_top_k_and_top_p_keep_only_the_likely_tokens() -> None:
    logits = torch.tensor([[4.0, 3.0, 2.0, -1.0, -2.0, -3.0]] * 2)
    generator = torch.Generator().manual_seed(0)
    seen: set[int] = set()
    for _ in range(200):
        picked = choose(logits.clone(), [SamplingParams(top_k=2), SamplingParams(top_p=0.9)],
                        [generator, generator], [(), ()])
        assert picked[0].token_id in (0, 1)
        seen.add(picked[1].token_id)
    assert seen == {0, 1}  # softmax: 0.66, 0.24, 0.09, ...: top_p 0.9 keeps exactly the two


async def test_stop_sequence_cuts_the_output_even_split_across_tokens(shared_engine: Any) -> None:
    for prompt, adapter in [(p, a) for p in PROMPTS for a in ADAPTERS]:  # one whose text has two deltas in a row
        full = await run(shared_engine, prompt, adapter, max_tokens=40, **GREEDY)
        texts = [d.text for d in full.deltas]
        cut = next((i for i in range(1, len(texts)) if texts[i - 1] and texts[i]), None)
        if cut is not None:
            break
    assert cut is not None
    joined = "".join(texts)
    split_stop = texts[cut - 1][-1] + texts[cut][0]  # one character from each of two deltas
    assert joined == shared_engine.tokenizer.decode(full.tokens, skip_special_tokens=True)

    for stop in (split_stop, texts[cut]):
        stopped = await run(shared_engine, prompt, adapter, max_tokens=40, stop=(stop, "never-there"), **GREEDY)
        assert stopped.finish_reason == "stop"
        assert stopped.text == joined[:joined.index(stop)]
        assert stopped.tokens == full.tokens[:len(stopped.tokens)] and len(stopped.tokens) < len(full.tokens)
        decoded = shared_engine.tokenizer.decode(stopped.tokens, skip_special_tokens=True)
        assert decoded.startswith(stop, len(stopped.text))


async def test_a_seed_gives_the_same_tokens_alone_and_in_a_batch(shared_engine: Any) -> None:
    sampled = {"temperature": 1.0, "max_tokens": 20, "ignore_eos": True}
    alone = await run(shared_engine, PROMPTS[0], "a0", seed=5, **sampled)
    batch = await asyncio.gather(
        run(shared_engine, PROMPTS[0], "a0", seed=5, **sampled),
        *[run(shared_engine, p, a, seed=9, **sampled) for p in PROMPTS for a in ADAPTERS],
        run(shared_engine, PROMPTS[1], None, max_tokens=20, **GREEDY))
    other_seed = await run(shared_engine, PROMPTS[0], "a0", seed=6, **sampled)
    assert batch[0].tokens == alone.tokens
    assert other_seed.tokens != alone.tokens
    unseeded = [await run(shared_engine, PROMPTS[0], "a0", **sampled) for _ in range(2)]
    assert unseeded[0].tokens != unseeded[1].tokens


async def test_logprobs_are_the_models_log_softmax(shared_engine: Any, tiny_models: Any) -> None:
    from transformers import AutoModelForCausalLM

    reference = AutoModelForCausalLM.from_pretrained(tiny_models.base, local_files_only=True).eval()
    ids = shared_engine.tokenizer.encode(PROMPTS[1])
    with torch.no_grad():
        expected = torch.log_softmax(reference(torch.tensor([ids])).logits[0, -1].float(), dim=-1)
    for k in (0, 3):
        result = await run(shared_engine, PROMPTS[1], max_tokens=4, logprobs=k, temperature=1.0, seed=1,
                           ignore_eos=True)
        assert all(len(d.logprobs) == len(d.token_ids) and all(len(lp.top) == k for lp in d.logprobs)
                   for d in result.deltas)
        first = result.deltas[0].logprobs[0]
        assert first.token_id == result.tokens[0]
        assert first.logprob == pytest.approx(float(expected[first.token_id]), abs=1e-4)
        assert first.token == shared_engine.tokenizer.decode([first.token_id])
        if k:
            best = torch.topk(expected, k)
            assert [t.token_id for t in first.top] == best.indices.tolist()
            assert [t.logprob for t in first.top] == pytest.approx(best.values.tolist(), abs=1e-4)
        for delta in result.deltas:
            values = [t.logprob for t in delta.logprobs[0].top]
            assert values == sorted(values, reverse=True)
            assert delta.logprobs[0].logprob <= 0.0
    without = await run(shared_engine, PROMPTS[1], max_tokens=2, **GREEDY)
    assert all(d.logprobs == () for d in without.deltas)


# -- bad requests -----------------------------------------------------------------------------------------

async def test_prompts_beyond_the_context_and_empty_prompts_are_refused(shared_engine: Any) -> None:
    cases = [((), 4, "prompt"), ((5,) * 200, 57, "max_tokens"), ((5,) * 256, 1, "max_tokens")]
    for prompt, max_tokens, field in cases:
        with pytest.raises(InvalidArgument) as caught:
            shared_engine.submit(GenerationRequest("r", prompt, SamplingParams(max_tokens=max_tokens)))
        assert caught.value.field == field
    with pytest.raises(NotFound):
        shared_engine.submit(GenerationRequest("r", (5,), SamplingParams(), "not-loaded"))
    assert shared_engine.stats().waiting == 0
    fits = await run(shared_engine, "the", max_tokens=255, **GREEDY)  # exactly the context: accepted
    assert len(fits.tokens) == 255 and fits.finish_reason == "length"


# -- adapters ---------------------------------------------------------------------------------------------

async def test_lru_evicts_the_least_recently_used_adapter(make_engine: Any, tiny_models: Any) -> None:
    engine = make_engine("unit-lru", adapters=("a0", "a1"), max_adapters=2)
    engine.load_adapter("a2", tiny_models.good["a2"])  # nothing used yet: a0 was loaded first
    assert engine.stats().adapters == ("a1", "a2")
    engine.load_adapter("a0", tiny_models.good["a0"])
    assert engine.stats().adapters == ("a2", "a0")
    await run(engine, "the", "a2", max_tokens=1)  # a2 is now the most recently used
    engine.load_adapter("a1", tiny_models.good["a1"])
    assert engine.stats().adapters == ("a2", "a1")


async def test_when_every_adapter_is_pinned_loading_is_refused(make_engine: Any, tiny_models: Any) -> None:
    engine = make_engine("unit-full", adapters=("a0", "a1"), max_adapters=2, start=False)
    streams = [engine.submit(GenerationRequest("r", (5, 6), SamplingParams(max_tokens=2, **GREEDY), a))
               for a in ("a0", "a1")]
    with pytest.raises(ResourceExhausted):
        engine.load_adapter("a2", tiny_models.good["a2"])
    assert engine.stats().adapters == ("a0", "a1")
    engine.start()
    for stream in streams:
        assert [d async for d in stream][-1].finish_reason == "length"
    await wait_idle(engine)
    engine.load_adapter("a2", tiny_models.good["a2"])  # the pins are gone: a0 goes
    assert engine.stats().adapters == ("a1", "a2")


@pytest.mark.parametrize("broken", ["wrong_rank", "other_hidden", "renamed_keys"])
async def test_a_broken_adapter_is_refused_and_the_others_keep_serving(make_engine: Any, tiny_models: Any,
                                                                       broken: str) -> None:
    engine = make_engine(f"unit-broken-{broken}", adapters=("a0", "a1"))
    before = {a: (await run(engine, PROMPTS[0], a, max_tokens=10, **GREEDY)).tokens for a in ADAPTERS}
    with pytest.raises(AdapterLoadError) as caught:
        engine.load_adapter("bad", getattr(tiny_models, broken))
    assert caught.value.field == "adapter"
    assert engine.stats().adapters == ("a0", "a1")
    with pytest.raises(NotFound):
        engine.submit(GenerationRequest("r", (5,), SamplingParams(), "bad"))
    after = {a: (await run(engine, PROMPTS[0], a, max_tokens=10, **GREEDY)).tokens for a in ADAPTERS}
    assert after == before


async def test_a_broken_adapter_at_capacity_evicts_nothing(make_engine: Any, tiny_models: Any) -> None:
    engine = make_engine("unit-broken-full", adapters=("a0", "a1"), max_adapters=2)
    before = (await run(engine, PROMPTS[0], "a0", max_tokens=10, **GREEDY)).tokens
    with pytest.raises(AdapterLoadError):
        engine.load_adapter("bad", tiny_models.wrong_rank)
    assert engine.stats().adapters == ("a1", "a0")
    assert (await run(engine, PROMPTS[0], "a0", max_tokens=10, **GREEDY)).tokens == before


async def test_a_broken_adapter_as_the_first_one_leaves_the_plain_base(make_engine: Any, tiny_models: Any) -> None:
    engine = make_engine("unit-broken-first")
    before = (await run(engine, PROMPTS[1], max_tokens=10, **GREEDY)).tokens
    with pytest.raises(AdapterLoadError):
        engine.load_adapter("bad", tiny_models.wrong_rank)
    assert engine.adapters.model is engine.adapters.base and not hasattr(engine.adapters.model, "peft_config")
    assert (await run(engine, PROMPTS[1], max_tokens=10, **GREEDY)).tokens == before


@pytest.mark.parametrize("damage", ["not-lora", "no-weights", "bad-json"])
def test_an_adapter_folder_that_is_not_a_lora_adapter_is_refused(make_engine: Any, tiny_models: Any,
                                                                 tmp_path: Any, damage: str) -> None:
    import shutil

    folder = tmp_path / "adapter"
    shutil.copytree(tiny_models.good["a0"], folder)
    config = folder / "adapter_config.json"
    if damage == "not-lora":
        config.write_text(config.read_text().replace('"LORA"', '"IA3"'))
    elif damage == "no-weights":
        (folder / "adapter_model.safetensors").unlink()
    else:
        config.write_text("{not json")
    engine = make_engine(f"unit-folder-{damage}", start=False)
    with pytest.raises(AdapterLoadError):
        engine.load_adapter("bad", folder)
    assert engine.stats().adapters == ()


async def test_unloading_the_last_adapter_returns_to_the_plain_base(make_engine: Any, tiny_models: Any) -> None:
    engine = make_engine("unit-unload")
    before = {p: (await run(engine, p, max_tokens=10, **GREEDY)).tokens for p in PROMPTS[:3]}
    engine.load_adapter("a0", tiny_models.good["a0"])
    engine.load_adapter("a1", tiny_models.good["a1"])
    with_adapters = {p: (await run(engine, p, max_tokens=10, **GREEDY)).tokens for p in PROMPTS[:3]}
    adapted = (await run(engine, PROMPTS[0], "a1", max_tokens=10, **GREEDY)).tokens
    assert engine.memory()["adapter_bytes"] > 0
    engine.unload_adapter("a0")
    assert (await run(engine, PROMPTS[0], "a1", max_tokens=10, **GREEDY)).tokens == adapted
    engine.unload_adapter("a1")

    assert engine.stats().adapters == () and engine.memory()["adapter_bytes"] == 0
    assert engine.adapters.model is engine.adapters.base and not hasattr(engine.adapters.model, "peft_config")
    after = {p: (await run(engine, p, max_tokens=10, **GREEDY)).tokens for p in PROMPTS[:3]}
    assert before == with_adapters == after
    with pytest.raises(NotFound):
        engine.unload_adapter("a1")
    engine.load_adapter("a2", tiny_models.good["a2"])
    with pytest.raises(FailedPrecondition):  # already loaded
        engine.load_adapter("a2", tiny_models.good["a2"])


# -- hostile requests never hurt the others in the batch ---------------------------------------------------

NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3), st.booleans(), st.none())
HOSTILE = st.fixed_dictionaries({}, optional={
    "max_tokens": st.one_of(st.integers(-2, 6), NUMBER),
    "temperature": st.one_of(st.floats(0, 2), st.sampled_from([5e-324, 1e-45, 1e-39, 1e-5]), NUMBER),
    "top_p": st.one_of(st.floats(0, 1), NUMBER), "top_k": st.one_of(st.integers(-1, 500), NUMBER),
    "seed": st.one_of(st.integers(-(2**64), 2**64), NUMBER), "logprobs": st.one_of(st.integers(-1, 21), NUMBER),
    "min_tokens": st.one_of(st.integers(-1, 6), NUMBER), "ignore_eos": st.one_of(st.booleans(), NUMBER),
    "stop": st.one_of(st.lists(st.text(max_size=3), max_size=5).map(tuple), NUMBER, st.text(max_size=3)),
})
PROMPT_IDS = st.one_of(st.lists(st.integers(0, 399), max_size=8),
                       st.lists(st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.booleans()), max_size=4))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=PROMPT_IDS, values=HOSTILE)
@example(ids=[5, 6], values={"temperature": 1e-45, "max_tokens": 3})
@example(ids=[5, 10**6], values={})
@example(ids=[5], values={"temperature": float("nan")})
def test_a_hostile_request_is_refused_or_served_and_its_neighbours_are_unaffected(
        shared_engine: Any, bystander_tokens: list[int], ids: list[Any], values: dict[str, Any]) -> None:
    async def hostile() -> None:
        try:
            params = SamplingParams(**values)
            deltas = [d async for d in shared_engine.generate(GenerationRequest("h", tuple(ids), params, "a1"))]
        except (InvalidArgument, NotFound):
            return
        assert deltas[-1].finish_reason in ("stop", "length")
        assert len(deltas) <= params.max_tokens

    async def both() -> list[int]:
        neighbour, _ = await asyncio.gather(run(shared_engine, PROMPTS[2], "a0", max_tokens=6, **GREEDY), hostile())
        return neighbour.tokens

    assert asyncio.run(both()) == bystander_tokens


@pytest.fixture(scope="module")
def bystander_tokens(shared_engine: Any) -> list[int]:
    return asyncio.run(run(shared_engine, PROMPTS[2], "a0", max_tokens=6, **GREEDY)).tokens
