"""What a succeeded run registers: its output as a model version, with complete lineage.

LoRA runs register an ``adapter`` on their base version; full runs a ``base`` (a full model, e.g. one
pretrained from random init). The request id is the run id, so registering twice creates one version.
Without ``output_model_name`` the version goes under ``<base model>-<method>`` (or the run's name for
an ``s3://`` base).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmops_training.domain.run import Run
from llmops_training.domain.spec import Method


@dataclass(frozen=True)
class Registration:
    model_name: str
    artifact_uri: str
    kind: str  # "adapter" or "base"
    base_model_version: str
    request_id: str
    dataset_versions: tuple[str, ...]
    prompt_version: str
    training_run_id: str
    code_version: str
    config_hash: str
    tags: dict[str, str] = field(default_factory=dict)


def output_model_name(run: Run) -> str:
    if run.spec.output_model_name:
        return run.spec.output_model_name
    base = run.resolved.get("base_model_version", "")
    if base.startswith("models:/"):
        return f"{base.removeprefix('models:/').rsplit('/', 1)[0]}-{run.spec.method.value}"[:255]
    return run.name or f"run-{run.run_id}"


def registration_for(run: Run, code_version: str = "") -> Registration:
    """What ``run`` registers; ``code_version`` stands in when the spec names none (the service's own)."""
    lora = run.spec.method is Method.LORA
    return Registration(
        model_name=output_model_name(run), artifact_uri=run.output_uri, kind="adapter" if lora else "base",
        base_model_version=run.resolved.get("base_model_version", "") if lora else "",
        request_id=run.run_id, dataset_versions=(run.resolved.get("dataset_version", run.spec.dataset_version),),
        prompt_version=run.resolved.get("prompt_version", ""), training_run_id=run.run_id,
        code_version=run.spec.code_version or code_version, config_hash=run.config_hash,
        tags={**run.spec.tags, "seed": str(run.spec.hyperparameters.seed), "method": run.spec.method.value},
    )
