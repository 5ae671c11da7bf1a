"""What a spec's references resolved to, and the checks that need them: target modules the model has,
a sequence length it can hold, and the prompt rule of the dataset's shape.

The dataset shape decides the prompt rule: instruction and chat records are rendered by a prompt
whose required variables must be fields of the shape (``instruction``/``input``; ``messages``), and
the loss is masked on what it renders; text records train on all their tokens and take no prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from llmops_common.errors import FailedPrecondition, InvalidArgument
from llmops_common.validation import quote
from llmops_training.domain.spec import ALL_LINEAR, Method, RunSpec

SHAPE_FIELDS: dict[str, tuple[str, ...]] = {"instruction": ("instruction", "input"), "chat": ("messages",),
                                            "text": ()}


@dataclass(frozen=True)
class ModelInfo:
    """A base model as its config describes it."""

    model_type: str
    module_names: frozenset[str]
    max_positions: int | None = None
    default_target_modules: tuple[str, ...] = ()

    def has_module(self, target: str) -> bool:
        """PEFT's rule: a target matches a module whose name is it or ends with ``.<target>``."""
        return target == ALL_LINEAR or any(n == target or n.endswith(f".{target}") for n in self.module_names)


@dataclass(frozen=True)
class ResolvedBase:
    reference: str  # as written
    artifact_uri: str  # S3 folder of the Hugging Face model
    version_ref: str = ""  # models:/name/3; empty for an s3:// base
    model_name: str = ""
    info: ModelInfo = field(default_factory=lambda: ModelInfo("", frozenset()))


@dataclass(frozen=True)
class ResolvedDataset:
    reference: str  # name@version
    shape: str  # instruction, chat or text
    train_uris: tuple[str, ...]
    validation_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResolvedPrompt:
    reference: str  # name/3
    template: dict[str, Any]  # templating.wire.template_to_wire
    required_variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolution:
    base: ResolvedBase
    dataset: ResolvedDataset
    prompt: ResolvedPrompt | None = None

    def lineage(self) -> dict[str, str]:
        """What the run's config hash and lineage record of its inputs."""
        return {"base_model_version": self.base.version_ref, "base_uri": self.base.artifact_uri,
                "dataset_version": self.dataset.reference,
                "prompt_version": self.prompt.reference if self.prompt else ""}


def check_against(spec: RunSpec, resolved: Resolution) -> RunSpec:
    """The spec with the model's default target modules filled in, or the error naming the field."""
    info = resolved.base.info
    if spec.method is Method.LORA:
        targets = spec.lora.target_modules or info.default_target_modules
        if not targets:
            raise InvalidArgument(f"model type {quote(info.model_type)} has no default LoRA targets; name them",
                                  field="lora.target_modules")
        for i, target in enumerate(spec.lora.target_modules):
            if not info.has_module(target):
                raise InvalidArgument(f"the base model has no module {quote(target)}",
                                      field=f"lora.target_modules[{i}]")
        spec = replace(spec, lora=replace(spec.lora, target_modules=tuple(targets)))
    length = spec.hyperparameters.max_seq_length
    if info.max_positions and length > info.max_positions:
        raise InvalidArgument(f"{length} is beyond the base model's {info.max_positions} positions",
                              field="hyperparameters.max_seq_length")
    _check_prompt(spec, resolved)
    return spec


def _check_prompt(spec: RunSpec, resolved: Resolution) -> None:
    shape = resolved.dataset.shape
    fields = SHAPE_FIELDS.get(shape)
    if fields is None:
        raise FailedPrecondition(f"dataset {quote(resolved.dataset.reference)} has shape {quote(shape)}, which "
                                 "training does not read", field="dataset_version")
    if not fields:
        if spec.prompt_version:
            raise InvalidArgument("text datasets train on their text as it is; leave the prompt empty",
                                  field="prompt_version")
        return
    if resolved.prompt is None:
        raise InvalidArgument(f"{shape} datasets need a prompt that renders each record", field="prompt_version")
    extra = [v for v in resolved.prompt.required_variables if v not in fields]
    if extra:
        raise FailedPrecondition(
            f"prompt {quote(resolved.prompt.reference)} requires {', '.join(map(repr, extra))}, which {shape} records "
            f"do not have (they have {', '.join(fields)})", field="prompt_version")
