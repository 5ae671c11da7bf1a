"""Every RPC of the serving service, fed generated hostile requests over the wire: never UNKNOWN or
INTERNAL, never a hang, always healthy. It serves a tiny local model with an adapter (so requests
reach the engine) and follows a real registry and prompt store (so release names and prompt
references are looked up)."""

from __future__ import annotations

import json
import math

import pytest

from llmops.serving.v1 import serving_pb2 as pb
from llmops_common.testing.fuzz import LONG_TEXT, requests, rpcs
from llmops_common.testing.fuzz_runner import fuzz_rpc
from llmops_common.testing.tiny_lm import build_adapter, build_base

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
RPCS = rpcs(pb.DESCRIPTOR.services_by_name["ServingService"])


@pytest.fixture(scope="module")
def serving(fuzz_service, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz-serving-models")
    base = build_base(root / "base")
    adapter = build_adapter(base, root / "adapter", seed=1)
    registry, _ = fuzz_service("registry", "llmops_registry.main")
    prompts, _ = fuzz_service("prompts", "llmops_prompts.main")
    env = {"LLMOPS_SERVING_REGISTRY_ENDPOINT": registry.endpoint, "LLMOPS_SERVING_HTTP_PORT": "0",
           "LLMOPS_SERVING_DEVICE": "cpu", "LLMOPS_SERVING_PROMPTS_ENDPOINT": prompts.endpoint,
           "LLMOPS_SERVING_LOCAL_MODELS": json.dumps({"tiny": str(base), "tiny-a": {"path": str(adapter),
                                                                                    "base": "tiny"}})}
    target, _ = fuzz_service("serving", "llmops_serving.main", env)
    corpus = {"model": ["tiny", "tiny-a", "tiny@production", "nope/1"], "name": ["tiny@production"],
              "role": ["user", "system", "assistant"], "prompt_ref": ["nope@latest"]}
    return target, corpus


def explicit(rpc: str) -> list:
    sampling = [pb.SamplingParameters(temperature=v) for v in (math.nan, math.inf, -1.0, 1e308)] + [
        pb.SamplingParameters(max_tokens=2**31 - 1), pb.SamplingParameters(top_k=-5), pb.SamplingParameters(top_p=0),
        pb.SamplingParameters(seed=-(2**63)), pb.SamplingParameters(stop=["\x00"]),
        pb.SamplingParameters(stop=["a"] * 50), pb.SamplingParameters(logprobs=10**6),
        pb.SamplingParameters(presence_penalty=1.0), pb.SamplingParameters(min_tokens=10, max_tokens=2)]
    generate = [pb.GenerateRequest(model="tiny", prompt="hello", sampling=s) for s in sampling] + [
        pb.GenerateRequest(model=m, prompt="hello") for m in ("\x00", LONG_TEXT, "tiny/0", "a@b@c", "../x/1")] + [
        pb.GenerateRequest(model="tiny", prompt=""), pb.GenerateRequest(model="tiny"),
        pb.GenerateRequest(model="tiny", prompt="word " * 5000),
        pb.GenerateRequest(model="tiny-a", chat=pb.ChatMessages()),
        pb.GenerateRequest(model="tiny", prompt_template=pb.PromptInput(prompt_ref="x@y"))]
    examples = {"Generate": generate, "GenerateStream": generate,
                "GetDeployment": [pb.GetDeploymentRequest(name=v) for v in ("\x00", LONG_TEXT, "")]}
    return examples.get(rpc, [])


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_serving_rpc_survives_hostile_requests(serving, rpc):
    target, corpus = serving
    fuzz_rpc(target, rpc, requests(rpc, corpus), explicit=explicit(rpc.name))
