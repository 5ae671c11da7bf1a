"""Llama-style base models, randomly initialised from a seed and saved as a Hugging Face folder.

Two sizes (parameter counts measured with ``count_parameters``; embeddings untied):

- ``tiny``: vocabulary 4,096, hidden 256, 6 layers, 8 heads (4 key/value heads), MLP 704,
  512 positions: **6,524,160** parameters.
- ``small``: vocabulary 16,000, hidden 640, 10 layers, 10 heads (5 key/value heads), MLP 1,728,
  1,024 positions: **65,959,040** parameters.

With the same torch and transformers versions, the same seed gives byte-identical ``model.safetensors``
(``torch.manual_seed`` before the model is built on CPU in fp32; ``save_pretrained`` writes safetensors
only, in transformers 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from llmops_training.base_models.tokenizer import save_tokenizer, train_tokenizer


@dataclass(frozen=True)
class BaseSize:
    """A model size and what it takes to bootstrap one: its corpus size and default pretraining steps."""

    vocab_size: int
    hidden_size: int
    layers: int
    heads: int
    kv_heads: int
    intermediate_size: int
    max_positions: int
    documents: int  # corpus documents: enough for the tokenizer to fill its vocabulary
    default_steps: int  # of pretraining
    learning_rate: float  # of pretraining


SIZES = {
    "tiny": BaseSize(vocab_size=4096, hidden_size=256, layers=6, heads=8, kv_heads=4, intermediate_size=704,
                     max_positions=512, documents=4000, default_steps=200, learning_rate=1e-3),
    "small": BaseSize(vocab_size=16000, hidden_size=640, layers=10, heads=10, kv_heads=5, intermediate_size=1728,
                      max_positions=1024, documents=20000, default_steps=400, learning_rate=6e-4),
}


@dataclass(frozen=True)
class BuiltModel:
    folder: Path
    parameters: int
    vocab_size: int


def llama_config(size: str) -> LlamaConfig:
    spec = SIZES[size]
    return LlamaConfig(
        vocab_size=spec.vocab_size, hidden_size=spec.hidden_size, num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads, num_key_value_heads=spec.kv_heads, intermediate_size=spec.intermediate_size,
        max_position_embeddings=spec.max_positions, tie_word_embeddings=False, dtype="float32",
    )


def count_parameters(size: str) -> int:
    """Parameters of a model of ``size``, counted without allocating its weights."""
    with torch.device("meta"):
        return sum(p.numel() for p in LlamaForCausalLM(llama_config(size)).parameters())


def build_base_model(folder: Path, documents: Sequence[str], *, size: str = "tiny", seed: int = 0) -> BuiltModel:
    """Train the tokenizer on ``documents``, build the model from ``seed`` and save both into ``folder``:
    ``config.json``, ``generation_config.json``, ``model.safetensors`` and the tokenizer files."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}")
    config = llama_config(size)
    tokenizer = train_tokenizer(documents, config.vocab_size)
    config.pad_token_id, config.bos_token_id, config.eos_token_id = (
        tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id)
    folder.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]), torch.device("cpu"):  # the caller's RNG and device are left as they were
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config).eval()
    model.save_pretrained(folder)
    save_tokenizer(tokenizer, folder, model_max_length=config.max_position_embeddings)
    return BuiltModel(folder, sum(p.numel() for p in model.parameters()), len(tokenizer))
