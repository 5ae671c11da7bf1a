"""The optimiser side of a worker: DistributedDataParallel (ZeRO stage 0) or DeepSpeed (stages 1-3,
optionally offloading optimizer state to CPU). Both step on an accumulated micro-batch, clip,
schedule the learning rate, and save or restore everything a resumed run needs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from transformers import get_scheduler

from llmops_training.jobs.protocol import Distributed, Hyperparameters

_STATE = "state.pt"


def _optimizer(model: torch.nn.Module, hp: Hyperparameters) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=hp.learning_rate, weight_decay=hp.weight_decay)


def _scheduler(optimizer: torch.optim.Optimizer, hp: Hyperparameters, total_steps: int) -> Any:
    warmup = hp.warmup_steps or int(hp.warmup_ratio * total_steps)
    return get_scheduler(hp.lr_scheduler, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


class DdpEngine:
    """Plain PyTorch: Ray Train's ``prepare_model`` (DDP when there is more than one worker)."""

    def __init__(self, model: torch.nn.Module, hp: Hyperparameters, total_steps: int, distributed: bool) -> None:
        self.hp = hp
        self.module = model
        if distributed:
            from ray.train.torch import prepare_model

            self.model = prepare_model(model)
        else:
            self.model = model
        self.optimizer = _optimizer(model, hp)
        self.scheduler = _scheduler(self.optimizer, hp, total_steps)
        self._accumulated = 0

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def backward(self, loss: torch.Tensor) -> bool:
        """Accumulate one micro-batch; step when the accumulation is complete. True if it stepped."""
        (loss / self.hp.gradient_accumulation_steps).backward()
        self._accumulated += 1
        if self._accumulated < self.hp.gradient_accumulation_steps:
            return False
        torch.nn.utils.clip_grad_norm_([p for p in self.module.parameters() if p.requires_grad],
                                       self.hp.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._accumulated = 0
        return True

    @property
    def learning_rate(self) -> float:
        return float(self.scheduler.get_last_lr()[0])

    def trainable_state(self) -> dict[str, torch.Tensor]:
        names = {n for n, p in self.module.named_parameters() if p.requires_grad}
        return {k: v for k, v in self.module.state_dict().items() if k in names}

    def save(self, folder: Path, rank: int, client_state: dict[str, Any]) -> None:
        if rank == 0:
            torch.save({"model": self.trainable_state(), "optimizer": self.optimizer.state_dict(),
                        "scheduler": self.scheduler.state_dict(), "client": client_state}, folder / _STATE)

    def load(self, folder: Path) -> dict[str, Any]:
        state = torch.load(folder / _STATE, map_location=self.device, weights_only=False)
        self.module.load_state_dict(state["model"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        return state["client"]

    def gathered(self) -> Any:
        """A context in which ``self.module`` holds full weights on every rank (always, for DDP)."""
        import contextlib

        return contextlib.nullcontext()


class DeepSpeedEngine:
    """DeepSpeed ZeRO: the model, our AdamW and scheduler handed to ``deepspeed.initialize``."""

    def __init__(self, model: torch.nn.Module, hp: Hyperparameters, dist: Distributed, total_steps: int) -> None:
        import deepspeed

        self.hp, self.stage = hp, dist.zero_stage
        zero: dict[str, Any] = {"stage": dist.zero_stage}
        if dist.cpu_offload:
            zero["offload_optimizer"] = {"device": "cpu"}
        config = {
            "train_micro_batch_size_per_gpu": hp.micro_batch_size,
            "gradient_accumulation_steps": hp.gradient_accumulation_steps,
            "gradient_clipping": hp.max_grad_norm,
            "zero_optimization": zero,
            "bf16": {"enabled": dist.precision == "bf16"},
            "fp16": {"enabled": dist.precision == "fp16"},
            "zero_allow_untested_optimizer": True,
            "zero_force_ds_cpu_optimizer": False,  # torch's AdamW with offload: no C++ build at start
            "steps_per_print": 1 << 30,
            "wall_clock_breakdown": False,
        }
        optimizer = _optimizer(model, hp)
        scheduler = _scheduler(optimizer, hp, total_steps)
        self.model, self.optimizer, _, self.scheduler = deepspeed.initialize(
            model=model, optimizer=optimizer, lr_scheduler=scheduler, config=config)
        self.module = self.model.module

    @property
    def device(self) -> torch.device:
        return self.model.device

    def backward(self, loss: torch.Tensor) -> bool:
        self.model.backward(loss)
        stepped = self.model.is_gradient_accumulation_boundary()
        self.model.step()
        return stepped

    @property
    def learning_rate(self) -> float:
        return float(self.model.get_lr()[0])

    def save(self, folder: Path, rank: int, client_state: dict[str, Any]) -> None:
        self.model.save_checkpoint(str(folder), tag="ckpt", client_state={"client": client_state})

    def load(self, folder: Path) -> dict[str, Any]:
        _, state = self.model.load_checkpoint(str(folder), tag="ckpt")
        return state["client"]

    def gathered(self) -> Any:
        import contextlib

        if self.stage < 3:
            return contextlib.nullcontext()
        import deepspeed

        return deepspeed.zero.GatheredParameters(list(self.module.parameters()), modifier_rank=None)


def build_engine(model: torch.nn.Module, hp: Hyperparameters, dist: Distributed, total_steps: int,
                 world: int) -> DdpEngine | DeepSpeedEngine:
    if dist.zero_stage == 0:
        if world == 1 and dist.use_gpu and torch.cuda.is_available():
            model.to("cuda")  # prepare_model places the model only when there is a process group
        return DdpEngine(model, hp, total_steps, distributed=world > 1)
    os.environ.setdefault("DS_ACCELERATOR", "cuda" if dist.use_gpu else "cpu")
    return DeepSpeedEngine(model, hp, dist, total_steps)
