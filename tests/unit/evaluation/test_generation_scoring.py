"""Continuation log-likelihoods (``llmops_inference.scoring`` through ``Engine.score``) equal the model's
own log-softmax, for the base and each adapter, in mixed batches of any size, and while the engine
is generating."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_common.errors import NotFound
from llmops_common.testing.tiny_lm import build_adapter, build_base
from llmops_inference import scoring
from llmops_inference.engine import Engine, GenerationRequest
from llmops_inference.params import SamplingParams
from llmops_inference.scoring import ContinuationScore, ScoreRequest, split_pair

PAIRS = [("the quick brown", " fox jumps"), ("é ü", " 漢字 lazy dog 3"), ("the", " quick"),
         ("fox jumps over the lazy dog 3", " the quick brown fox 21 jumps")]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("scoring-llama")
    base = build_base(root / "base")
    return {"base": base, "a0": build_adapter(base, root / "a0", seed=3),
            "a1": build_adapter(base, root / "a1", seed=4)}


@pytest.fixture(scope="module")
def engine(folders: dict[str, Any]) -> Iterator[Engine]:
    engine = Engine.from_folder(folders["base"], device="cpu", name="scoring-unit")
    engine.load_adapter("a0", folders["a0"])
    engine.load_adapter("a1", folders["a1"])
    yield engine.start()
    engine.close()


def _reference(folders: dict[str, Any], adapter: str | None, prompt_ids: tuple, continuation_ids: tuple) -> float:
    """The summed NLL straight from transformers (and PEFT), one sequence alone."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folders["base"], local_files_only=True).eval()
    if adapter is not None:
        model = PeftModel.from_pretrained(model, folders[adapter]).eval()
    ids = torch.tensor([prompt_ids + continuation_ids])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
    return -sum(float(logprobs[len(prompt_ids) - 1 + i, t]) for i, t in enumerate(continuation_ids))


def test_scores_equal_the_models_log_softmax_for_base_and_adapters_in_one_mixed_batch(
        engine: Engine, folders: dict[str, Any]) -> None:
    requests = [ScoreRequest(*split_pair(engine.tokenizer, p, c), adapter)
                for p, c in PAIRS for adapter in (None, "a0", "a1")]
    scores = engine.score(requests)
    for request, score in zip(requests, scores, strict=True):
        expected = _reference(folders, request.adapter, request.prompt_ids, request.continuation_ids)
        assert score is not None and score.tokens == len(request.continuation_ids)
        assert score.nll == pytest.approx(expected, abs=1e-4)
    by_adapter = {r.adapter: s.nll for r, s in zip(requests[:3], scores[:3], strict=True)}
    assert len({round(v, 3) for v in by_adapter.values()}) == 3  # the adapters change the likelihood


def test_one_row_per_forward_pass_gives_the_same_scores(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    requests = [ScoreRequest(*split_pair(engine.tokenizer, p, c), a) for p, c in PAIRS for a in (None, "a1")]
    batched = engine.score(requests)
    monkeypatch.setattr(scoring, "LOGIT_BUDGET", 1)
    alone = engine.score(requests)
    assert [s.nll for s in alone] == pytest.approx([s.nll for s in batched], abs=1e-4)


def test_what_cannot_be_scored_is_none_and_an_empty_continuation_is_zero(engine: Engine) -> None:
    fits = ScoreRequest((5, 6, 7), (8, 9))
    scores = engine.score([ScoreRequest((5,) * 250, (6,) * 7), ScoreRequest((), (5, 6)), ScoreRequest((5, 6), ()),
                           fits, ScoreRequest((5,) * 250, (6,) * 6)])
    assert scores[0] is None and scores[1] is None
    assert scores[2] == ContinuationScore(0.0, 0)
    assert scores[3] is not None and scores[3].tokens == 2
    assert scores[4] is not None and scores[4].tokens == 6  # exactly the context (256)
    with pytest.raises(NotFound):
        engine.score([ScoreRequest((5,), (6,), "missing")])


async def test_scoring_while_the_engine_generates_changes_neither(engine: Engine) -> None:
    requests = [ScoreRequest(*split_pair(engine.tokenizer, p, c), a) for p, c in PAIRS for a in (None, "a0")]
    idle = engine.score(requests)
    params = SamplingParams(max_tokens=40, temperature=0.0, ignore_eos=True)

    async def generate(adapter: str | None) -> list[int]:
        request = GenerationRequest("g", tuple(engine.tokenizer.encode(PAIRS[3][0])), params, adapter)
        return [t async for d in engine.generate(request) for t in d.token_ids]

    alone = [await generate(a) for a in (None, "a0")]
    busy: list[Any] = []
    scorer = threading.Thread(target=lambda: busy.extend(engine.score(requests) for _ in range(5)))
    generating = asyncio.gather(generate(None), generate("a0"))
    scorer.start()
    together = await generating
    await asyncio.to_thread(scorer.join)
    assert together == alone
    for run in busy:
        assert [s.nll for s in run] == pytest.approx([s.nll for s in idle], abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(prompt=st.text(st.sampled_from("the quick brown fox é漢 3 ;"), max_size=20),
       continuation=st.text(st.sampled_from("the quick brown fox é漢 3 ;"), max_size=20))
def test_the_split_keeps_the_prompts_tokens_and_the_text(tokenizer: Any, prompt: str, continuation: str) -> None:
    context, rest = split_pair(tokenizer, prompt, continuation)
    assert context == (tokenizer.bos_token_id, *tokenizer.encode(prompt, add_special_tokens=False))
    assert tokenizer.decode(list(context[1:] + rest)) == prompt + continuation


@pytest.fixture(scope="module")
def tokenizer(engine: Engine) -> Any:
    return engine.tokenizer
