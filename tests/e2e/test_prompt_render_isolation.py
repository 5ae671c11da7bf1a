"""Hostile templates against the prompt service as a process: while a hostile render runs, a health
check is answered within a second; the render is stopped with a clear error; the service's memory
does not grow; CreateVersion never runs a template; and the client library refuses the same
templates in its own process."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from llmops.prompts.v1 import prompts_pb2 as pb
from llmops.prompts.v1 import prompts_pb2_grpc as pb_grpc
from llmops_cli.migrations import migrate
from llmops_common.errors import InvalidArgument
from llmops_common.prompt_client import PromptClient
from llmops_common.templating import RenderPool
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess

pytestmark = pytest.mark.e2e
METADATA = [("authorization", f"Bearer {TEST_ADMIN_KEY}")]
MB = 1024 * 1024
#: runs until the pool's deadline (0.5 s here, below the renderer's own 1 s) kills its worker
EXPONENTIAL = "{% macro f(k) %}{% if k %}{{ f(k - 1) }}{{ f(k - 1) }}{% endif %}{% endmacro %}{{ f(30) }}"
HOSTILE = {
    "exponential": EXPONENTIAL,
    "folded": "{{ '%0999999999d' % 1 }}{{ 'x'|center(999999999) }}",
    "shared": "{% set s = 'x' * 100000 %}{{ ([s] * 100000)|map('upper')|list|length }}",
    "nested": "{% set l = [0] * 100000 %}{% for i in l %}{% for j in l %}{% endfor %}{% endfor %}",
}


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
async def prompts_service(stack_env, tmp_path):
    await migrate(["prompts"], stack_env)
    env = {**stack_env, "LLMOPS_PROMPTS_RENDER_TIMEOUT_SECONDS": "0.5", "LLMOPS_PROMPTS_RENDER_WORKERS": "2"}
    service = ServiceProcess("prompts", "llmops_prompts.main", env, tmp_path / "prompts.log").start()
    try:
        await service.wait_serving()
        yield service
    finally:
        service.stop()


async def watch_health(port: int, stop: asyncio.Event) -> list[float]:
    """Seconds each health check took, checking every 50 ms until ``stop``."""
    latencies = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while not stop.is_set():
            started = time.monotonic()
            reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            latencies.append(time.monotonic() - started)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            await asyncio.sleep(0.05)
    return latencies


@pytest.mark.timeout(180)
async def test_health_is_answered_within_a_second_while_hostile_renders_run(prompts_service, unique_name):
    async with grpc.aio.insecure_channel(prompts_service.endpoint) as channel:
        stub = pb_grpc.PromptServiceStub(channel)
        await stub.CreatePrompt(pb.CreatePromptRequest(name=unique_name), metadata=METADATA)
        started = time.monotonic()
        for source in [*HOSTILE.values(), "hello {{ q }}"]:  # versions 1-5: validation runs none of them
            await stub.CreateVersion(pb.CreateVersionRequest(
                prompt_name=unique_name, text=source,
                variables=[pb.VariableSpec(name="q", type=pb.VARIABLE_TYPE_STRING, required=False)]), metadata=METADATA)
        assert time.monotonic() - started < 10
        before = rss(prompts_service.proc.pid)

        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_health(prompts_service.port, stop))
        try:
            for _ in range(2):  # every hostile version, four at once on two workers
                results = await asyncio.gather(*(
                    stub.RenderPrompt(pb.RenderPromptRequest(prompt_name=unique_name, version=version),
                                      metadata=METADATA, timeout=30)
                    for version in range(1, len(HOSTILE) + 1)), return_exceptions=True)
                for result in results:
                    assert isinstance(result, grpc.aio.AioRpcError), result
                    assert result.code() == grpc.StatusCode.INVALID_ARGUMENT, result.details()
                    assert "0x" not in result.details()
        finally:
            stop.set()
            latencies = await watcher
        assert latencies and max(latencies) < 1.0, f"health checks took up to {max(latencies):.2f} s"

        reply = await stub.RenderPrompt(pb.RenderPromptRequest(prompt_name=unique_name, version=len(HOSTILE) + 1,
                                                               variables={"q": "world"}), metadata=METADATA)
        assert reply.text == "hello world"  # the killed workers were replaced
        assert rss(prompts_service.proc.pid) - before < 100 * MB


@pytest.mark.timeout(120)
async def test_the_client_library_refuses_the_same_templates_in_its_own_process(prompts_service, stack_env,
                                                                               unique_name):
    async with grpc.aio.insecure_channel(prompts_service.endpoint) as channel:
        stub = pb_grpc.PromptServiceStub(channel)
        await stub.CreatePrompt(pb.CreatePromptRequest(name=unique_name), metadata=METADATA)
        for source in HOSTILE.values():
            await stub.CreateVersion(pb.CreateVersionRequest(prompt_name=unique_name, text=source), metadata=METADATA)
    pool = RenderPool(1, timeout=0.5)
    try:
        async with PromptClient(prompts_service.endpoint, api_key=TEST_ADMIN_KEY,
                                nats_url=stack_env["LLMOPS_NATS_URL"]) as local, \
                PromptClient(prompts_service.endpoint, api_key=TEST_ADMIN_KEY, nats_url=stack_env["LLMOPS_NATS_URL"],
                             render_pool=pool) as isolated:
            for version in range(1, len(HOSTILE) + 1):
                for client in (local, isolated):
                    started = time.monotonic()
                    with pytest.raises(InvalidArgument) as err:
                        await client.render(f"{unique_name}/{version}", {})
                    assert time.monotonic() - started < 5
                    assert "0x" not in str(err.value)
    finally:
        await pool.close()
