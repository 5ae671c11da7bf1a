"""Every RPC of the prompt store, fed generated hostile requests (hostile templates and variables
included) over the wire: never UNKNOWN or INTERNAL, never a hang, health answered within a second
even while a render runs, nothing half-written; and each hostile template of issue 9 created and
rendered without the service holding memory afterwards."""

from __future__ import annotations

import base64
import json
import math
import uuid
from typing import Any

import psutil
import pytest
from google.protobuf.struct_pb2 import Struct

from llmops.common.v1 import common_pb2
from llmops.prompts.v1 import prompts_pb2 as pb
from llmops.prompts.v1 import prompts_pb2_grpc as pb_grpc
from llmops_common.testing.fuzz import HOSTILE_TEMPLATES, INCOMPRESSIBLE_TEXT, LONG_TEXT, requests, rpcs, templates
from llmops_common.testing.fuzz_runner import FuzzTarget, fuzz_rpc

pytestmark = pytest.mark.e2e
RPCS = rpcs(pb.DESCRIPTOR.services_by_name["PromptService"])
OVERRIDES = {"CreateVersionRequest.text": templates(), "ChatMessage.content": templates()}
#: how much more memory the service may hold after a hostile render than before it
HELD_MEMORY_BOUND = 256 * 2**20


def b64json(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def variables(**values: Any) -> Struct:
    struct = Struct()
    struct.update(values)
    return struct


@pytest.fixture(scope="module")
def prompts(fuzz_service) -> tuple[FuzzTarget, Any, dict[str, list[Any]]]:
    """The prompt store with two prompts, three versions (text, chat, a loop over viewer-supplied
    items), production and staging labels and issued page tokens."""
    target, service = fuzz_service("prompts", "llmops_prompts.main")
    run = uuid.uuid4().hex[:8]
    prompt, other = f"fz-{run}-prompt", f"fz-{run}-other"
    stub, md = pb_grpc.PromptServiceStub(target.channel), target.metadata
    q = pb.VariableSpec(name="q", type=pb.VARIABLE_TYPE_STRING, required=True)
    for name in (prompt, other):
        stub.CreatePrompt(pb.CreatePromptRequest(name=name, description="seed", tags={"team": "fz"}), metadata=md)
        stub.CreateVersion(pb.CreateVersionRequest(prompt_name=name, text="v1: {{ q }}", variables=[q],
                                                   request_id="seed-v1"), metadata=md)
    stub.CreateVersion(pb.CreateVersionRequest(
        prompt_name=prompt, chat=pb.ChatTemplate(messages=[pb.ChatMessage(role="system", content="be brief"),
                                                           pb.ChatMessage(role="user", content="{{ q }}")]),
        variables=[pb.VariableSpec(name="q", type=pb.VARIABLE_TYPE_STRING, delimiting=pb.DELIMITING_TAGGED,
                                   delimiter_tag="user_input")],
        model_config=pb.ModelConfig(model="models:/m@champion", temperature=0.2, max_tokens=64)), metadata=md)
    stub.CreateVersion(pb.CreateVersionRequest(
        prompt_name=prompt, text="{% for i in items %}{{ i }}{{ sep }}{% endfor %}",
        variables=[pb.VariableSpec(name="items", type=pb.VARIABLE_TYPE_LIST),
                   pb.VariableSpec(name="sep", type=pb.VARIABLE_TYPE_STRING)]), metadata=md)
    stub.SetLabel(pb.SetLabelRequest(prompt_name=prompt, label="production", version=1, reason="seed"), metadata=md)
    stub.SetLabel(pb.SetLabelRequest(prompt_name=prompt, label="staging", version=3), metadata=md)
    page = common_pb2.PageRequest(page_size=1)
    tokens = [stub.ListPrompts(pb.ListPromptsRequest(page=page), metadata=md).page.next_page_token,
              stub.ListVersions(pb.ListVersionsRequest(prompt_name=prompt, page=page),
                                metadata=md).page.next_page_token]
    assert all(tokens), tokens
    corpus: dict[str, list[Any]] = {
        "name": [prompt, other], "prompt_name": [prompt, other], "name_prefix": [f"fz-{run}", "fz-"],
        "label": ["production", "staging", "latest", "canary"], "version": [1, 2, 3], "from_version": [1, 2],
        "to_version": [2, 3], "variables": ["q", "items", "sep"], "tags.key": ["team"], "tags.value": ["fz"],
        "set_tags.key": ["team", "owner"], "remove_tags": ["team"], "request_id": ["seed-v1"],
        "role": ["system", "user", "assistant"], "model": ["models:/m@champion"], "delimiter_tag": ["user_input"],
        "page_token": tokens,
    }
    return target, service, corpus


def explicit(rpc: str, c: dict[str, list[Any]]) -> list[Any]:
    """The hostile inputs issue 9 names, as regression examples for ``rpc``."""
    prompt, token = c["prompt_name"][0], c["page_token"][0]
    forged = [b64json(["abc"]), b64json([1]), b64json([1, 2, 3]), b64json(["x", "abc"]), "!!!", token[:-1] + "A"]
    pages = [common_pb2.PageRequest(page_token=t) for t in forged]
    q = pb.VariableSpec(name="q", type=pb.VARIABLE_TYPE_STRING)
    examples: dict[str, list[Any]] = {
        "CreatePrompt": [pb.CreatePromptRequest(name=f"{prompt}-nul", description="a\x00b"),
                         pb.CreatePromptRequest(name=f"{prompt}-tag", tags={"k": "v\x00"}),
                         pb.CreatePromptRequest(name=f"{prompt}\n"), pb.CreatePromptRequest(name=LONG_TEXT)],
        "CreateVersion": [
            pb.CreateVersionRequest(prompt_name=prompt, text="a\x00b"),
            pb.CreateVersionRequest(prompt_name=prompt, text="{{ q }}", variables=[q], request_id="r\x00"),
            pb.CreateVersionRequest(prompt_name=prompt, text="{{ q }}", variables=[q], request_id=INCOMPRESSIBLE_TEXT),
            pb.CreateVersionRequest(prompt_name=prompt, text="{{ q }}", variables=[q], commit_message="\x00"),
            pb.CreateVersionRequest(prompt_name=prompt, text="{{ q }}",
                                    variables=[pb.VariableSpec(name="q\n", type=pb.VARIABLE_TYPE_STRING)]),
            pb.CreateVersionRequest(prompt_name=prompt, text="{{ q }}", variables=[pb.VariableSpec(
                name="q", delimiting=pb.DELIMITING_TAGGED, delimiter_tag="user_input\n")]),
            pb.CreateVersionRequest(prompt_name=prompt, text="{{ q }}",
                                    variables=[pb.VariableSpec(name="q", delimiting=2**31 - 1)]),
            pb.CreateVersionRequest(prompt_name=prompt, text="{{ q }}", variables=[pb.VariableSpec(name="q", type=-1)]),
            pb.CreateVersionRequest(prompt_name=prompt, text="plain", model_config=pb.ModelConfig(
                response_format=pb.ResponseFormat(type=99))),
            pb.CreateVersionRequest(prompt_name=prompt, text="{{ q }}", variables=[q], model_config=pb.ModelConfig(
                temperature=math.nan, top_p=math.inf, presence_penalty=-math.inf))],
        "SetLabel": [pb.SetLabelRequest(prompt_name=prompt, label=label, version=2)
                     for label in ("Production", "PRODUCTION", "production\n", "LATEST", "latest\n", "staging\n")]
        + [pb.SetLabelRequest(prompt_name=prompt, label="canary", version=1, reason="\x00")],
        "DeleteLabel": [pb.DeleteLabelRequest(prompt_name=prompt, label="Production"),
                        pb.DeleteLabelRequest(prompt_name=prompt, label="staging", reason="\x00")],
        "GetPrompt": [pb.GetPromptRequest(prompt_name=LONG_TEXT), pb.GetPromptRequest(prompt_name=prompt, label="\x00"),
                      pb.GetPromptRequest(prompt_name=prompt, version=2**63 - 1)],
        "ListPrompts": [pb.ListPromptsRequest(page=p) for p in pages] + [pb.ListPromptsRequest(tags={"k": "\x00"})],
        "ListVersions": [pb.ListVersionsRequest(prompt_name=prompt, page=p) for p in pages],
        "RenderPrompt": [
            pb.RenderPromptRequest(prompt_name=prompt, version=3, variables=variables(items=list(range(10_000)),
                                                                                      sep="x" * 200_000)),
            pb.RenderPromptRequest(prompt_name=prompt, version=1, variables=variables(q="\x00")),
            pb.RenderPromptRequest(prompt_name=prompt, version=1, variables=variables(q=math.nan)),
            pb.RenderPromptRequest(prompt_name=prompt, label="Production", variables=variables(q="x"))],
        "DiffVersions": [pb.DiffVersionsRequest(prompt_name=prompt, from_version=-(2**63), to_version=2**63 - 1)],
        "UpdateTags": [pb.UpdateTagsRequest(prompt_name=prompt, set_tags={"k\x00": "v"}),
                       pb.UpdateTagsRequest(prompt_name=prompt, remove_tags=["\x00"])],
    }
    assert set(examples) <= {r.name for r in RPCS}, set(examples) - {r.name for r in RPCS}  # renamed RPCs
    return examples.get(rpc, [])


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_prompts_rpc_survives_hostile_requests(prompts, rpc):
    target, _, corpus = prompts
    fuzz_rpc(target, rpc, requests(rpc, corpus, OVERRIDES), explicit=explicit(rpc.name, corpus))


@pytest.mark.parametrize("template", HOSTILE_TEMPLATES, ids=range(len(HOSTILE_TEMPLATES)))
def test_a_hostile_template_is_refused_or_rendered_within_bounds(prompts, template):
    """Created and rendered over the wire: each call ends within the deadline with neither UNKNOWN nor
    INTERNAL, health answers within a second throughout, and the service holds no memory afterwards."""
    target, service, corpus = prompts
    target.ensure_serving()
    prompt = corpus["prompt_name"][1]
    create, render = (next(r for r in RPCS if r.name == name) for name in ("CreateVersion", "RenderPrompt"))
    kinds = {"x": ("abc", pb.VARIABLE_TYPE_STRING), "items": ([1, 2, 3], pb.VARIABLE_TYPE_LIST),
             "sep": ("x" * 100_000, pb.VARIABLE_TYPE_STRING)}
    values = {name: value for name, (value, _) in kinds.items() if name in template}
    declared = [pb.VariableSpec(name=name, type=kinds[name][1]) for name in values]
    held_before = psutil.Process(service.proc.pid).memory_info().rss
    created = target.exercise(create, pb.CreateVersionRequest(prompt_name=prompt, text=template, variables=declared))
    assert not created.problems, f"CreateVersion: {created.code.name} {created.details[:300]}: {created.problems}"
    if created.code.name == "OK":
        rendered = target.exercise(render, pb.RenderPromptRequest(prompt_name=prompt, label="latest",
                                                                  variables=variables(**values)))
        assert rendered.code.name != "INVALID_ARGUMENT" or "variables" not in rendered.details, rendered.details
        assert not rendered.problems, (f"RenderPrompt: {rendered.code.name} {rendered.details[:300]}: "
                                       f"{rendered.problems}")
    held = psutil.Process(service.proc.pid).memory_info().rss - held_before
    assert held < HELD_MEMORY_BOUND, f"the service holds {held / 2**20:.0f} MiB more after this template"
