"""Server processes for the benchmarks: each in its own process group (so ``stop`` ends it and whatever
it spawned), and the registry service started as tests/e2e start it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from llmops_common.embedded import free_port


def spawn(cmd: list[str], env: dict[str, str], log: Path, procs: list[subprocess.Popen]) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    procs.append(proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


async def wait_ready(proc: subprocess.Popen, log: Path, ready: Callable[[], Awaitable[bool]],
                     timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not await ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log.stem} did not come up:\n{log.read_text(errors='replace')[-3000:]}")
        await asyncio.sleep(0.3)


async def start_registry(env: dict[str, str], tmp: Path, procs: list[subprocess.Popen], *, admin_key: str) -> int:
    """The registry as its own process; its gRPC port once it is SERVING."""
    port = free_port()
    proc = spawn([sys.executable, "-m", "llmops_registry.main"],
                 {**env, "LLMOPS_REGISTRY_GRPC_PORT": str(port), "LLMOPS_REGISTRY_METRICS_PORT": "0",
                  "LLMOPS_BOOTSTRAP_ADMIN_KEY": admin_key, "LLMOPS_LOG_FORMAT": "text"}, tmp / "registry.log", procs)

    async def serving() -> bool:
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
            return reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    await wait_ready(proc, tmp / "registry.log", serving, timeout=120)
    return port
