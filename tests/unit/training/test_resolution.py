"""Checks that need the resolved references: target modules, sequence length and the prompt rule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llmops_common.errors import FailedPrecondition, InvalidArgument
from llmops_training.domain.resolution import Resolution, ResolvedBase, ResolvedDataset, ResolvedPrompt, check_against
from llmops_training.domain.spec import Hyperparameters, LoraSpec, Method, RunSpec

from .conftest import LLAMA

BASE = RunSpec("models:/tiny/1", "qa@v1", "qa@latest")


def resolution(shape: str = "instruction", prompt: ResolvedPrompt | None = None) -> Resolution:
    return Resolution(ResolvedBase("models:/tiny/1", "s3://m/tiny/1", "models:/tiny/1", "tiny", LLAMA),
                      ResolvedDataset("qa@v1", shape, ("s3://d/t",)), prompt)


PROMPT = ResolvedPrompt("qa/2", {}, ("instruction", "input"))


def test_empty_targets_take_the_model_types_defaults():
    assert check_against(BASE, resolution(prompt=PROMPT)).lora.target_modules == ("q_proj", "v_proj")


def test_targets_the_model_lacks_and_lengths_beyond_it_are_invalid():
    with pytest.raises(InvalidArgument) as err:
        check_against(replace(BASE, lora=LoraSpec(target_modules=("q_proj", "query_key_value"))),
                      resolution(prompt=PROMPT))
    assert err.value.field == "lora.target_modules[1]"
    with pytest.raises(InvalidArgument) as err:
        check_against(replace(BASE, hyperparameters=Hyperparameters(max_seq_length=4096)), resolution(prompt=PROMPT))
    assert err.value.field == "hyperparameters.max_seq_length"
    full = replace(BASE, method=Method.FULL, lora=LoraSpec(target_modules=("nothing",)))
    assert check_against(full, resolution(prompt=PROMPT)).method is Method.FULL  # LoRA settings do not apply


def test_the_dataset_shape_decides_the_prompt_rule():
    with pytest.raises(FailedPrecondition) as err:
        check_against(BASE, resolution(prompt=ResolvedPrompt("bad/1", {}, ("question",))))
    assert err.value.field == "prompt_version" and "question" in err.value.message
    with pytest.raises(InvalidArgument) as err:
        check_against(replace(BASE, prompt_version=""), resolution())
    assert err.value.field == "prompt_version"
    with pytest.raises(InvalidArgument) as err:
        check_against(BASE, resolution("text", PROMPT))
    assert err.value.field == "prompt_version"
    assert check_against(replace(BASE, prompt_version=""), resolution("text")).prompt_version == ""
    chat = ResolvedPrompt("chat/1", {}, ("messages",))
    assert check_against(BASE, resolution("chat", chat))
