"""``llmops status`` on a stack home where nothing runs: every service of ``SERVICES`` is listed, and
one with a REST API (serving) with its HTTP port in the JSON and its base URL in the text."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from llmops_cli.main import app
from llmops_cli.services import SERVICES


def _clean_env(monkeypatch, tmp_path) -> None:
    for var in ("LLMOPS_SERVING_HTTP_PORT", "LLMOPS_HTTP_PORT"):
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
    assert all(s["http_port"] is None for name, s in services.items() if name != "serving")
    assert not services["serving"]["running"] and not services["serving"]["serving"]


def test_status_text_prints_the_rest_base_url(monkeypatch, tmp_path):
    _clean_env(monkeypatch, tmp_path)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    default = SERVICES["serving"].default_http_port()
    assert f"serving REST API: http://127.0.0.1:{default}/v1" in result.stdout
    assert result.stdout.count("REST API:") == 1
