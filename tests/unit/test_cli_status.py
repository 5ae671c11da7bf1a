"""``llmops status`` on a stack home where nothing runs: every service of ``SERVICES`` is listed, and
one with a REST API (serving, monitoring) with its HTTP port in the JSON and its base URL in the text. And the
readiness ``llmops up`` waits for: a REST service answers only once its ``/health`` says 200."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from typer.testing import CliRunner

from llmops_cli.main import app
from llmops_cli.services import SERVICES
from llmops_cli.supervisor import Supervisor
from llmops_common.embedded import EmbeddedStack


def _clean_env(monkeypatch, tmp_path) -> None:
    for var in ("LLMOPS_SERVING_HTTP_PORT", "LLMOPS_MONITORING_HTTP_PORT", "LLMOPS_HTTP_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LLMOPS_HOME", str(tmp_path))


def test_status_json_lists_the_serving_http_port(monkeypatch, tmp_path):
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("LLMOPS_SERVING_HTTP_PORT", "8123")
    result = CliRunner().invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    services = {s["name"]: s for s in json.loads(result.stdout)["services"]}
    assert list(services) == list(SERVICES)
    assert services["serving"]["http_port"] == 8123
    assert services["serving"]["endpoint"] == f"127.0.0.1:{SERVICES['serving'].grpc_port()}"
    assert services["monitoring"]["http_port"] == SERVICES["monitoring"].default_http_port()
    assert all(s["http_port"] is None for name, s in services.items() if name not in ("serving", "monitoring"))
    assert not services["serving"]["running"] and not services["serving"]["serving"]


def test_status_text_prints_the_rest_base_url(monkeypatch, tmp_path):
    _clean_env(monkeypatch, tmp_path)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    default = SERVICES["serving"].default_http_port()
    assert f"serving REST API: http://127.0.0.1:{default}/v1" in result.stdout
    assert f"monitoring REST API: http://127.0.0.1:{SERVICES['monitoring'].default_http_port()}/v1" in result.stdout
    assert result.stdout.count("REST API:") == 2


@pytest.fixture
def grpc_serving() -> Iterator[int]:
    """A gRPC server whose health says SERVING; its port."""
    server = grpc.server(ThreadPoolExecutor(2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    yield port
    server.stop(None)


class _Health(BaseHTTPRequestHandler):
    status = 503

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_rest_service_answers_once_its_health_says_200(grpc_serving, tmp_path):
    stack = EmbeddedStack(tmp_path)
    stack.pidfile("svc-serving").parent.mkdir(parents=True)
    for name in ("serving", "registry"):
        stack.pidfile(f"svc-{name}").write_text(str(os.getpid()))  # "running": this process is alive
    supervisor = Supervisor(stack)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("Health", (_Health,), {}))
    env = {"LLMOPS_SERVING_GRPC_PORT": str(grpc_serving), "LLMOPS_REGISTRY_GRPC_PORT": str(grpc_serving),
           "LLMOPS_SERVING_HTTP_PORT": str(httpd.server_address[1])}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        loading = supervisor.status(SERVICES["serving"], env)
        assert loading.running and not loading.serving  # gRPC SERVING, REST says 503 (loading)
        httpd.RequestHandlerClass.status = 200
        assert supervisor.status(SERVICES["serving"], env).serving
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
    assert not supervisor.status(SERVICES["serving"], env).serving  # REST not listening
    assert supervisor.status(SERVICES["registry"], env).serving  # no REST API: gRPC health alone
