"""Model inspection: what a base model in S3 is, from its ``config.json`` alone.

The module names come from building the model on the meta device with transformers (no weights are
read or allocated), once per URI, in a worker thread; the default LoRA targets from PEFT's own
table of model types.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from llmops_common.errors import FailedPrecondition, NotFound
from llmops_common.storage import ArtifactStore
from llmops_common.validation import quote
from llmops_training.domain.resolution import ModelInfo

MAX_CONFIG_BYTES = 1024 * 1024
MAX_LAYERS = 1024  # a config asking for more is refused rather than built
POSITION_KEYS = ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length")
LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers")


def describe_config(config: dict[str, Any], where: str) -> ModelInfo:
    """ModelInfo of a Hugging Face causal-LM config (builds it on the meta device)."""
    import torch
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as DEFAULT_TARGETS
    from transformers import AutoConfig, AutoModelForCausalLM

    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        raise FailedPrecondition(f"{where}/config.json names no model_type", field="base_model")
    layers = next((config[k] for k in LAYER_KEYS if isinstance(config.get(k), int)), 0)
    if layers > MAX_LAYERS:
        raise FailedPrecondition(f"{where}/config.json asks for {layers} layers (at most {MAX_LAYERS})",
                                 field="base_model")
    try:
        hf_config = AutoConfig.for_model(**config)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(hf_config)
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise FailedPrecondition(f"{where} is not a causal LM transformers can build: {str(exc)[:200]}",
                                 field="base_model") from None
    names = frozenset(n for n, _ in model.named_modules() if n)
    positions = next((int(v) for k in POSITION_KEYS if isinstance(v := getattr(hf_config, k, None), int) and v > 0),
                     None)
    return ModelInfo(model_type, names, positions, tuple(DEFAULT_TARGETS.get(model_type, ())))


class ModelInspector:
    """ModelInfo per base-model URI, cached (a stored version is immutable)."""

    def __init__(self, artifacts: ArtifactStore) -> None:
        self.artifacts = artifacts
        self._cache: dict[str, ModelInfo] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def inspect(self, uri: str) -> ModelInfo:
        if uri in self._cache:
            return self._cache[uri]
        async with self._locks.setdefault(uri, asyncio.Lock()):
            if uri not in self._cache:
                self._cache[uri] = await asyncio.to_thread(self._inspect, uri)
        return self._cache[uri]

    def _inspect(self, uri: str) -> ModelInfo:
        folder = uri.rstrip("/")
        try:
            stat = self.artifacts.stat(f"{folder}/config.json")
            if stat.size > MAX_CONFIG_BYTES:
                raise FailedPrecondition(f"{folder}/config.json is {stat.size} bytes (at most {MAX_CONFIG_BYTES})",
                                         field="base_model")
            raw = self.artifacts.get_bytes(f"{folder}/config.json")
        except NotFound:
            raise FailedPrecondition(f"the base model at {quote(folder, 120)} has no config.json",
                                     field="base_model") from None
        try:
            config = json.loads(raw)
        except ValueError:
            raise FailedPrecondition(f"{folder}/config.json is not JSON", field="base_model") from None
        if not isinstance(config, dict):
            raise FailedPrecondition(f"{folder}/config.json is not an object", field="base_model")
        return describe_config(config, folder)
