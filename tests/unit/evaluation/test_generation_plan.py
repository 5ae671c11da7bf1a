"""A shard plan is plain, validated data that survives JSON, and the generation modules import without
Ray or torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from llmops_evaluation.generation.plan import ModelArtifacts, ShardPlan, StorageAccess

SHA = "a" * 64
STORAGE = StorageAccess(endpoint="127.0.0.1:9000", access_key="k", secret_key="s")


def _model(**fields: object) -> ModelArtifacts:
    return ModelArtifacts(**({"role": "candidate", "model_uri": "models:/m/1", "kind": "base",
                              "artifact_uri": "s3://models/m/1", "sha256": SHA} | fields))


def test_a_plan_round_trips_through_json() -> None:
    plan = ShardPlan(shard=3, examples=(("r1", "prompt", "ref"),), storage=STORAGE, cache_dir="/tmp/c",
                     models=(_model(), _model(role="champion", kind="adapter", artifact_uri="s3://models/m/2",
                                             base_artifact_uri="s3://models/base", base_sha256="b" * 64)),
                     params={"max_tokens": 8, "temperature": 0.0, "stop": ["\n"]}, perplexity=True)
    assert ShardPlan.model_validate_json(plan.model_dump_json()) == plan
    assert plan.models[0].base_folder == ("s3://models/m/1", SHA)
    assert plan.models[1].base_folder == ("s3://models/base", "b" * 64)


@pytest.mark.parametrize("fields", [
    {"kind": "adapter"},  # no base
    {"kind": "merged", "base_artifact_uri": "s3://models/base", "base_sha256": SHA},
    {"sha256": "not-a-digest"},
    {"kind": "lora"},
    {"unknown": 1},
])
def test_bad_model_artifacts_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _model(**fields)


def test_a_plan_needs_models_with_distinct_roles() -> None:
    common = {"shard": 0, "examples": (), "params": {}, "perplexity": False, "storage": STORAGE, "cache_dir": "/c"}
    with pytest.raises(ValidationError):
        ShardPlan(models=(), **common)
    with pytest.raises(ValidationError):
        ShardPlan(models=(_model(), _model()), **common)


def test_generation_imports_neither_ray_nor_torch() -> None:
    code = ("import sys, llmops_evaluation.generation.executor, llmops_evaluation.generation.task;"
            "print(sorted(m for m in ('ray', 'torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
