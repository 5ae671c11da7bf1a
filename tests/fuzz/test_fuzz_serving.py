"""Every RPC of the serving service, fed generated hostile requests over the wire: never UNKNOWN or
INTERNAL, never a hang, always healthy. It serves a tiny local model with an adapter (so requests
reach the engine) and follows a real registry and prompt store (so release names and prompt
references are looked up)."""

from __future__ import annotations

import json
import math

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmops.serving.v1 import serving_pb2 as pb
from llmops_common.embedded import free_port
from llmops_common.testing.fuzz import LONG_TEXT, requests, rpcs
from llmops_common.testing.fuzz_runner import fuzz_rpc
from llmops_common.testing.processes import TEST_ADMIN_KEY
from llmops_common.testing.tiny_lm import build_adapter, build_base
from llmops_common.testing.waiting import wait_for_sync

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
RPCS = rpcs(pb.DESCRIPTOR.services_by_name["ServingService"])


@pytest.fixture(scope="module")
def serving(fuzz_service, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz-serving-models")
    base = build_base(root / "base")
    adapter = build_adapter(base, root / "adapter", seed=1)
    registry, _ = fuzz_service("registry", "llmops_registry.main")
    prompts, _ = fuzz_service("prompts", "llmops_prompts.main")
    http_port = free_port()
    env = {"LLMOPS_SERVING_REGISTRY_ENDPOINT": registry.endpoint, "LLMOPS_SERVING_HTTP_PORT": str(http_port),
           "LLMOPS_SERVING_DEVICE": "cpu", "LLMOPS_SERVING_PROMPTS_ENDPOINT": prompts.endpoint,
           "LLMOPS_SERVING_LOCAL_MODELS": json.dumps({"tiny": str(base), "tiny-a": {"path": str(adapter),
                                                                                    "base": "tiny"}})}
    target, _ = fuzz_service("serving", "llmops_serving.main", env)
    corpus = {"model": ["tiny", "tiny-a", "tiny@production", "nope/1"], "name": ["tiny@production"],
              "role": ["user", "system", "assistant"], "prompt_ref": ["nope@latest"]}
    target.http_url = f"http://127.0.0.1:{http_port}"
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


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.text(max_size=40), st.sampled_from(["tiny", "tiny-a", "tiny@production", "nope/1", "\x00"]))
FIELDS = st.sampled_from(["model", "messages", "prompt", "temperature", "top_p", "top_k", "max_tokens", "stop",
                          "seed", "logprobs", "top_logprobs", "stream", "n", "ignore_eos", "min_tokens", "user",
                          "stream_options", "max_completion_tokens", "presence_penalty"])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
MESSAGES = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "x"]),
                                           "content": st.one_of(st.text(max_size=60), VALUES)}), max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(["/v1/chat/completions", "/v1/completions"]),
       body=st.dictionaries(FIELDS, VALUES, max_size=8), messages=MESSAGES,
       prompt=st.one_of(st.text(max_size=80), VALUES))
def test_rest_answers_hostile_bodies_with_openai_errors(serving, route, body, messages, prompt) -> None:
    """Generated bodies against the real server: an answer or an OpenAI-shaped 4xx, never a 5xx or a
    hang; a small max_tokens keeps the valid ones quick."""
    target, _ = serving
    rest_ready(target)
    body = {"model": "tiny", "max_tokens": 4, **body}
    body.setdefault("messages" if route.endswith("chat/completions") else "prompt",
                    messages if route.endswith("chat/completions") else prompt)
    data = json.dumps(body, allow_nan=True).encode()
    reply = httpx2.post(target.http_url + route, content=data, timeout=60,
                        headers={"authorization": f"Bearer {TEST_ADMIN_KEY}", "content-type": "application/json"})
    assert reply.status_code < 500, (reply.status_code, reply.text[:300], data[:300])
    if reply.status_code >= 400:
        error = reply.json()["error"]
        assert error["message"] and error["type"], reply.text[:300]
    health = httpx2.get(target.http_url + "/health", timeout=10)
    assert health.status_code == 200, health.text[:500]


def rest_ready(target) -> None:
    """The REST API answers 200 on /health once the local models are loaded (after a start or a
    restart by the gRPC fuzz runner)."""
    def healthy() -> bool:
        return httpx2.get(target.http_url + "/health", timeout=5).status_code == 200

    wait_for_sync(healthy, 120, what="serving's REST API", retry_on=(httpx2.HTTPError,))
