"""The run spec: what a training run is asked to do, its defaults and its bounds.

Defaults (a field left unset, or 0 where the proto says so, takes these):

- method ``lora`` with r=8, alpha=16, dropout=0.05; empty target modules mean the model type's
  attention projections (``q_proj, v_proj`` for llama, ``query_key_value`` for gpt_neox: PEFT's
  own table, resolved by the model inspection);
- learning rate 2e-4, cosine schedule, no warm-up, weight decay 0, gradient clipping 1.0;
- micro-batch 4, gradient accumulation 1, max sequence length 256, 1 epoch (max steps > 0 wins);
- seed 0, checkpoint at each epoch's end, validation at the end only, no packing;
- 1 worker, no GPU; DeepSpeed ZeRO stage 0 (plain DDP) unless asked for: ZeRO only pays off when
  memory is short, and the proto defines 0 as "DeepSpeed off", so a default cannot mean anything else;
- precision bf16 with GPUs, fp32 without (fp16/bf16 on CPU is refused: CPU kernels train them badly).

Every number has a bound (``BOUNDS``), and errors name the field path.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from llmops_common.errors import InvalidArgument
from llmops_common.validation import check_text, fullmatch_name, parse_s3_uri, quote

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
BASE_MODEL_REF = re.compile(r"models:/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,254})"
                            r"(?:/(?P<version>[1-9][0-9]{0,17})|@(?P<alias>[A-Za-z0-9][A-Za-z0-9_-]{0,62}))")
DATASET_REF = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,127})@(?P<version>[A-Za-z0-9._-]{1,128})")
PROMPT_REF = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,254})"
                        r"(?:@(?P<label>[A-Za-z0-9_-]{1,63})|/(?P<version>[1-9][0-9]{0,8}))")
MODULE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
TAG_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
ALL_LINEAR = "all-linear"  # PEFT's own name for every linear layer but the output head
SCHEDULERS = ("linear", "cosine", "constant")
PRECISIONS = ("fp32", "bf16", "fp16")
MAX_TARGET_MODULES = 64
MAX_TAGS = 64
MAX_TAG_VALUE = 256
MAX_CODE_VERSION = 200

#: inclusive (low, high) per numeric field path
BOUNDS: dict[str, tuple[float, float]] = {
    "lora.r": (1, 1024),
    "lora.alpha": (1e-6, 1e4),
    "lora.dropout": (0.0, 0.99),
    "hyperparameters.learning_rate": (1e-12, 1.0),
    "hyperparameters.epochs": (1e-3, 1000.0),
    "hyperparameters.max_steps": (0, 10_000_000),
    "hyperparameters.micro_batch_size": (1, 4096),
    "hyperparameters.gradient_accumulation_steps": (1, 4096),
    "hyperparameters.max_seq_length": (8, 1_048_576),
    "hyperparameters.warmup_ratio": (0.0, 0.99),
    "hyperparameters.warmup_steps": (0, 10_000_000),
    "hyperparameters.weight_decay": (0.0, 10.0),
    "hyperparameters.seed": (0, 2**32 - 1),
    "hyperparameters.checkpoint_every_steps": (0, 10_000_000),
    "hyperparameters.eval_every_steps": (0, 10_000_000),
    "hyperparameters.max_grad_norm": (1e-6, 1e6),
    "distributed.workers": (1, 256),
    "distributed.gpus_per_worker": (0.0, 16.0),
    "distributed.zero_stage": (0, 3),
}


class Method(StrEnum):
    LORA = "lora"
    FULL = "full"


@dataclass(frozen=True)
class LoraSpec:
    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hyperparameters:
    learning_rate: float = 2e-4
    epochs: float = 1.0
    max_steps: int = 0
    micro_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_seq_length: int = 256
    warmup_ratio: float = 0.0
    warmup_steps: int = 0
    weight_decay: float = 0.0
    lr_scheduler: str = "cosine"
    seed: int = 0
    checkpoint_every_steps: int = 0
    eval_every_steps: int = 0
    packing: bool = False
    max_grad_norm: float = 1.0


@dataclass(frozen=True)
class Distributed:
    workers: int = 1
    use_gpu: bool = False
    gpus_per_worker: float = 0.0  # with use_gpu, 0 means 1
    zero_stage: int = 0
    cpu_offload: bool = False
    precision: str = ""  # "" means bf16 with GPUs, fp32 without


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a run; references are as the caller wrote them."""

    base_model: str
    dataset_version: str
    prompt_version: str = ""
    method: Method = Method.LORA
    lora: LoraSpec = LoraSpec()
    hyperparameters: Hyperparameters = Hyperparameters()
    distributed: Distributed = Distributed()
    output_model_name: str = ""
    code_version: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def validate(self) -> RunSpec:
        """The spec with its defaults made explicit, or InvalidArgument naming the first bad field.
        Checks that need the base model or the dataset are in ``domain.resolution``."""
        check_base_reference(self.base_model)
        check_dataset_reference(self.dataset_version)
        if self.prompt_version:
            check_prompt_reference(self.prompt_version)
        if not isinstance(self.method, Method):
            raise InvalidArgument(f"unknown method {quote(self.method)}; use lora or full", field="method")
        for path, (low, high) in BOUNDS.items():
            section, name = path.split(".")
            value = getattr(getattr(self, section), name)
            _check_number(value, path, low, high)
        hp, dist = self.hyperparameters, self.distributed
        for path, value in (("hyperparameters.packing", hp.packing), ("distributed.use_gpu", dist.use_gpu),
                            ("distributed.cpu_offload", dist.cpu_offload)):
            if not isinstance(value, bool):
                raise InvalidArgument("must be true or false", field=path)
        if len(self.lora.target_modules) > MAX_TARGET_MODULES:
            raise InvalidArgument(f"at most {MAX_TARGET_MODULES} names", field="lora.target_modules")
        for i, name in enumerate(self.lora.target_modules):
            fullmatch_name(MODULE_NAME, name, f"lora.target_modules[{i}]", "module name")
        if hp.lr_scheduler not in SCHEDULERS:
            raise InvalidArgument(f"unknown scheduler {quote(hp.lr_scheduler)}; use one of {', '.join(SCHEDULERS)}",
                                  field="hyperparameters.lr_scheduler")
        if hp.warmup_steps and hp.max_steps and hp.warmup_steps >= hp.max_steps:
            raise InvalidArgument("must be below max_steps", field="hyperparameters.warmup_steps")
        gpus = dist.gpus_per_worker or (1.0 if dist.use_gpu else 0.0)
        if gpus and not dist.use_gpu:
            raise InvalidArgument("set use_gpu to ask for GPUs", field="distributed.gpus_per_worker")
        precision = {"": "bf16" if dist.use_gpu else "fp32", "no": "fp32"}.get(dist.precision, dist.precision)
        if precision not in PRECISIONS:
            raise InvalidArgument(f"unknown precision {quote(dist.precision)}; use fp32, bf16 or fp16",
                                  field="distributed.precision")
        if precision != "fp32" and not dist.use_gpu:
            raise InvalidArgument(f"{precision} needs GPUs; train on CPU in fp32", field="distributed.precision")
        if dist.cpu_offload and dist.zero_stage == 0:
            raise InvalidArgument("CPU offload needs DeepSpeed: set zero_stage 1-3", field="distributed.cpu_offload")
        if self.output_model_name:
            fullmatch_name(MODEL_NAME, self.output_model_name, "output_model_name", "model name")
        check_text(self.code_version, "code_version", max_len=MAX_CODE_VERSION)
        _check_tags(self.tags)
        return replace(self, distributed=replace(dist, gpus_per_worker=gpus, precision=precision))

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    def get_path(self, path: str) -> Any:
        """One dotted field's value (``lora.r``)."""
        section, _, name = path.partition(".")
        return getattr(getattr(self, section), name) if name else getattr(self, section)

    def with_path(self, path: str, value: Any) -> RunSpec:
        """A copy with one dotted field (``hyperparameters.learning_rate``, ``lora.r``) set."""
        section, _, name = path.partition(".")
        if not name:
            return replace(self, **{section: value})
        return replace(self, **{section: replace(getattr(self, section), **{name: value})})


def _check_number(value: Any, path: str, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"must be a number, not {quote(value)}", field=path)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"must be a finite number, not {value!r}", field=path)
    if not low <= value <= high:
        if path in ("hyperparameters.learning_rate", "lora.alpha") and value <= 0:
            raise InvalidArgument(f"must be > 0, not {value!r}", field=path)
        raise InvalidArgument(f"must lie between {low:g} and {high:g}, not {value!r}", field=path)


def _check_tags(tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise InvalidArgument(f"at most {MAX_TAGS} tags", field="tags")
    for key, value in tags.items():
        fullmatch_name(TAG_KEY, key, "tags", "tag key")
        check_text(value, f"tags.{key}", max_len=MAX_TAG_VALUE)


def check_base_reference(ref: str) -> None:
    """``models:/name/3``, ``models:/name@alias``, or an ``s3://`` folder (a base trained from scratch)."""
    if ref.startswith("s3://"):
        parse_s3_uri(ref, "base_model", require_key=True)
    elif BASE_MODEL_REF.fullmatch(ref) is None:
        raise InvalidArgument(f"{quote(ref)} is not models:/<name>/<version>, models:/<name>@<alias> or an s3:// "
                              "folder", field="base_model")


def check_dataset_reference(ref: str) -> None:
    if DATASET_REF.fullmatch(ref) is None:
        raise InvalidArgument(f"{quote(ref)} is not <dataset>@<version>", field="dataset_version")


def check_prompt_reference(ref: str) -> None:
    if PROMPT_REF.fullmatch(ref) is None:
        raise InvalidArgument(f"{quote(ref)} is not <prompt>@<label> or <prompt>/<version>", field="prompt_version")


def spec_from_dict(data: Any, where: str = "spec") -> RunSpec:
    """A RunSpec from plain JSON (an event payload, a stored row); unknown keys are refused."""
    if not isinstance(data, dict):
        raise InvalidArgument("must be an object", field=where)
    sections = {"lora": LoraSpec, "hyperparameters": Hyperparameters, "distributed": Distributed}
    values: dict[str, Any] = {}
    known = {f for f in RunSpec.__dataclass_fields__}
    for key, value in data.items():
        if key not in known:
            raise InvalidArgument(f"unknown field {quote(key)}", field=where)
        if key in sections:
            if not isinstance(value, dict):
                raise InvalidArgument("must be an object", field=f"{where}.{key}")
            cls = sections[key]
            unknown = set(value) - set(cls.__dataclass_fields__)
            if unknown:
                raise InvalidArgument(f"unknown field {quote(sorted(unknown)[0])}", field=f"{where}.{key}")
            fields = dict(value)
            if "target_modules" in fields:
                fields["target_modules"] = tuple(_strings(fields["target_modules"], f"{where}.lora.target_modules"))
            for name, f in cls.__dataclass_fields__.items():
                if name in fields and isinstance(f.default, str) and not isinstance(fields[name], str):
                    raise InvalidArgument("must be a string", field=f"{where}.{key}.{name}")
            value = cls(**fields)
        elif key == "method":
            try:
                value = Method(value)
            except ValueError:
                raise InvalidArgument(f"unknown method {quote(value)}; use lora or full", field=f"{where}.method") \
                    from None
        elif key == "tags":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise InvalidArgument("must map strings to strings", field=f"{where}.tags")
        elif not isinstance(value, str):
            raise InvalidArgument("must be a string", field=f"{where}.{key}")
        values[key] = value
    for required in ("base_model", "dataset_version"):
        if required not in values:
            raise InvalidArgument("is required", field=f"{where}.{required}")
    return RunSpec(**values)


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument("must be a list of strings", field=where)
    return list(value)


def config_hash(spec: RunSpec, resolved: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of the spec and what its references resolved to (so the same
    spec on a moved alias hashes differently); tags and code version do not change the training."""
    body = spec.to_dict()
    for key in ("tags", "code_version", "output_model_name"):
        body.pop(key)
    canonical = json.dumps({"spec": body, "resolved": resolved}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
