"""The run spec: defaults, bounds with the field path named, and the config hash."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops_common.errors import InvalidArgument
from llmops_training.domain.spec import (
    Distributed,
    Hyperparameters,
    LoraSpec,
    Method,
    RunSpec,
    config_hash,
    spec_from_dict,
)

BASE = RunSpec("models:/tiny/1", "qa@v1", "qa@latest")


def test_defaults_are_the_documented_ones():
    spec = BASE.validate()
    assert (spec.method, spec.lora.r, spec.lora.alpha, spec.lora.dropout) == (Method.LORA, 8, 16.0, 0.05)
    hp = spec.hyperparameters
    assert (hp.learning_rate, hp.micro_batch_size, hp.gradient_accumulation_steps, hp.max_seq_length,
            hp.lr_scheduler, hp.seed) == (2e-4, 4, 1, 256, "cosine", 0)
    assert (spec.distributed.workers, spec.distributed.zero_stage, spec.distributed.precision) == (1, 0, "fp32")
    gpu = replace(BASE, distributed=Distributed(use_gpu=True)).validate()
    assert (gpu.distributed.precision, gpu.distributed.gpus_per_worker) == ("bf16", 1.0)


@pytest.mark.parametrize(("spec", "field"), [
    (replace(BASE, hyperparameters=Hyperparameters(learning_rate=0.0)), "hyperparameters.learning_rate"),
    (replace(BASE, hyperparameters=Hyperparameters(learning_rate=-1e-3)), "hyperparameters.learning_rate"),
    (replace(BASE, hyperparameters=Hyperparameters(learning_rate=math.nan)), "hyperparameters.learning_rate"),
    (replace(BASE, lora=LoraSpec(r=0)), "lora.r"),
    (replace(BASE, lora=LoraSpec(dropout=1.5)), "lora.dropout"),
    (replace(BASE, lora=LoraSpec(target_modules=("q_proj\n",))), "lora.target_modules[0]"),
    (replace(BASE, hyperparameters=Hyperparameters(max_steps=-1)), "hyperparameters.max_steps"),
    (replace(BASE, hyperparameters=Hyperparameters(max_steps=10**12)), "hyperparameters.max_steps"),
    (replace(BASE, hyperparameters=Hyperparameters(epochs=math.inf)), "hyperparameters.epochs"),
    (replace(BASE, hyperparameters=Hyperparameters(max_seq_length=2**40)), "hyperparameters.max_seq_length"),
    (replace(BASE, hyperparameters=Hyperparameters(lr_scheduler="wavy")), "hyperparameters.lr_scheduler"),
    (replace(BASE, distributed=Distributed(workers=0)), "distributed.workers"),
    (replace(BASE, distributed=Distributed(workers=10_000)), "distributed.workers"),
    (replace(BASE, distributed=Distributed(zero_stage=4)), "distributed.zero_stage"),
    (replace(BASE, distributed=Distributed(precision="bf16")), "distributed.precision"),
    (replace(BASE, distributed=Distributed(precision="fp16")), "distributed.precision"),
    (replace(BASE, distributed=Distributed(cpu_offload=True)), "distributed.cpu_offload"),
    (replace(BASE, distributed=Distributed(gpus_per_worker=1)), "distributed.gpus_per_worker"),
    (replace(BASE, base_model="models:/x/../y"), "base_model"),
    (replace(BASE, base_model="s3://llmops-models"), "base_model"),
    (replace(BASE, dataset_version="qa"), "dataset_version"),
    (replace(BASE, prompt_version="qa"), "prompt_version"),
    (replace(BASE, output_model_name="a b"), "output_model_name"),
    (replace(BASE, code_version="x" * 500), "code_version"),
    (replace(BASE, tags={"k": "\x00"}), "tags.k"),
])
def test_a_bad_field_is_invalid_argument_naming_it(spec, field):
    with pytest.raises(InvalidArgument) as err:
        spec.validate()
    assert err.value.field == field


def test_spec_round_trips_through_json_and_refuses_unknown_keys():
    spec = replace(BASE, lora=LoraSpec(r=4, target_modules=("q_proj",)), tags={"team": "a"}).validate()
    assert spec_from_dict(spec.to_dict()) == spec
    with pytest.raises(InvalidArgument) as err:
        spec_from_dict({**spec.to_dict(), "surprise": 1})
    assert err.value.field == "spec"
    with pytest.raises(InvalidArgument) as err:
        spec_from_dict({"base_model": "models:/a/1", "dataset_version": "d@1", "lora": {"rank": 3}})
    assert err.value.field == "spec.lora"
    with pytest.raises(InvalidArgument) as err:
        spec_from_dict({"dataset_version": "d@1"})
    assert err.value.field == "spec.base_model"


@given(st.floats(min_value=1e-6, max_value=1.0), st.integers(min_value=0, max_value=2**32 - 1))
def test_config_hash_depends_on_training_inputs_not_tags(lr, seed):
    spec = replace(BASE, hyperparameters=Hyperparameters(learning_rate=lr, seed=seed))
    resolved = {"base_model_version": "models:/tiny/1"}
    same = config_hash(replace(spec, tags={"x": "y"}, code_version="abc"), resolved)
    assert config_hash(spec, resolved) == same
    other_seed = replace(spec, hyperparameters=replace(spec.hyperparameters, seed=(seed + 1) % 2**32))
    assert config_hash(other_seed, resolved) != same
    assert config_hash(spec, {"base_model_version": "models:/tiny/2"}) != same
