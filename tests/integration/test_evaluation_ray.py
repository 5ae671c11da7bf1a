"""Evaluation's generation shards on a real Ray head (the embedded stack's, shared by the run) with
real S3: the folders are uploaded as registered versions are, downloaded and verified inside the Ray
tasks, and the results match the same plans run in this process."""

from __future__ import annotations

import uuid

import pytest

from llmops_common.errors import DomainError, ErrorCode, FailedPrecondition
from llmops_common.settings import CommonSettings
from llmops_common.storage import ArtifactStore
from llmops_common.testing.tiny_lm import build_adapter, build_base
from llmops_evaluation.generation.executor import LocalExecutor, RayExecutor
from llmops_evaluation.generation.plan import ModelArtifacts, ShardPlan, StorageAccess
from llmops_evaluation.generation.task import WALL_KEY

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
PARAMS = {"max_tokens": 8, "temperature": 0.0, "top_p": 1.0, "top_k": 0, "seed": 0, "stop": []}


@pytest.fixture(scope="module")
def models(ray_env, tmp_path_factory):
    """A tiny base and a LoRA adapter in S3, with the sha256 the registry would record for each."""
    settings = CommonSettings.from_variables(ray_env)
    store = ArtifactStore.from_settings(settings)
    store.ensure_buckets()
    root = tmp_path_factory.mktemp("eval-ray-models")
    base = build_base(root / "base")
    adapter = build_adapter(base, root / "adapter", seed=9)
    prefix = f"s3://{settings.s3_bucket_models}/eval-ray-{uuid.uuid4().hex[:8]}"
    for name, folder in (("base", base), ("adapter", adapter)):
        store.put_folder(f"{prefix}/{name}/", folder)
    base_sha, adapter_sha = store.describe(f"{prefix}/base").sha256, store.describe(f"{prefix}/adapter").sha256
    storage = StorageAccess(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                            secret_key=settings.s3_secret_key.get_secret_value(), region=settings.s3_region,
                            secure=settings.s3_secure)
    candidate = ModelArtifacts(role="candidate", model_uri="models:/tuned/1", kind="adapter",
                               artifact_uri=f"{prefix}/adapter", sha256=adapter_sha,
                               base_artifact_uri=f"{prefix}/base", base_sha256=base_sha)
    baseline = ModelArtifacts(role="base", model_uri="models:/tiny/1", kind="base", artifact_uri=f"{prefix}/base",
                              sha256=base_sha)
    return {"storage": storage, "candidate": candidate, "base": baseline, "address": ray_env["LLMOPS_RAY_ADDRESS"]}


@pytest.fixture(scope="module")
async def executor(models):
    executor = RayExecutor(models["address"], num_cpus_per_task=1)
    yield executor
    await executor.close()


def _plans(models, cache, *, candidate=None) -> list[ShardPlan]:
    examples = [(f"r{i}", f"the quick brown fox {i}", f" jumps {i}") for i in range(6)]
    return [ShardPlan(shard=s, examples=tuple(examples[s * 2:s * 2 + 2]), params=PARAMS, perplexity=True,
                      models=(candidate or models["candidate"], models["base"]), storage=models["storage"],
                      cache_dir=str(cache)) for s in range(3)]


async def test_shards_on_ray_verify_their_downloads_and_match_in_process_generation(models, executor, tmp_path):
    calls: list[tuple[int, int]] = []
    on_ray = await executor.run(_plans(models, tmp_path / "ray-cache"), lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    here = await LocalExecutor().run(_plans(models, tmp_path / "local-cache"), lambda *_: None)
    assert {models["candidate"].sha256, models["base"].sha256} <= {p.name for p in (tmp_path / "ray-cache").iterdir()}
    for shard, (remote, local) in enumerate(zip(on_ray, here, strict=True)):
        assert set(remote[WALL_KEY]) == {"candidate", "base"}
        for role in ("candidate", "base"):
            assert [g["record_id"] for g in remote[role]] == [f"r{shard * 2}", f"r{shard * 2 + 1}"]
            assert all(not g["error"] and g["output_tokens"] > 0 and g["reference_tokens"] > 0 for g in remote[role])
            assert [g["output"] for g in remote[role]] == [g["output"] for g in local[role]]
            assert [g["reference_nll"] for g in remote[role]] == pytest.approx(
                [g["reference_nll"] for g in local[role]], abs=1e-4)
    assert [g["output"] for r in on_ray for g in r["candidate"]] != [g["output"] for r in on_ray for g in r["base"]]


async def test_a_folder_that_is_not_the_registered_one_fails_its_shard_on_ray(models, executor, tmp_path):
    tampered = models["candidate"].model_copy(update={"sha256": "e" * 64})
    with pytest.raises(FailedPrecondition, match=r"shard \d: model candidate: the files under .* are not the ones"):
        await executor.run(_plans(models, tmp_path, candidate=tampered), lambda *_: None)


async def test_a_shard_that_crashes_fails_the_run_with_its_reason(models, executor):
    plans = [plan.model_copy(update={"cache_dir": "/proc/no-such-cache"}) for plan in _plans(models, "/unused")]
    with pytest.raises(DomainError, match=r"shard \d: generation failed: \w+Error") as failure:
        await executor.run(plans[:1], lambda *_: None)
    assert failure.value.code is ErrorCode.INTERNAL
    assert await executor.run([], lambda *_: None) == []
