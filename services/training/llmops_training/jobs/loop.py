"""The training loop of one worker, shared by Ray Train runs (one process per worker, DDP or
DeepSpeed across them) and sweep trials (one process, no process group).

It loads the base from S3, applies LoRA (or trains every weight for ``full``), builds the examples,
and steps through a seeded batch order, so a run resumed from a checkpoint continues exactly where
the checkpoint was taken: same step numbers, same batches, the loss curve carried in the checkpoint.
A loss that is not finite or exceeds the plan's limit stops every rank at the same step (the loss is
averaged across ranks first) and fails the run with that step and reason.
"""

from __future__ import annotations

import contextlib
import math
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.distributed as torch_dist

from llmops_training.jobs import data, engines, outputs
from llmops_training.jobs.protocol import TrainPlan
from llmops_training.jobs.s3fs import s3_filesystem


class Hooks(Protocol):
    """Where a worker's loop reports; rank 0's reports are the run's."""

    def event(self, kind: str, **fields: Any) -> None: ...

    def checkpoint(self, step: int, folder: Path, metrics: dict[str, float]) -> str: ...

    def evaluated(self, step: int, metrics: dict[str, float]) -> None: ...


class LossDiverged(Exception):
    def __init__(self, step: int, reason: str) -> None:
        super().__init__(reason)
        self.step, self.reason = step, reason


def _distributed() -> bool:
    return torch_dist.is_available() and torch_dist.is_initialized()


def _reduce(values: list[float], op: str = "sum") -> list[float]:
    """Sum (or max) a few scalars across ranks; identity without a process group."""
    if not _distributed():
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    torch_dist.all_reduce(tensor, op=torch_dist.ReduceOp.MAX if op == "max" else torch_dist.ReduceOp.SUM)
    return tensor.tolist()


def _peak_memory_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def load_model(plan: TrainPlan, folder: Path) -> tuple[Any, Any]:
    """The base from ``folder`` (downloaded from S3), with LoRA applied for ``lora``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(plan.hyperparameters.seed)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    if plan.method == "lora":
        from peft import LoraConfig, get_peft_model

        lora = plan.lora
        model = get_peft_model(model, LoraConfig(
            r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, task_type="CAUSAL_LM",
            target_modules=list(lora.target_modules) or None))
    return model, tokenizer


class Session:
    """One worker's share of a run, from loading to the written output."""

    def __init__(self, plan: TrainPlan, rank: int, world: int, hooks: Hooks, work: Path) -> None:
        self.plan, self.rank, self.world, self.hooks, self.work = plan, rank, world, hooks, work
        self.started = time.monotonic()
        self.hp = plan.hyperparameters
        self.fs = s3_filesystem(plan.storage)
        base = outputs.download_folder(plan.base_uri, work / "base", self.fs)
        self.model, self.tokenizer = load_model(plan, base)
        self.train = self._examples(plan.data.train_uris)
        self.validation = self._examples(plan.data.validation_uris)
        if not self.train:
            raise ValueError("the dataset version has no training examples")
        self.order = data.BatchOrder(len(self.train), self.hp.micro_batch_size, world, self.hp.seed)
        per_epoch = max(1, self.order.micro_steps_per_epoch // self.hp.gradient_accumulation_steps)
        self.total_steps = self.hp.max_steps or max(1, math.ceil(self.hp.epochs * per_epoch))
        self.steps_per_epoch = per_epoch
        self.engine = engines.build_engine(self.model, self.hp, plan.distributed, self.total_steps, world)
        self.step = 0
        self.tokens = 0.0
        self.prior_compute_seconds = 0.0
        self.curve: list[dict[str, float]] = []

    def _examples(self, uris: tuple[str, ...]) -> list[data.Example]:
        records = data.read_records(uris, self.fs)
        examples = data.tokenize(records, self.plan.data, self.tokenizer, self.hp.max_seq_length)
        return data.pack(examples, self.hp.max_seq_length) if self.hp.packing else examples

    # -- checkpoints --------------------------------------------------------------------------------
    def restore(self, folder: Path) -> None:
        state = self.engine.load(folder)
        self.step, self.tokens = state["step"], state["tokens"]
        self.prior_compute_seconds = state["compute_seconds"]
        self.curve = [p for p in state["curve"] if p["step"] <= self.step]

    def _checkpoint(self) -> None:
        with tempfile.TemporaryDirectory(dir=self.work) as folder:
            state = {"step": self.step, "tokens": self.tokens, "curve": self.curve,
                     "compute_seconds": self.compute_seconds()}
            self.engine.save(Path(folder), self.rank, state)
            self.hooks.checkpoint(self.step, Path(folder), self._latest())

    # -- figures ------------------------------------------------------------------------------------
    def compute_seconds(self) -> float:
        held = self.plan.distributed.gpus_per_worker if self.plan.distributed.use_gpu else 1.0
        return self.prior_compute_seconds + (time.monotonic() - self.started) * self.world * held

    def _latest(self) -> dict[str, float]:
        return {k: v for k, v in (self.curve[-1] if self.curve else {}).items() if k != "step"}

    def validation_loss(self) -> float | None:
        self.engine.model.eval()
        total, count = 0.0, 0.0
        with torch.no_grad():
            for batch in data.validation_batches(self.validation, self.hp.micro_batch_size, self.rank, self.world):
                inputs = self._to_device(data.collate(batch, self.tokenizer.pad_token_id))
                tokens = float((inputs["labels"][:, 1:] != data.IGNORE).sum())
                total += float(self.engine.model(**inputs).loss) * tokens
                count += tokens
        self.engine.model.train()
        total, count = _reduce([total, count])
        return total / count if count else None

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.engine.device) for k, v in batch.items()}

    # -- the loop -----------------------------------------------------------------------------------
    def _micro_step(self, micro_step: int) -> tuple[float, float]:
        indices = self.order.micro_batch_at(micro_step, self.rank)
        batch = self._to_device(data.collate([self.train[i] for i in indices], self.tokenizer.pad_token_id))
        autocast = (torch.autocast("cuda", dtype=torch.bfloat16)
                    if self.plan.distributed.precision == "bf16" and isinstance(self.engine, engines.DdpEngine)
                    else contextlib.nullcontext())
        with autocast:
            loss = self.engine.model(**batch).loss
        self.engine.backward(loss)
        return float(loss.detach()), float(batch["attention_mask"].sum())

    def run(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Train from ``self.step`` to the last step; False if stopped early because ``should_stop``
        said so on any rank (every rank stops at the same step). Raises ``LossDiverged``."""
        accumulation = self.hp.gradient_accumulation_steps
        self.engine.model.train()
        step_times: list[float] = []
        last_report = 0.0
        unreported: list[dict[str, float]] = []  # the steps between two progress events
        while self.step < self.total_steps:
            began = time.monotonic()
            losses, tokens = [], 0.0
            for k in range(accumulation):
                loss, seen = self._micro_step(self.step * accumulation + k)
                losses.append(loss)
                tokens += seen
            loss_sum, tokens_all, stops = _reduce([sum(losses) / accumulation, tokens, float(should_stop())])
            if stops:
                return False
            loss = loss_sum / self.world
            self.step += 1
            self.tokens += tokens_all
            if not math.isfinite(loss) or loss > self.plan.loss_limit:
                raise LossDiverged(self.step, f"loss {'is not finite' if not math.isfinite(loss) else 'exploded'}"
                                              f" ({loss!r}) at step {self.step}")
            step_times.append(time.monotonic() - began)
            point = {"step": float(self.step), "loss": loss, "learning_rate": self.engine.learning_rate}
            if self.hp.eval_every_steps and self.step % self.hp.eval_every_steps == 0 and self.step < self.total_steps:
                val = self.validation_loss()
                if val is not None:
                    point["val_loss"] = val
                    self.hooks.evaluated(self.step, {"val_loss": val, "loss": loss})
            self.curve.append(point)
            unreported.append(point)
            recent = step_times[-20:]
            metrics = {k: v for k, v in point.items() if k != "step"} | {
                "tokens_per_s": tokens_all / max(step_times[-1], 1e-9),
                "eta_s": (self.total_steps - self.step) * sum(recent) / len(recent),
                "epoch": self.step / self.steps_per_epoch}
            now = time.monotonic()
            if now - last_report >= self.plan.progress_every_seconds or "val_loss" in point \
                    or self.step == self.total_steps:
                self.hooks.event("progress", step=self.step, metrics=metrics,
                                 data={"total_steps": self.total_steps, "points": unreported[:-1]})
                last_report = now
                unreported = []
            every = self.hp.checkpoint_every_steps or self.steps_per_epoch
            if self.step % every == 0 and self.step < self.total_steps:
                self._checkpoint()
        return True

    def finish(self) -> tuple[dict[str, float], list[str]]:
        """Final validation, metrics and, on rank 0, the output folder in S3."""
        val = self.validation_loss()
        if val is not None and self.curve:
            self.curve[-1]["val_loss"] = val
        peak = _reduce([float(_peak_memory_bytes())], op="max")[0]
        metrics = {"loss": self.curve[-1]["loss"] if self.curve else float("nan"), "steps": float(self.step),
                   "tokens": self.tokens, "compute_seconds": self.compute_seconds(), "peak_memory_bytes": peak,
                   "total_steps": float(self.total_steps)}
        if val is not None:
            metrics["val_loss"] = val
        files: list[str] = []
        with self.engine.gathered():
            if self.rank == 0 and self.plan.output_uri:
                folder = self.work / "output"
                outputs.write_folder(folder, self.engine.module, self.tokenizer, self.plan, metrics, self.curve)
                files = outputs.upload_folder(folder, self.plan.output_uri, self.fs)
        return metrics, files
