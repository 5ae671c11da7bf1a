"""Start a service as its own process on the test stack, wait for gRPC health, stop it with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from llmops_common.embedded import free_port
from llmops_common.testing.waiting import wait_for

TEST_ADMIN_KEY = "llmops_bootstrap_test-admin-key"


async def health(port: int) -> int | None:
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
            return reply.status
    except grpc.RpcError:
        return None


@dataclass
class ServiceProcess:
    """``python -m <module>`` with the stack's settings, a free gRPC port and the test admin key."""

    name: str
    module: str
    env: dict[str, str]
    log: Path
    port: int = 0
    proc: subprocess.Popen | None = None

    def start(self) -> ServiceProcess:
        self.port = self.port or free_port()
        prefix = f"LLMOPS_{self.name.upper()}_"
        env = {**os.environ, **self.env, f"{prefix}GRPC_PORT": str(self.port), f"{prefix}METRICS_PORT": "0",
               "LLMOPS_BOOTSTRAP_ADMIN_KEY": TEST_ADMIN_KEY, "LLMOPS_LOG_FORMAT": "text"}
        self.proc = subprocess.Popen([sys.executable, "-m", self.module], env=env, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT)
        return self

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def wait_serving(self, timeout: float = 30) -> None:
        async def serving() -> bool:
            assert self.proc is not None and self.proc.poll() is None, f"{self.name} exited"
            return await health(self.port) == health_pb2.HealthCheckResponse.SERVING

        try:
            await wait_for(serving, timeout, what=f"{self.name} to be SERVING", interval=0.2)
        except AssertionError as exc:  # either way, the log says why
            raise AssertionError(f"{exc}:\n{self.log.read_text()}") from None

    def stop(self, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
