"""Benchmark: model-registry latency through the project's gRPC API against MLflow's registry, same Postgres.

Project: the registry service as its own process (``python -m llmops_registry.main``), called over
gRPC (``grpc.aio``) with the bootstrap admin key. Baseline: MLflow's tracking server (uvicorn, one
worker) on its own database in the same embedded PostgreSQL, called through ``mlflow.MlflowClient``.
Both hold the same data: N versions in one model, and N versions spread over 100 models; each version
is tagged with one of 10 ``team`` values (a search matches ~N/10 versions and returns a first page of
100) and points at the same S3 folder. At each size, create-version (the last creates of the
population), get-version, get-by-alias and search-by-tag are timed call by call, project and MLflow
alternating on the same random targets, so drift on the machine hits both alike. A bare ``SELECT 1``
through a psycopg async pool on the same server is timed alongside get-by-alias; that ratio compares
a gRPC call end to end (client, auth, server, query, reply) with a pool query alone. Below 1,000
versions a search returns fewer than 100 (~N/10), so search flatness is also given over full pages.

    python bench/registry.py [--quick]      # needs: pip install 'llmops-platform[bench]'

The last line printed is one JSON object (see CONVENTIONS.md, habit 10).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import mlflow
import psycopg
from processes import spawn, start_registry, stop, wait_ready

from llmops.common.v1 import common_pb2
from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc as pb_grpc
from llmops_cli.migrations import migrate
from llmops_common.db import make_pool
from llmops_common.embedded import EmbeddedStack, StackPorts, free_port
from llmops_common.settings import CommonSettings
from llmops_common.storage import ArtifactStore

SIZES, QUICK_SIZES = (100, 1_000, 10_000), (100, 1_000)
LAYOUTS = {"one model": 1, "100 models": 100}
OPS = ("create-version", "get-version", "get-by-alias", "search-by-tag")
TEAMS, PAGE, WARMUP, BLOCK = 10, 100, 10, 50
ADMIN_KEY = "llmops_bootstrap_bench-admin"
ARTIFACT = "s3://llmops-models/bench/artifact"  # one small artifact, shared by every version on both sides
TARGET_SPEEDUP, TARGET_FLATNESS, TARGET_ALIAS_VS_SELECT1 = 5, 1.5, 3


class Layout:
    """Versions over ``models`` models: version i goes to model i % models, with a seeded team tag."""

    def __init__(self, label: str, models: int, seed: int) -> None:
        slug = "one" if models == 1 else f"spread{models}"
        self.label, self.rng, self.size = label, random.Random(seed), 0
        self.models = [f"bench-{slug}-{i:03d}" for i in range(models)]
        self.teams = [f"{slug}-team{t}" for t in range(TEAMS)]
        self.versions = dict.fromkeys(self.models, 0)  # versions per model so far (the same on both sides)
        self.per_team = dict.fromkeys(self.teams, 0)
        self.champion: dict[str, int] = {}

    def grow(self, count: int) -> list[tuple[str, dict[str, str]]]:
        specs = []
        for _ in range(count):
            model, team = self.models[self.size % len(self.models)], self.rng.choice(self.teams)
            self.versions[model] += 1
            self.per_team[team] += 1
            specs.append((model, {"team": team, "batch": str(self.size // 1000)}))
            self.size += 1
        return specs

    def random_version(self) -> tuple[str, int]:
        model = self.rng.choice(self.models)
        return model, self.rng.randint(1, self.versions[model])


class Project:
    """The four operations through the registry's gRPC API."""

    def __init__(self, port: int) -> None:
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.stub = pb_grpc.RegistryServiceStub(self.channel)
        self.md = (("authorization", f"Bearer {ADMIN_KEY}"),)

    async def create_model(self, name: str) -> None:
        await self.stub.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name), metadata=self.md)

    async def create(self, model: str, tags: dict[str, str]) -> int:
        request = pb.CreateModelVersionRequest(model_name=model, artifact_uri=ARTIFACT, kind=pb.MODEL_KIND_BASE,
                                               tags=tags)
        return (await self.stub.CreateModelVersion(request, metadata=self.md)).version

    async def get(self, model: str, version: int) -> int:  # get-version
        request = pb.GetModelVersionRequest(model_name=model, version=version)
        return (await self.stub.GetModelVersion(request, metadata=self.md)).version

    async def set_alias(self, model: str, version: int) -> None:
        request = pb.SetAliasRequest(model_name=model, alias="champion", version=version)
        await self.stub.SetAlias(request, metadata=self.md)

    async def by_alias(self, model: str) -> int:  # get-by-alias
        reply = await self.stub.Resolve(pb.ResolveRequest(uri=f"models:/{model}@champion"), metadata=self.md)
        return reply.model_version.version

    async def search(self, team: str) -> int:  # search-by-tag, first page
        request = pb.SearchModelVersionsRequest(tags={"team": team}, page=common_pb2.PageRequest(page_size=PAGE))
        return len((await self.stub.SearchModelVersions(request, metadata=self.md)).versions)


class Mlflow:
    """The same four operations through MLflow's client (synchronous HTTP)."""

    def __init__(self, url: str) -> None:
        self.client = mlflow.MlflowClient(tracking_uri=url, registry_uri=url)

    def create_model(self, name: str) -> None:
        self.client.create_registered_model(name)

    def create(self, model: str, tags: dict[str, str]) -> int:  # no wait: its SQL store creates versions READY
        version = self.client.create_model_version(model, source=ARTIFACT, tags=tags, await_creation_for=0)
        return int(version.version)

    def get(self, model: str, version: int) -> int:
        return int(self.client.get_model_version(model, str(version)).version)

    def set_alias(self, model: str, version: int) -> None:
        self.client.set_registered_model_alias(model, "champion", str(version))

    def by_alias(self, model: str) -> int:
        return int(self.client.get_model_version_by_alias(model, "champion").version)

    def search(self, team: str) -> int:
        return len(self.client.search_model_versions(filter_string=f"tags.team = '{team}'", max_results=PAGE))


async def aclock(awaitable) -> float:
    started = time.perf_counter()
    await awaitable
    return (time.perf_counter() - started) * 1e3


def clock(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - started) * 1e3


def p50_p95(samples: list[float]) -> list[float]:
    return [round(statistics.median(samples), 3), round(statistics.quantiles(samples, n=20)[18], 3)]


async def populate(project: Project, baseline: Mlflow, specs: list[tuple[str, dict[str, str]]], workers=4) -> None:
    """Create untimed versions on both sides at once: one chain per model (so no two creates race for a
    model's next number), project chains on the event loop and MLflow chains in threads."""
    chains: dict[str, list[dict[str, str]]] = defaultdict(list)
    for model, tags in specs:
        chains[model].append(tags)
    limit = asyncio.Semaphore(workers)

    async def project_chain(model: str, tag_list: list[dict[str, str]]) -> None:
        async with limit:
            for tags in tag_list:
                await project.create(model, tags)

    def mlflow_chain(model: str, tag_list: list[dict[str, str]]) -> None:
        for tags in tag_list:
            baseline.create(model, tags)

    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(workers) as threads:
        await asyncio.gather(*(project_chain(m, t) for m, t in chains.items()),
                             *(loop.run_in_executor(threads, mlflow_chain, m, t) for m, t in chains.items()))


async def check(layout: Layout, project: Project, baseline: Mlflow) -> None:
    """Both sides answer alike, so neither is fast because it returns nothing."""
    model, version = layout.random_version()
    assert await project.get(model, version) == version == baseline.get(model, version)
    model = layout.models[0]
    assert await project.by_alias(model) == layout.champion[model] == baseline.by_alias(model)
    team = layout.teams[0]
    expected = min(PAGE, layout.per_team[team])
    got = (await project.search(team), baseline.search(team))
    assert got == (expected, expected), f"search {team}: project, mlflow returned {got}, expected {expected}"


async def settle(dsn: str) -> None:
    """VACUUM ANALYZE both sides' databases after a population, so neither is timed while autovacuum
    catches up on the rows just written (it ran mid-measurement and cost both sides, at random)."""
    import psycopg

    server = dsn.rsplit("/", 1)[0]
    async with await psycopg.AsyncConnection.connect(f"{server}/postgres", autocommit=True) as conn:
        names = [r[0] for r in await (await conn.execute(
            "SELECT datname FROM pg_database WHERE datname = 'llmops' OR datname LIKE 'mlflow_bench_%'")).fetchall()]
    for name in names:
        async with await psycopg.AsyncConnection.connect(f"{server}/{name}", autocommit=True) as conn:
            await conn.execute("VACUUM ANALYZE")


async def measure(size: int, layout: Layout, project: Project, baseline: Mlflow, pool, args) -> dict:
    """Grow ``layout`` to ``size`` on both sides and time every operation there."""
    times = {op: ([], []) for op in OPS}
    sample = min(args.creates, size)
    await populate(project, baseline, layout.grow(size - layout.size - sample))
    # Each side is timed in blocks of back-to-back calls, the blocks alternating: a call timed right after
    # the other side's call would pay for the machine waking from that gap (measured: a 7 ms pause before
    # each call turns a 0.9 ms gRPC get into 2.3 ms, and inflates MLflow alike).
    await settle(args.dsn)
    creates = layout.grow(sample)
    for start in range(0, sample, BLOCK):
        for model, tags in creates[start:start + BLOCK]:
            times["create-version"][0].append(await aclock(project.create(model, tags)))
        for model, tags in creates[start:start + BLOCK]:
            times["create-version"][1].append(clock(baseline.create, model, tags))
    for model in layout.models:  # move each model's alias to a random version (untimed)
        layout.champion[model] = layout.rng.randint(1, layout.versions[model])
        await project.set_alias(model, layout.champion[model])
        baseline.set_alias(model, layout.champion[model])
    await check(layout, project, baseline)

    select1: list[float] = []

    async def select_one() -> None:
        async with pool.connection() as conn:
            await (await conn.execute("SELECT 1")).fetchone()

    calls = {
        "get-version": (args.gets, layout.random_version, project.get, baseline.get),
        "get-by-alias": (args.gets, lambda: (layout.rng.choice(layout.models),), project.by_alias, baseline.by_alias),
        "search-by-tag": (args.searches, lambda: (layout.rng.choice(layout.teams),), project.search, baseline.search),
    }
    for op, (count, target, project_call, mlflow_call) in calls.items():
        chosen = [target() for _ in range(WARMUP + count)]
        for start in range(0, len(chosen), BLOCK):
            block = chosen[start:start + BLOCK]
            project_ms = [await aclock(project_call(*c)) for c in block]
            mlflow_ms = [clock(mlflow_call, *c) for c in block]
            select_ms = [await aclock(select_one()) for _ in block] if op == "get-by-alias" else []
            keep = max(0, WARMUP - start)  # the first WARMUP calls of each side are not timed
            times[op][0].extend(project_ms[keep:])
            times[op][1].extend(mlflow_ms[keep:])
            select1.extend(select_ms[keep:])
    result = {op: {"project": p50_p95(p), "mlflow": p50_p95(m)} for op, (p, m) in times.items()}
    return {**result, "select1_p50": round(statistics.median(select1), 3)}


def print_table(size: int, label: str, result: dict) -> None:
    print(f"\nN = {size:,} versions, {label} (bare SELECT 1 via a psycopg pool: p50 {result['select1_p50']:.3f} ms)")
    print(f"  {'operation':<15}{'project p50':>12}{'p95':>9}{'mlflow p50':>12}{'p95':>9}{'speedup':>9}")
    for op in OPS:
        (pp50, pp95), (mp50, mp95) = result[op]["project"], result[op]["mlflow"]
        print(f"  {op:<15}{pp50:>12.2f}{pp95:>9.2f}{mp50:>12.2f}{mp95:>9.2f}{mp50 / pp50:>8.1f}x", flush=True)


async def start_mlflow(dsn: str, tmp: Path, procs: list[subprocess.Popen]) -> str:
    """MLflow's tracking server (one uvicorn worker, no access log, no job runner) on a fresh database of
    the same Postgres; its URL once it answers."""
    database = f"mlflow_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    port = free_port()
    proc = spawn([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                  "--workers", "1", "--uvicorn-opts", "--no-access-log",
                  "--backend-store-uri", dsn.rsplit("/", 1)[0] + f"/{database}",
                  "--default-artifact-root", str(tmp / "mlartifacts")],
                 {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"},
                 tmp / "mlflow.log", procs)

    async def answering() -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).status == 200
        except OSError:
            return False

    await wait_ready(proc, tmp / "mlflow.log", answering)
    return f"http://127.0.0.1:{port}"


async def main(args: argparse.Namespace) -> dict:
    sizes = QUICK_SIZES if args.quick else SIZES
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp, procs, pool = Path(tmp_dir), [], None
        stack = EmbeddedStack(tmp / "stack", StackPorts.free())
        try:
            stack.up()
            env = stack.env()
            await migrate(["registry"], env)
            artifacts = ArtifactStore.from_settings(
                CommonSettings(**{k.removeprefix("LLMOPS_").lower(): v for k, v in env.items()}))
            artifacts.ensure_buckets()
            artifacts.put_bytes(f"{ARTIFACT}/model.safetensors", b"w" * 4096)
            project = Project(await start_registry(env, tmp, procs, admin_key=ADMIN_KEY))
            baseline = Mlflow(await start_mlflow(stack.postgres_dsn, tmp, procs))
            args.dsn = stack.postgres_dsn
            pool = make_pool(stack.postgres_dsn, "registry", max_size=2)  # the service's pool settings
            await pool.open(wait=True)

            layouts = [Layout(label, models, seed) for seed, (label, models) in enumerate(LAYOUTS.items())]
            for layout in layouts:
                for model in layout.models:
                    await project.create_model(model)
                    baseline.create_model(model)
            results: dict[str, dict] = {}
            for size in sizes:
                for layout in layouts:
                    started = time.monotonic()
                    result = await measure(size, layout, project, baseline, pool, args)
                    results.setdefault(str(size), {})[layout.label] = result
                    print_table(size, layout.label, result)
                    print(f"  ({time.monotonic() - started:.0f} s)", flush=True)
            await project.channel.close()
        finally:
            if pool is not None:
                await pool.close()
            for proc in reversed(procs):
                stop(proc)
            stack.down()
    return summarize(sizes, results)


def summarize(sizes: tuple[int, ...], results: dict) -> dict:
    first, last = results[str(sizes[0])], results[str(sizes[-1])]
    p50 = lambda r, layout, op, side="project": r[layout][op][side][0]  # noqa: E731
    speedups = {f"{layout}/{op}": p50(last, layout, op, "mlflow") / p50(last, layout, op) for layout in LAYOUTS
                for op in OPS}
    flatness = {f"{layout}/{op}": p50(last, layout, op) / p50(first, layout, op) for layout in LAYOUTS for op in OPS}
    alias_ratio = max(p50(last, layout, "get-by-alias") / last[layout]["select1_p50"] for layout in LAYOUTS)
    print(f"\nflatness, project p50 at {sizes[-1]:,} / p50 at {sizes[0]:,} versions (target <= {TARGET_FLATNESS}):")
    for layout in LAYOUTS:
        print(f"  {layout:<12}" + "   ".join(f"{op} {flatness[f'{layout}/{op}']:.2f}" for op in OPS))
    # Below TEAMS * PAGE versions a search returns fewer than a page (~N/10), so search-by-tag's flatness
    # from the smallest size also counts a larger reply; this one compares full pages only.
    full = [n for n in sizes if n >= TEAMS * PAGE]
    search_full = None if len(full) < 2 else max(
        p50(last, layout, "search-by-tag") / p50(results[str(full[0])], layout, "search-by-tag") for layout in LAYOUTS)
    if search_full is not None:
        print(f"search-by-tag flatness with full pages of {PAGE} ({full[-1]:,} / {full[0]:,}): {search_full:.2f}")
    worst = min(speedups, key=speedups.get)
    print(f"smallest speedup vs mlflow at {sizes[-1]:,}: {speedups[worst]:.1f}x ({worst}; target >= {TARGET_SPEEDUP})")
    print(f"get-by-alias p50 / bare SELECT 1 p50 at {sizes[-1]:,}: {alias_ratio:.1f} (target <= "
          f"{TARGET_ALIAS_VS_SELECT1}; a gRPC call end to end against a pool query alone)")
    return {
        "bench": "registry",
        "min_speedup_vs_mlflow": round(speedups[worst], 2),
        "target_speedup": TARGET_SPEEDUP,
        "max_flatness": round(max(flatness.values()), 2),
        "target_flatness": TARGET_FLATNESS,
        "search_flatness_full_pages": search_full and round(search_full, 2),
        "alias_vs_select1": round(alias_ratio, 2),
        "target_alias_vs_select1": TARGET_ALIAS_VS_SELECT1,
        "alias_vs_select1_note": "get-by-alias is a gRPC call end to end; SELECT 1 a bare psycopg pool query",
        "sizes": list(sizes),
        "results": results,
        "mlflow_version": mlflow.__version__,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus python {platform.python_version()}",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 100 and 1,000 only (about two minutes)")
    parser.add_argument("--creates", type=int, default=200, help="creates timed at the end of each population")
    parser.add_argument("--gets", type=int, default=300, help="get-version and get-by-alias calls timed per size")
    parser.add_argument("--searches", type=int, default=100, help="search-by-tag calls timed per size")
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
