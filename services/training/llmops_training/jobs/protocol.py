"""What the training service and the jobs it runs on Ray say to each other.

A job receives a plan (plain, validated data: nothing pickled from the service) and keeps an ordered
log of events; the service polls the log with a cursor and applies each event once. Everything here
is importable without Ray or torch.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llmops_common.storage_access import StorageAccess

EventKind = Literal["started", "progress", "checkpoint", "resumed", "succeeded", "failed", "cancelled", "trial"]
TERMINAL_KINDS = frozenset({"succeeded", "failed", "cancelled"})
NAMESPACE = "llmops-training"  # the Ray namespace of every job's driver actor


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class DataPlan(_Frozen):
    """The dataset version's shards and how a record becomes (prompt, completion) text.

    ``shape`` is the ingestion shape. ``template`` (``templating.wire.template_to_wire``) renders the
    prompt part of instruction and chat records; the loss is masked on it. Text records train on all
    their tokens and take no template.
    """

    shape: Literal["instruction", "chat", "text"]
    train_uris: tuple[str, ...]
    validation_uris: tuple[str, ...] = ()
    template: dict[str, Any] | None = None


class LoraPlan(_Frozen):
    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ()


class Hyperparameters(_Frozen):
    learning_rate: float = 2e-4
    max_steps: int = 0  # > 0 wins over epochs
    epochs: float = 1.0
    micro_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_seq_length: int = 256
    warmup_steps: int = 0
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    lr_scheduler: Literal["linear", "cosine", "constant"] = "cosine"
    seed: int = 0
    checkpoint_every_steps: int = 0  # 0: at the end of each epoch
    eval_every_steps: int = 0  # 0: at the end only
    packing: bool = False
    max_grad_norm: float = 1.0


class Distributed(_Frozen):
    workers: int = 1
    use_gpu: bool = False
    gpus_per_worker: float = 0.0
    zero_stage: int = Field(default=0, ge=0, le=3)  # 0: DeepSpeed off (DDP)
    cpu_offload: bool = False
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"


class TrainPlan(_Frozen):
    """One training run, fully resolved by the service before any Ray work starts."""

    run_id: str
    base_uri: str  # S3 folder of a Hugging Face causal LM: config.json, *.safetensors, tokenizer
    data: DataPlan
    method: Literal["lora", "full"] = "lora"
    lora: LoraPlan = LoraPlan()
    hyperparameters: Hyperparameters = Hyperparameters()
    distributed: Distributed = Distributed()
    output_uri: str  # S3 folder the adapter (or full model) and its files go to
    checkpoint_uri: str  # S3 prefix for Ray Train's run storage
    storage: StorageAccess
    max_failures: int = 2  # worker-group restarts from the last checkpoint
    loss_limit: float = 1e4  # a loss above this (or not finite) fails the run
    progress_every_seconds: float = 1.0  # progress events at most this often (plus every checkpoint)


class SearchDimension(_Frozen):
    """One swept parameter: a dotted path into TrainPlan (``hyperparameters.learning_rate``,
    ``lora.r``) with discrete ``choices`` or a ``low``..``high`` range."""

    path: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log_scale: bool = False
    integer: bool = False


class SweepPlan(_Frozen):
    sweep_id: str
    base: TrainPlan  # every trial starts from it; trials do not write outputs or checkpoints
    dimensions: tuple[SearchDimension, ...]
    algorithm: Literal["grid", "random"] = "random"
    objective: str = "val_loss"
    goal: Literal["min", "max"] = "min"
    max_trials: int = 4
    max_concurrent_trials: int = 1
    early_stopping: Literal["", "asha"] = "asha"


class JobEvent(_Frozen):
    """One entry of a job's log. ``seq`` starts at 1 and has no gaps.

    - ``started``: the workers are up (``data``: ``workers``, ``total_steps``).
    - ``progress``: ``step``, ``metrics`` (loss, learning_rate, tokens_per_s, eta_s, epoch, and
      val_loss when a validation pass ran at that step), ``data.total_steps``, and ``data.points``: the
      steps since the previous progress event (each ``step``, ``loss``, ``learning_rate`` and maybe
      ``val_loss``), so the curve is complete while events stay at a bounded rate.
    - ``checkpoint``: ``step``, ``uri``.
    - ``resumed``: after a worker failure, training goes on from the checkpoint at ``step``; progress
      entries after that step are replaced by the new ones.
    - ``succeeded``: ``uri`` (the output folder), ``metrics`` (final loss, val_loss,
      compute_seconds, tokens, peak_memory_bytes, steps), ``data.files`` (relative paths).
    - ``failed``: ``message`` (the reason) and ``step`` (where it happened, 0 if before training).
    - ``cancelled``: the job stopped on request.
    - ``trial`` (sweeps): ``data`` holds ``trial`` (an index), ``parameters``, ``status`` (running,
      succeeded, stopped, failed), ``steps``; ``metrics`` the trial's latest figures (objective,
      compute_seconds, tokens, peak_memory_bytes).
    """

    seq: int
    kind: EventKind
    at: float  # unix seconds
    step: int = 0
    metrics: dict[str, float] = {}
    message: str = ""
    uri: str = ""
    data: dict[str, Any] = {}

    @property
    def terminal(self) -> bool:
        return self.kind in TERMINAL_KINDS


def driver_name(job_id: str) -> str:
    """The name of a job's detached driver actor in ``NAMESPACE``."""
    return f"llmops-job-{job_id}"
