"""Serving unit fixtures. Torch, transformers and PEFT are imported inside the fixtures, so tests that
do not use them (the REST API's) do not pay for the import."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TRAINING_LINES = [f"the quick brown fox jumps over the lazy dog {i} é ü 漢字" for i in range(200)]


@dataclass(frozen=True)
class TinyModels:
    """A 2-layer llama (hidden 64, context 256) with a byte-level BPE tokenizer, and LoRA adapters on
    it: ``good`` ones (a0, a1, a2) that change its output, and broken ones."""

    base: Path
    good: dict[str, Path]
    wrong_rank: Path  # the config says r=4, the tensors have r=8
    other_hidden: Path  # trained on a model of hidden size 32
    renamed_keys: Path  # the tensors' names match no module of the base


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TRAINING_LINES, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")


def _llama(vocab: int, hidden: int) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        bos_token_id=0, eos_token_id=1, pad_token_id=2))


def _adapter(base: Any, folder: Path, seed: int, rank: int = 4) -> None:
    """A LoRA adapter whose B matrices are random (PEFT's init makes them zero: no effect)."""
    import copy

    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    model = get_peft_model(copy.deepcopy(base), LoraConfig(r=rank, target_modules=["q_proj", "v_proj"],
                                                           init_lora_weights=False))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    model.save_pretrained(folder)


@pytest.fixture(scope="session")
def tiny_tokenizer() -> Any:
    """The tiny model's tokenizer (byte-level BPE: one character's bytes may span several tokens)."""
    return _tokenizer()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory, tiny_tokenizer: Any) -> TinyModels:
    import torch
    from safetensors.torch import load_file, save_file

    root = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = tiny_tokenizer
    torch.manual_seed(0)
    base = _llama(tokenizer.vocab_size, 64)
    base.save_pretrained(root / "base")
    tokenizer.save_pretrained(root / "base")
    good = {f"a{i}": root / f"a{i}" for i in range(3)}
    for i, folder in enumerate(good.values()):
        _adapter(base, folder, seed=10 + i)

    _adapter(base, root / "wrong-rank", seed=20, rank=8)
    config = json.loads((root / "wrong-rank" / "adapter_config.json").read_text())
    (root / "wrong-rank" / "adapter_config.json").write_text(json.dumps(config | {"r": 4, "lora_alpha": 8}))

    torch.manual_seed(1)
    _adapter(_llama(tokenizer.vocab_size, 32), root / "other-hidden", seed=21)

    _adapter(base, root / "renamed", seed=22)
    weights = load_file(root / "renamed" / "adapter_model.safetensors")
    save_file({k.replace("self_attn", "cross_attn"): v for k, v in weights.items()},
              root / "renamed" / "adapter_model.safetensors")
    return TinyModels(root / "base", good, root / "wrong-rank", root / "other-hidden", root / "renamed")


@pytest.fixture(scope="session")
def shared_engine(tiny_models: TinyModels) -> Iterator[Any]:
    """One started engine on the tiny base with adapters a0 and a1 loaded; tests must leave it so."""
    from llmops_inference.engine import Engine

    engine = Engine.from_folder(tiny_models.base, device="cpu", max_batch=16, name="unit-shared")
    for name in ("a0", "a1"):
        engine.load_adapter(name, tiny_models.good[name])
    engine.start()
    yield engine
    engine.close()


@pytest.fixture
def make_engine(tiny_models: TinyModels) -> Iterator[Callable[..., Any]]:
    """``make_engine(name, adapters=(...), start=True, **options)``: a fresh engine of its own, closed
    after the test."""
    from llmops_inference.engine import Engine

    made: list[Any] = []

    def make(name: str, adapters: tuple[str, ...] = (), start: bool = True, **options: Any) -> Any:
        engine = Engine.from_folder(tiny_models.base, device="cpu", name=name, **options)
        made.append(engine)
        for adapter in adapters:
            engine.load_adapter(adapter, tiny_models.good[adapter])
        return engine.start() if start else engine

    yield make
    for engine in made:
        engine.close()
