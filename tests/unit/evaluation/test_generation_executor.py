"""Executors return shard results in plan order with a progress call per shard; a failed shard raises
its domain error; Ray's task body turns errors into plain data and back; an unreachable cluster is
Unavailable (the Ray cluster itself is the integration test's)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from llmops_common.errors import DomainError, ErrorCode, FailedPrecondition, NotFound, ResourceExhausted, Unavailable
from llmops_common.testing.tiny_lm import build_base
from llmops_evaluation.generation.executor import LocalExecutor, RayExecutor, run_shard, shard_error
from llmops_evaluation.generation.plan import ModelArtifacts, ShardPlan, StorageAccess
from llmops_evaluation.generation.task import WALL_KEY

SHA, MISSING_SHA = "4" * 64, "5" * 64
PARAMS = {"max_tokens": 4, "temperature": 0.0, "top_p": 1.0, "top_k": 0, "seed": 0, "stop": []}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("executor-models")
    shutil.copytree(build_base(root / "base"), root / "cache" / SHA)
    (root / "cache" / MISSING_SHA).mkdir()  # a "verified" folder with nothing loadable in it
    return root / "cache"


def _plan(cache: Path, shard: int, sha: str = SHA) -> ShardPlan:
    model = ModelArtifacts(role="candidate", model_uri="models:/m/1", kind="base", artifact_uri="s3://m/1", sha256=sha)
    return ShardPlan(shard=shard, examples=tuple((f"r{shard}-{i}", f"the quick {i}", "fox") for i in range(shard + 1)),
                     models=(model,), params=PARAMS, perplexity=False, cache_dir=str(cache),
                     storage=StorageAccess(endpoint="127.0.0.1:1", access_key="k", secret_key="s"))


async def test_local_results_come_in_plan_order_with_a_call_per_shard(cache: Path) -> None:
    calls: list[tuple[int, int]] = []

    async def on_done(done: int, total: int) -> None:
        calls.append((done, total))

    plans = [_plan(cache, 2), _plan(cache, 0), _plan(cache, 1)]
    results = await LocalExecutor().run(plans, on_done)
    assert [[g["record_id"] for g in r["candidate"]] for r in results] == [
        [e[0] for e in p.examples] for p in plans]
    assert all(set(r) == {"candidate", WALL_KEY} for r in results)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    plain: list[tuple[int, int]] = []
    await LocalExecutor().run([_plan(cache, 0)], lambda done, total: plain.append((done, total)))
    assert plain == [(1, 1)]


async def test_a_failed_shard_raises_its_error_and_stops_the_run(cache: Path) -> None:
    calls: list[int] = []
    with pytest.raises(FailedPrecondition, match="model candidate cannot load"):
        await LocalExecutor().run([_plan(cache, 0), _plan(cache, 1, MISSING_SHA), _plan(cache, 2)],
                                  lambda done, total: calls.append(done))
    assert calls == [1]


def test_the_ray_task_body_returns_results_and_errors_as_plain_data(cache: Path) -> None:
    ok = run_shard(_plan(cache, 0).model_dump_json())
    assert [g["record_id"] for g in ok["result"]["candidate"]] == ["r0-0"]
    failed = run_shard(_plan(cache, 1, MISSING_SHA).model_dump_json())
    assert failed["error"]["code"] == "failed_precondition" and failed["error"]["field"] == "models"
    assert "cannot load" in failed["error"]["message"]


@pytest.mark.parametrize(("code", "kind"), [("not_found", NotFound), ("failed_precondition", FailedPrecondition),
                                            ("resource_exhausted", ResourceExhausted), ("unavailable", Unavailable)])
def test_a_shards_error_is_raised_again_as_its_own_kind(code: str, kind: type) -> None:
    error = shard_error(7, {"code": code, "message": "why", "field": "models"})
    assert type(error) is kind and error.message == "shard 7: why" and error.field == "models"
    other = shard_error(7, {"code": "internal", "message": "boom", "field": ""})
    assert type(other) is DomainError and other.code is ErrorCode.INTERNAL and other.field is None


async def test_an_unreachable_cluster_is_unavailable(cache: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Unavailable, match="does not answer"):
        await RayExecutor(f"127.0.0.1:{port}", connect_timeout=1.0).run([_plan(cache, 0)], lambda *_: None)
