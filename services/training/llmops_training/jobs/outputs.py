"""What a finished run leaves in S3: the adapter in PEFT format (or the full model) as safetensors,
the tokenizer, the resolved config (no secrets), the metrics and the loss curve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from llmops_training.jobs.protocol import TrainPlan


def write_folder(folder: Path, model: Any, tokenizer: Any, plan: TrainPlan, metrics: dict[str, float],
                 curve: list[dict[str, float]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)  # PEFT: adapter_model.safetensors + config
    tokenizer.save_pretrained(folder)
    config = plan.model_dump(mode="json", exclude={"storage"})
    (folder / "training_config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
    (folder / "loss_curve.json").write_text(json.dumps(curve))


def upload_folder(folder: Path, uri: str, fs: pafs.FileSystem) -> list[str]:
    """Copy every file under ``folder`` to ``uri``; returns the relative paths, sorted."""
    base = uri.removeprefix("s3://").rstrip("/")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        with fs.open_output_stream(f"{base}/{path.relative_to(folder).as_posix()}") as out:
            out.write(path.read_bytes())
    return [p.relative_to(folder).as_posix() for p in files]


def download_folder(uri: str, folder: Path, fs: pafs.FileSystem) -> Path:
    """Copy every object under ``uri`` into ``folder`` (a base model's files)."""
    base = uri.removeprefix("s3://").rstrip("/")
    selector = pafs.FileSelector(base, recursive=True)
    for info in fs.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        target = folder / info.path[len(base) + 1:]
        if not target.resolve().is_relative_to(folder.resolve()):
            raise ValueError(f"object {info.path[:80]!r} would land outside the model folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        with fs.open_input_stream(info.path) as stream:
            target.write_bytes(stream.read())
    return folder
