"""``llmops train`` options as training-service requests: the run spec and sweep search spaces.

Pure functions, no I/O. Bad input is ``InvalidArgument`` naming the option (``--param``,
``--learning-rate``), which the CLI prints as one line. Values the service checks against what
exists (the base model, dataset and prompt, a rank of 0, a sequence length beyond the model's) are
left to it: it knows the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.struct_pb2 import ListValue

from llmops.training.v1 import training_pb2 as pb
from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote

METHODS = {"lora": pb.TRAINING_METHOD_LORA, "full": pb.TRAINING_METHOD_FULL}
SCHEDULES = ("linear", "cosine", "constant")
GOALS = {"min": pb.GOAL_MINIMIZE, "max": pb.GOAL_MAXIMIZE}
#: ``--param`` kinds: ``choice:a,b``; ranges ``uniform|loguniform|int|logint:LOW:HIGH``
RANGE_KINDS = {"uniform": (False, False), "loguniform": (True, False), "int": (False, True), "logint": (True, True)}
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMERIC = (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_INT32,
            FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64)


def finite(value: float | None, option: str, *, positive: bool = False) -> float | None:
    """``value`` unless it is NaN or infinite (or, with ``positive``, not above 0)."""
    if value is not None and (not math.isfinite(value) or (positive and value <= 0)):
        raise InvalidArgument(f"{value} is not a finite{' positive' if positive else ''} number", field=option)
    return value


def choice(value: str, options: Iterable[str], option: str) -> str:
    options = tuple(options)
    if value not in options:
        raise InvalidArgument(f"{quote(value)} is not one of {', '.join(options)}", field=option)
    return value


def split_names(values: list[str] | None) -> list[str]:
    """Repeatable and comma-separated names (``--target-modules q_proj,v_proj``), blanks dropped."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


def _set(message: Any, **fields: Any) -> None:
    """Copy the options that were given (not None) onto ``message``."""
    for name, value in fields.items():
        if value is not None:
            setattr(message, name, value)


def build_spec(*, base: str, dataset: str, prompt: str, method: str = "lora", rank: int | None = None,
               alpha: float | None = None, dropout: float | None = None, target_modules: list[str] | None = None,
               zero_stage: int | None = None, cpu_offload: bool = False, learning_rate: float | None = None,
               schedule: str | None = None, warmup_steps: int | None = None, epochs: float | None = None,
               max_steps: int | None = None, micro_batch: int | None = None, grad_accum: int | None = None,
               max_seq_length: int | None = None, packing: bool = False, seed: int | None = None,
               eval_every: int | None = None, checkpoint_every: int | None = None, workers: int | None = None,
               gpus_per_worker: float | None = None, output_model: str | None = None) -> pb.TrainingSpec:
    """The spec the options describe; an option left out keeps the service's default (the field unset)."""
    spec = pb.TrainingSpec(base_model=base, dataset_version=dataset, prompt_version=prompt,
                           method=METHODS[choice(method, METHODS, "--method")],
                           output_model_name=output_model or "")
    finite(alpha, "--alpha")
    finite(dropout, "--dropout")
    finite(learning_rate, "--learning-rate")
    finite(epochs, "--epochs")
    finite(gpus_per_worker, "--gpus-per-worker")
    if schedule is not None:
        choice(schedule, SCHEDULES, "--schedule")
    if method == "lora":
        _set(spec.lora, r=rank, alpha=alpha, dropout=dropout)
        spec.lora.target_modules.extend(split_names(target_modules))
    elif rank is not None or alpha is not None or dropout is not None or target_modules:
        raise InvalidArgument("LoRA options (--rank, --alpha, --dropout, --target-modules) need --method lora",
                              field="--method")
    _set(spec.hyperparameters, learning_rate=learning_rate, lr_scheduler=schedule, warmup_steps=warmup_steps,
         num_epochs=epochs, max_steps=max_steps, per_device_batch_size=micro_batch,
         gradient_accumulation_steps=grad_accum, max_seq_length=max_seq_length, seed=seed,
         eval_every_steps=eval_every, checkpoint_every_steps=checkpoint_every)
    spec.hyperparameters.packing = packing
    _set(spec.distributed, num_workers=workers, deepspeed_stage=zero_stage, gpus_per_worker=gpus_per_worker)
    spec.distributed.cpu_offload = cpu_offload
    spec.distributed.use_gpu = bool(gpus_per_worker)
    return spec


# -- sweeps -----------------------------------------------------------------------------------------------


def spec_field(path: str, option: str = "--param") -> FieldDescriptor:
    """The numeric, string or boolean field of TrainingSpec a dotted path names (``lora.r``)."""
    if not _PATH.fullmatch(path):
        raise InvalidArgument(f"{quote(path)} is not a dotted field path like hyperparameters.learning_rate",
                              field=option)
    descriptor: Descriptor = pb.TrainingSpec.DESCRIPTOR
    parts = path.split(".")
    for depth, part in enumerate(parts):
        field = descriptor.fields_by_name.get(part)
        if field is None:
            known = ", ".join(sorted(descriptor.fields_by_name))
            raise InvalidArgument(f"{quote(path)}: {descriptor.name} has no field {quote(part)} (fields: {known})",
                                  field=option)
        last = depth == len(parts) - 1
        is_message = field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE
        if last and (is_message or field.is_repeated):
            raise InvalidArgument(f"{quote(path)} is not a single value that a trial can set", field=option)
        if not last:
            if not is_message or field.is_repeated:
                raise InvalidArgument(f"{quote(path)}: {part} has no fields", field=option)
            descriptor = field.message_type
    return field


def _number(text: str, path: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidArgument(f"{path}: {quote(text)} is not a finite number", field=option)
    return value


def _choice_value(text: str, field: FieldDescriptor, path: str, option: str) -> Any:
    """One ``choice`` item, typed as the field is: a number, a boolean or a string."""
    if field.cpp_type in _NUMERIC:
        value = _number(text, path, option)
        integral = field.cpp_type not in (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT)
        if integral and not value.is_integer():
            raise InvalidArgument(f"{path} takes integers, not {quote(text)}", field=option)
        return int(value) if integral else value
    if field.cpp_type == FieldDescriptor.CPPTYPE_BOOL:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise InvalidArgument(f"{path} takes true or false, not {quote(text)}", field=option)
        return lowered == "true"
    return text


def parse_param(text: str, option: str = "--param") -> pb.ParameterSpace:
    """``PATH=choice:A,B,...`` or ``PATH=KIND:LOW:HIGH`` with KIND one of uniform, loguniform, int, logint."""
    path, sep, body = text.partition("=")
    kind, _, rest = body.partition(":")
    if not sep or not kind:
        raise InvalidArgument(f"{quote(text)} is not PATH=choice:A,B or PATH=KIND:LOW:HIGH", field=option)
    path = path.strip()
    field = spec_field(path, option)
    if kind == "choice":
        items = [_choice_value(item.strip(), field, path, option) for item in rest.split(",") if item.strip()]
        if not items:
            raise InvalidArgument(f"{path}: choice needs at least one value", field=option)
        if len(set(map(repr, items))) != len(items):
            raise InvalidArgument(f"{path}: choice lists a value twice", field=option)
        choices = ListValue()
        choices.extend(items)
        return pb.ParameterSpace(path=path, choices=choices)
    if kind not in RANGE_KINDS:
        raise InvalidArgument(f"{path}: {quote(kind)} is not choice, {', '.join(RANGE_KINDS)}", field=option)
    bounds = rest.split(":")
    if len(bounds) != 2:
        raise InvalidArgument(f"{path}: {kind} needs LOW:HIGH, got {quote(rest)}", field=option)
    low, high = (_number(b, path, option) for b in bounds)
    log_scale, integer = RANGE_KINDS[kind]
    if field.cpp_type not in _NUMERIC:
        raise InvalidArgument(f"{path} is not a number; use choice", field=option)
    if not low < high:
        raise InvalidArgument(f"{path}: LOW {low:g} must be below HIGH {high:g}", field=option)
    if log_scale and low <= 0:
        raise InvalidArgument(f"{path}: a log scale needs LOW > 0, got {low:g}", field=option)
    if integer and not (low.is_integer() and high.is_integer()):
        raise InvalidArgument(f"{path}: {kind} needs integer bounds", field=option)
    return pb.ParameterSpace(path=path, range=pb.Range(min=low, max=high, log_scale=log_scale, integer=integer))


def parse_params(texts: list[str] | None, option: str = "--param") -> list[pb.ParameterSpace]:
    """Every ``--param``; at least one, each path at most once."""
    spaces = [parse_param(text, option) for text in texts or []]
    if not spaces:
        raise InvalidArgument("a sweep needs at least one, e.g. hyperparameters.learning_rate=loguniform:1e-4:1e-2",
                              field=option)
    paths = [space.path for space in spaces]
    if twice := sorted({p for p in paths if paths.count(p) > 1}):
        raise InvalidArgument(f"{', '.join(twice)} given more than once", field=option)
    return spaces


def build_sweep(base: pb.TrainingSpec, params: list[str] | None, *, trials: int, concurrent: int, objective: str,
                goal: str, margin: float, early_stopping: bool) -> pb.SweepSpec:
    if trials < 1:
        raise InvalidArgument(f"{trials} is not a positive number of trials", field="--trials")
    if concurrent < 1:
        raise InvalidArgument(f"{concurrent} is not a positive number of trials", field="--concurrent")
    finite(margin, "--margin")
    if margin < 0:
        raise InvalidArgument(f"{margin:g} is below 0", field="--margin")
    return pb.SweepSpec(base=base, parameters=parse_params(params), objective_metric=objective,
                        goal=GOALS[choice(goal, GOALS, "--goal")], max_trials=trials,
                        max_concurrent_trials=concurrent, early_stopping="asha" if early_stopping else "",
                        quality_margin=margin)
