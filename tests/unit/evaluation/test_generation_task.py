"""``generate_shard`` in-process on a tiny llama and LoRA adapters: batched outputs equal one-at-a-time
``generate`` for each role, per-example failures are recorded, sampling is seeded per example, and
perplexity is the reference's likelihood. The folders sit in the cache under their digests, where
``fetch_verified`` finds them without S3 (the download path is the integration test's)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from llmops_common.errors import FailedPrecondition
from llmops_common.testing.tiny_lm import build_adapter, build_base
from llmops_evaluation.domain.results import Generation
from llmops_evaluation.generation.plan import ModelArtifacts, ShardPlan, StorageAccess
from llmops_evaluation.generation.task import WALL_KEY, generate_shard

EXAMPLES = (("r0", "the quick brown", " fox"), ("r1", "é ü 漢字", " lazy dog"), ("r2", "", "the quick brown fox"),
            ("r3", "fox jumps over the lazy dog 3", " 21"), ("r4", "the", " quick"))
STORAGE = StorageAccess(endpoint="127.0.0.1:1", access_key="k", secret_key="s")  # never reached
BASE_SHA, A0_SHA, A1_SHA, BROKEN_SHA = "0" * 64, "1" * 64, "2" * 64, "3" * 64
GREEDY = {"max_tokens": 12, "temperature": 0.0, "top_p": 1.0, "top_k": 0, "seed": 0, "stop": []}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shard-models")
    base = build_base(root / "base")
    build_adapter(base, root / "a0", seed=5)
    build_adapter(base, root / "a1", seed=6)
    cache = root / "cache"
    for name, sha in (("base", BASE_SHA), ("a0", A0_SHA), ("a1", A1_SHA)):
        shutil.copytree(root / name, cache / sha)
    (cache / BROKEN_SHA).mkdir()
    (cache / BROKEN_SHA / "weights.bin").write_bytes(b"not a model")
    return cache


def _base(role: str = "base", sha: str = BASE_SHA) -> ModelArtifacts:
    return ModelArtifacts(role=role, model_uri=f"models:/{role}/1", kind="base", artifact_uri=f"s3://m/{role}",
                          sha256=sha)


def _adapter(role: str, sha: str, base_sha: str = BASE_SHA) -> ModelArtifacts:
    return ModelArtifacts(role=role, model_uri=f"models:/{role}/1", kind="adapter", artifact_uri=f"s3://m/{role}",
                          sha256=sha, base_artifact_uri="s3://m/base", base_sha256=base_sha)


def _plan(cache: Path, models: tuple[ModelArtifacts, ...], examples: tuple = EXAMPLES, params: dict | None = None,
          perplexity: bool = False, max_batch: int = 64) -> ShardPlan:
    return ShardPlan(shard=0, examples=examples, models=models, params=params or GREEDY, perplexity=perplexity,
                     storage=STORAGE, cache_dir=str(cache), max_batch=max_batch)


def _hf_greedy(cache: Path, adapter_sha: str | None, prompt: str, max_new_tokens: int) -> str:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(cache / BASE_SHA)
    model = AutoModelForCausalLM.from_pretrained(cache / BASE_SHA, local_files_only=True).eval()
    if adapter_sha is not None:
        model = PeftModel.from_pretrained(model, cache / adapter_sha).eval()
    ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer.encode(prompt, add_special_tokens=False)]])
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                             do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def _gens(result: dict[str, Any], role: str) -> list[Generation]:
    return [Generation(**g) for g in result[role]]


def test_every_role_gets_its_own_models_greedy_output_in_example_order(cache: Path) -> None:
    result = generate_shard(_plan(cache, (_base(), _adapter("a0", A0_SHA), _adapter("a1", A1_SHA)), max_batch=4))
    assert set(result) == {"base", "a0", "a1", WALL_KEY}
    for role, sha in (("base", None), ("a0", A0_SHA), ("a1", A1_SHA)):
        gens = _gens(result, role)
        assert [g.record_id for g in gens] == [e[0] for e in EXAMPLES]
        for (_, prompt, _), g in zip(EXAMPLES, gens, strict=True):
            assert not g.error and g.output == _hf_greedy(cache, sha, prompt, 12)
            assert g.finish_reason in ("stop", "length") and 1 <= g.output_tokens <= 12 and g.latency_ms > 0
            assert g.reference_nll is None
        assert result[WALL_KEY][role] > 0 and max(g.latency_ms for g in gens) <= result[WALL_KEY][role] * 1000 + 1
    assert [g.output for g in _gens(result, "a0")] != [g.output for g in _gens(result, "a1")]


def test_a_prompt_that_fills_the_context_fails_only_its_example_and_max_tokens_is_cut_to_the_room(
        cache: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(cache / BASE_SHA)
    near_full = next(p for n in range(100, 400) if len(tokenizer.encode(p := "fox " * n)) >= 245)
    examples = (("long", "the quick brown fox " * 200, ""), ("near", near_full, ""), ("ok", "the quick", " brown"))
    result = generate_shard(_plan(cache, (_base(), _adapter("a0", A0_SHA)), examples,
                                  params=GREEDY | {"max_tokens": 64}))
    for role in ("base", "a0"):
        long, near, ok = _gens(result, role)
        assert "leaves no room" in long.error and long.output == "" and long.prompt_tokens >= 256
        assert not near.error and near.prompt_tokens + near.output_tokens <= 256 and near.output_tokens <= 11
        assert not ok.error and ok.output


def test_sampling_is_seeded_per_example_whatever_the_sharding(cache: Path) -> None:
    sampled = GREEDY | {"temperature": 1.0, "seed": 7, "max_tokens": 16}
    together = _gens(generate_shard(_plan(cache, (_adapter("a0", A0_SHA),), params=sampled)), "a0")
    apart = [_gens(generate_shard(_plan(cache, (_adapter("a0", A0_SHA),), (e,), params=sampled)), "a0")[0]
             for e in reversed(EXAMPLES)]
    assert [g.output for g in together] == [g.output for g in reversed(apart)]
    other = _gens(generate_shard(_plan(cache, (_adapter("a0", A0_SHA),), params=sampled | {"seed": 8})), "a0")
    assert [g.output for g in other] != [g.output for g in together]


def test_perplexity_is_the_references_likelihood_under_each_model(cache: Path) -> None:
    from llmops_inference.engine import Engine
    from llmops_inference.scoring import ScoreRequest, split_pair

    result = generate_shard(_plan(cache, (_base(), _adapter("a1", A1_SHA)), perplexity=True))
    engine = Engine.from_folder(cache / BASE_SHA, device="cpu")
    engine.load_adapter("a1", cache / A1_SHA)
    try:
        for role, adapter in (("base", None), ("a1", "a1")):
            expected = engine.score([ScoreRequest(*split_pair(engine.tokenizer, p, r), adapter)
                                     for _, p, r in EXAMPLES])
            for g, score in zip(_gens(result, role), expected, strict=True):
                assert score is not None and g.reference_tokens == score.tokens > 0
                assert g.reference_nll == pytest.approx(score.nll, abs=1e-4)
    finally:
        engine.close()


def test_a_model_that_cannot_load_fails_the_shard_naming_its_role(cache: Path) -> None:
    with pytest.raises(FailedPrecondition, match="model champion cannot load its base model.*config.json"):
        generate_shard(_plan(cache, (_base(), _base("champion", BROKEN_SHA))))
    with pytest.raises(FailedPrecondition, match="model broken cannot load its adapter"):
        generate_shard(_plan(cache, (_adapter("a0", A0_SHA), _adapter("broken", BASE_SHA))))


def test_an_empty_shard_loads_nothing(cache: Path) -> None:
    result = generate_shard(_plan(cache, (_base("x", "f" * 64),), examples=()))
    assert result == {"x": [], WALL_KEY: {"x": 0.0}}
