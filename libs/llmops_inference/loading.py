"""A base model and its tokenizer from a local folder: bf16 on a GPU, fp32 on the CPU; nothing is
downloaded (``local_files_only``), no remote code runs, and only safetensors weights are read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from llmops_common.errors import InvalidArgument


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def dtype_for(device: torch.device) -> torch.dtype:
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_base(folder: Path, device: torch.device) -> tuple[Any, Any]:
    """(model in eval mode on ``device``, tokenizer); InvalidArgument naming what is missing."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise InvalidArgument(f"{folder.name}: no config.json; not a model folder", field="path")
    if not any(folder.glob("*.safetensors")):
        raise InvalidArgument(f"{folder.name}: no *.safetensors weights", field="path")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, trust_remote_code=False,
                                                 use_safetensors=True, dtype=dtype_for(device))
    model.to(device)
    model.eval()
    model.requires_grad_(False)
    return model, tokenizer
