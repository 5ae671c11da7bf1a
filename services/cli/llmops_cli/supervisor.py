"""Start and stop service processes under the stack home (``run/<service>.pid``, ``logs/<service>.log``).
A service answers when its gRPC health is SERVING and, for one with a REST API, its ``/health`` says
200 (the REST server binds after the gRPC one, and says 503 while it loads its models)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from llmops_cli.services import ServiceSpec
from llmops_common.embedded import EmbeddedStack, terminate_process


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    endpoint: str
    pid: int | None
    running: bool
    serving: bool
    log: str
    http_port: int | None = None  # the REST API's, for a service that has one


class Supervisor:
    def __init__(self, stack: EmbeddedStack) -> None:
        self.stack = stack

    def _key(self, spec: ServiceSpec) -> str:
        return f"svc-{spec.name}"

    def start_all(self, specs: list[ServiceSpec], env: dict[str, str], *, timeout: float = 60.0) -> list[ServiceStatus]:
        """Start every service not running yet, all at once (their imports overlap), then wait until each
        is SERVING; a service that exits or is still not serving at the deadline raises."""
        for spec in specs:
            key = self._key(spec)
            if not self.stack.is_alive(key):
                log = self.stack.logfile(key).open("ab")
                proc = subprocess.Popen(
                    [sys.executable, "-m", spec.module], env={**os.environ, **env}, stdout=log,
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                )
                self.stack.pidfile(key).write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        waiting, done = list(specs), {}
        while waiting:
            for spec in list(waiting):
                status = self.status(spec, env)
                if status.serving:
                    done[spec.name] = status
                    waiting.remove(spec)
                elif not status.running or time.monotonic() > deadline:
                    raise RuntimeError(f"{spec.name} did not become SERVING; see {status.log}")
            time.sleep(0.2)
        return [done[spec.name] for spec in specs]

    def stop(self, spec: ServiceSpec, *, timeout: float = 30.0) -> bool:
        key = self._key(spec)
        pid = self.stack.pid_of(key)
        if pid is None:
            return False
        if self.stack.is_alive(key):
            terminate_process(pid, timeout)
        self.stack.pidfile(key).unlink(missing_ok=True)
        return True

    def status(self, spec: ServiceSpec, env: dict[str, str]) -> ServiceStatus:
        key = self._key(spec)
        port = int(env.get(f"LLMOPS_{spec.name.upper()}_GRPC_PORT") or spec.grpc_port())
        endpoint = f"127.0.0.1:{port}"
        running = self.stack.is_alive(key)
        http_port = int(env.get(f"LLMOPS_{spec.name.upper()}_HTTP_PORT") or spec.http_port()) if spec.http else None
        serving = running and health_serving(endpoint) and (http_port is None or http_ready(http_port))
        return ServiceStatus(spec.name, endpoint, self.stack.pid_of(key), running, serving,
                             str(self.stack.logfile(key)), http_port)


def health_serving(endpoint: str, timeout: float = 1.0) -> bool:
    try:
        with grpc.insecure_channel(endpoint) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def http_ready(port: int, timeout: float = 1.0) -> bool:
    """Whether the REST API on localhost ``port`` answers ``GET /health`` with 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):  # refused, timed out, not HTTP
        return False
    finally:
        conn.close()
