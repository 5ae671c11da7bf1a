"""`llmops stack up | status --json | down` and `llmops up | down` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import asdict
from pathlib import Path

import pytest

from llmops_common.embedded import DEFAULT_S3_ACCESS_KEY, DEFAULT_S3_SECRET_KEY, EmbeddedStack, StackPorts, free_port

pytestmark = pytest.mark.e2e
LLMOPS = [sys.executable, "-c", "from llmops_cli.main import run; run()"]


SERVICE_PORTS: dict[Path, dict[str, str]] = {}


def llmops(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMOPS_")}
    ports = SERVICE_PORTS.get(home)
    if ports is None:
        registry = str(free_port())
        ports = SERVICE_PORTS[home] = {
            "LLMOPS_REGISTRY_GRPC_PORT": registry, "LLMOPS_REGISTRY_METRICS_PORT": str(free_port()),
            "LLMOPS_SERVING_GRPC_PORT": str(free_port()), "LLMOPS_SERVING_METRICS_PORT": str(free_port()),
            "LLMOPS_SERVING_HTTP_PORT": str(free_port()), "LLMOPS_SERVING_REGISTRY_ENDPOINT": f"127.0.0.1:{registry}"}
    env.update({"LLMOPS_HOME": str(home), **ports})
    return subprocess.run([*LLMOPS, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A stack home whose recorded ports are free, so the test never collides with a running stack."""
    home = tmp_path / "llmops-home"
    home.mkdir()
    saved = {"ports": asdict(StackPorts.free()), "s3_access_key": DEFAULT_S3_ACCESS_KEY,
             "s3_secret_key": DEFAULT_S3_SECRET_KEY}
    (home / "stack.json").write_text(json.dumps(saved))
    yield home
    llmops(home, "down")


def pids(status: dict) -> list[int]:
    return [c["pid"] for c in status["components"] + status.get("services", []) if c["pid"]]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_stack_up_status_down(home):
    up = llmops(home, "stack", "up", "--json")
    assert up.returncode == 0, up.stderr
    status = json.loads(llmops(home, "stack", "status", "--json").stdout)
    by_name = {c["name"]: c for c in status["components"]}
    assert set(by_name) == {"nats", "postgres", "s3"}
    assert all(c["answering"] for c in by_name.values()), status
    assert llmops(home, "stack", "up").returncode == 0  # idempotent: same processes
    again = json.loads(llmops(home, "stack", "status", "--json").stdout)
    assert pids(again) == pids(status)

    down = llmops(home, "stack", "down")
    assert down.returncode == 0 and "nats" in down.stdout
    after = json.loads(llmops(home, "stack", "status", "--json").stdout)
    assert not any(c["running"] or c["answering"] for c in after["components"])
    assert not any(alive(pid) for pid in pids(status))


def test_up_starts_services_and_down_stops_everything(home):
    up = llmops(home, "up", "--no-ray")  # the Ray head has its own test below; runs would wait queued
    assert up.returncode == 0, up.stdout + up.stderr
    status = json.loads(llmops(home, "status", "--json").stdout)
    services = {s["name"]: s for s in status["services"]}
    assert services["registry"]["serving"], status
    assert services["serving"]["serving"], status
    http_port = int(SERVICE_PORTS[home]["LLMOPS_SERVING_HTTP_PORT"])
    assert services["serving"]["http_port"] == http_port
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=10) as health:
        assert health.status == 200
    assert f"serving REST API: http://127.0.0.1:{http_port}/v1" in llmops(home, "status").stdout
    assert (home / "admin.key").stat().st_mode & 0o077 == 0
    down = llmops(home, "down")
    assert down.returncode == 0
    assert not any(alive(pid) for pid in pids(status))


async def test_keys_create_list_revoke(embedded_stack, pg_pool):
    from llmops_common.auth import Authenticator, PostgresApiKeyStore, Role
    from llmops_common.errors import Unauthenticated

    home = embedded_stack.home
    assert llmops(home, "migrate", "registry").returncode == 0
    created = llmops(home, "keys", "create", "ci-bot", "--role", "developer", "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    auth = Authenticator(PostgresApiKeyStore(pg_pool), bootstrap_admin_key=None, cache_seconds=0)
    principal = await auth.authenticate(key["key"])
    assert (principal.name, principal.role) == ("ci-bot", Role.DEVELOPER)

    listed = json.loads(llmops(home, "keys", "list", "--json").stdout)
    mine = [k for k in listed if k["key_id"] == key["key_id"]]
    assert mine == [{"key_id": key["key_id"], "name": "ci-bot", "role": "developer",
                     "created_by": mine[0]["created_by"], "revoked": False}]
    assert key["key"] not in llmops(home, "keys", "list").stdout

    assert llmops(home, "keys", "revoke", key["key_id"]).returncode == 0
    with pytest.raises(Unauthenticated):
        await auth.authenticate(key["key"])
    again = llmops(home, "keys", "revoke", key["key_id"])
    assert again.returncode != 0 and "no active API key" in (again.stdout + again.stderr)
    bad_role = llmops(home, "keys", "create", "x", "--role", "root")
    assert bad_role.returncode != 0 and "unknown role" in (bad_role.stdout + bad_role.stderr)


def test_stack_up_with_ray_runs_a_task_and_down_stops_it(home):
    up = llmops(home, "stack", "up", "--ray", "--json", timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    ray_status = {c["name"]: c for c in json.loads(up.stdout)["components"]}["ray"]
    assert ray_status["answering"], ray_status
    task = subprocess.run(
        [sys.executable, "-c", f"import ray; ray.init(address={ray_status['endpoint']!r}, log_to_driver=False);"
         "print(ray.get(ray.remote(lambda x: x * 2).remote(21)))"],
        capture_output=True, text=True, timeout=120, env=os.environ | EmbeddedStack.load(home).ray_client_env())
    assert task.stdout.strip().splitlines()[-1] == "42", task.stderr[-2000:]
    assert (home / "run" / "ray_auth_token").stat().st_mode & 0o077 == 0  # the head's token: owner only
    assert "ray" in llmops(home, "stack", "down").stdout
    assert not alive(ray_status["pid"])
