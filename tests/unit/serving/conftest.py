"""Serving unit fixtures. Torch, transformers and PEFT are imported inside the fixtures, so tests that
do not use them (the REST API's) do not pay for the import."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llmops_common.testing.tiny_lm import build_adapter, build_base


@dataclass(frozen=True)
class TinyModels:
    """A 2-layer llama (hidden 64, context 256) with a byte-level BPE tokenizer, and LoRA adapters on
    it: ``good`` ones (a0, a1, a2) that change its output, and broken ones."""

    base: Path
    good: dict[str, Path]
    wrong_rank: Path  # the config says r=4, the tensors have r=8
    other_hidden: Path  # trained on a model of hidden size 32
    renamed_keys: Path  # the tensors' names match no module of the base


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    from safetensors.torch import load_file, save_file

    root = tmp_path_factory.mktemp("tiny-llama")
    base = build_base(root / "base")
    good = {f"a{i}": build_adapter(base, root / f"a{i}", seed=10 + i) for i in range(3)}

    build_adapter(base, root / "wrong-rank", seed=20, rank=8)
    config = json.loads((root / "wrong-rank" / "adapter_config.json").read_text())
    (root / "wrong-rank" / "adapter_config.json").write_text(json.dumps(config | {"r": 4, "lora_alpha": 8}))

    build_adapter(build_base(root / "other", hidden=32, seed=1), root / "other-hidden", seed=21)

    build_adapter(base, root / "renamed", seed=22)
    weights = load_file(root / "renamed" / "adapter_model.safetensors")
    save_file({k.replace("self_attn", "cross_attn"): v for k, v in weights.items()},
              root / "renamed" / "adapter_model.safetensors")
    return TinyModels(base, good, root / "wrong-rank", root / "other-hidden", root / "renamed")


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_models: TinyModels) -> Any:
    """The tiny model's tokenizer (byte-level BPE: one character's bytes may span several tokens)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_models.base)


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
