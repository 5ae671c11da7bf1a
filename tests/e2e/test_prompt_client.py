"""The prompt client against the prompt service as a process: a label move reaches cached clients in
other processes within a second, and a client keeps serving when the service is gone."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct

from llmops.prompts.v1 import prompts_pb2 as pb
from llmops.prompts.v1 import prompts_pb2_grpc as pb_grpc
from llmops_cli.migrations import migrate
from llmops_common.bus import Bus
from llmops_common.events import Envelope
from llmops_common.events.prompts import PromptLabelMoved
from llmops_common.prompt_client import SERVICE_UP, STALE_SERVES, PromptClient
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess
from llmops_common.testing.waiting import wait_for

pytestmark = pytest.mark.e2e
METADATA = [("authorization", f"Bearer {TEST_ADMIN_KEY}")]


@pytest.fixture
async def prompts_service(stack_env, tmp_path):
    await migrate(["prompts"], stack_env)
    service = ServiceProcess("prompts", "llmops_prompts.main", stack_env, tmp_path / "prompts.log").start()
    await service.wait_serving()
    yield service
    service.stop()


async def make_prompt(stub: pb_grpc.PromptServiceStub, name: str, versions: int = 2) -> None:
    await stub.CreatePrompt(pb.CreatePromptRequest(name=name), metadata=METADATA)
    for i in range(versions):
        await stub.CreateVersion(
            pb.CreateVersionRequest(prompt_name=name, text=f"v{i + 1}: {{{{ q }}}}",
                                    variables=[pb.VariableSpec(name="q", type=pb.VARIABLE_TYPE_STRING, required=True)]),
            metadata=METADATA)
    await stub.SetLabel(pb.SetLabelRequest(prompt_name=name, label="production", version=1), metadata=METADATA)


async def test_a_label_move_reaches_clients_in_two_other_processes_within_a_second(prompts_service, stack_env,
                                                                                  unique_name):
    async with grpc.aio.insecure_channel(prompts_service.endpoint) as channel:
        stub = pb_grpc.PromptServiceStub(channel)
        await make_prompt(stub, unique_name)
        watchers = [
            subprocess.Popen([sys.executable, str(Path(__file__).with_name("prompt_watcher.py")),
                              prompts_service.endpoint, TEST_ADMIN_KEY, stack_env["LLMOPS_NATS_URL"],
                              f"{unique_name}@production"],
                             stdout=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        try:
            for watcher in watchers:
                assert (await asyncio.to_thread(watcher.stdout.readline)).strip() == "ready 1"
            moved_at = time.time()
            await stub.SetLabel(pb.SetLabelRequest(prompt_name=unique_name, label="production", version=2),
                                metadata=METADATA)
            lines = [await asyncio.wait_for(asyncio.to_thread(w.stdout.readline), 10) for w in watchers]
        finally:
            for watcher in watchers:
                watcher.kill()
                watcher.wait()
    for line in lines:
        _, version, seen_at = line.split()
        assert version == "2"
        assert float(seen_at) - moved_at < 1.0, f"label move took {float(seen_at) - moved_at:.3f}s to arrive"


async def test_the_client_renders_locally_and_keeps_serving_when_the_service_stops(prompts_service, stack_env,
                                                                                  settings_for, unique_name):
    async with grpc.aio.insecure_channel(prompts_service.endpoint) as channel:
        stub = pb_grpc.PromptServiceStub(channel)
        await make_prompt(stub, unique_name)
        variables = Struct()
        variables.update({"q": "{{ 7*7 }}"})
        served = await stub.RenderPrompt(pb.RenderPromptRequest(prompt_name=unique_name, label="production",
                                                                variables=variables), metadata=METADATA)
    ref = f"{unique_name}@production"
    async with PromptClient(prompts_service.endpoint, api_key=TEST_ADMIN_KEY,
                            nats_url=stack_env["LLMOPS_NATS_URL"]) as client:
        assert await client.render(ref, {"q": "{{ 7*7 }}"}) == served.text == "v1: {{ 7*7 }}"
        assert prompts_service.stop() == 0
        # An event (as after a move) makes the entry stale; the service cannot be asked: serve what we know.
        bus = Bus(settings_for(), producer="test")
        await bus.start()
        try:
            before = STALE_SERVES.labels(unique_name)._value.get()
            await bus.publish(Envelope.wrap(PromptLabelMoved(prompt_name=unique_name, label="production",
                                                             previous_version=1, new_version=2), producer="test"))
            await wait_for(lambda: not client._cache[ref].fresh, 5, what="the label event to make the entry stale",
                           interval=0.01)
            assert await client.render(ref, {"q": "still here"}) == "v1: still here"
            assert STALE_SERVES.labels(unique_name)._value.get() == before + 1
            assert SERVICE_UP._value.get() == 0
        finally:
            await bus.stop()
