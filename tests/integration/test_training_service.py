"""The training service in-process on the embedded stack, with the real registry, prompt store and
ingestion service beside it, and a fake job launcher that replays a scripted JobEvent log (Ray's own
path is tested end to end elsewhere). Proves: validation happens before any launch; a run goes
PENDING -> QUEUED -> RUNNING -> SUCCEEDED and is registered once, however often ``succeeded`` is
applied; a NaN-loss failure fails the run with its step; cancel stops the job; an unreachable cluster
keeps the run QUEUED, then fails it, while the service stays SERVING; StreamProgress replays, then
follows to the end."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql

from llmops.ingestion.v1 import ingestion_pb2 as ing_pb
from llmops.ingestion.v1 import ingestion_pb2_grpc as ing_grpc
from llmops.prompts.v1 import prompts_pb2 as pr_pb
from llmops.prompts.v1 import prompts_pb2_grpc as pr_grpc
from llmops.registry.v1 import registry_pb2 as reg_pb
from llmops.registry.v1 import registry_pb2_grpc as reg_grpc
from llmops.training.v1 import training_pb2 as pb
from llmops.training.v1 import training_pb2_grpc as pb_grpc
from llmops_cli.migrations import migrate
from llmops_common.errors import Unavailable
from llmops_common.runtime import Service, run_service
from llmops_common.storage import ArtifactStore
from llmops_common.testing.processes import TEST_ADMIN_KEY
from llmops_common.testing.waiting import wait_for
from llmops_ingestion.bootstrap import bootstrap as ingestion_bootstrap
from llmops_ingestion.bootstrap import migrations as ingestion_migrations
from llmops_ingestion.settings import IngestionSettings
from llmops_prompts.bootstrap import bootstrap as prompts_bootstrap
from llmops_prompts.bootstrap import migrations as prompts_migrations
from llmops_prompts.settings import PromptsSettings
from llmops_registry.bootstrap import bootstrap as registry_bootstrap
from llmops_registry.bootstrap import migrations as registry_migrations
from llmops_registry.settings import RegistrySettings
from llmops_training.bootstrap import bootstrap as training_bootstrap
from llmops_training.bootstrap import migrations as training_migrations
from llmops_training.jobs.protocol import JobEvent, SweepPlan, TrainPlan
from llmops_training.launcher import JobLauncher
from llmops_training.settings import TrainingSettings

pytestmark = pytest.mark.integration
METADATA = (("authorization", f"Bearer {TEST_ADMIN_KEY}"),)
QUEUE_TIMEOUT = 3.0
TINY_LLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
              "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
              "vocab_size": 256, "max_position_embeddings": 128}


@dataclass
class ScriptedLauncher(JobLauncher):
    """Replays what the test appends to ``logs[job_id]``; records every submit and cancel."""

    up: bool = True
    logs: dict[str, list[JobEvent]] = field(default_factory=dict)
    plans: dict[str, TrainPlan | SweepPlan] = field(default_factory=dict)
    submits: list[str] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)

    async def reachable(self) -> bool:
        return self.up

    async def submit(self, job_id: str, plan: TrainPlan | SweepPlan) -> None:
        if not self.up:
            raise Unavailable("no Ray cluster")
        self.submits.append(job_id)
        self.plans.setdefault(job_id, plan)
        self.logs.setdefault(job_id, [])

    async def poll(self, job_id: str, after: int) -> list[JobEvent]:
        if not self.up:
            raise Unavailable("no Ray cluster")
        return [e for e in self.logs.get(job_id, []) if e.seq > after]

    async def cancel(self, job_id: str) -> None:
        self.cancels.append(job_id)
        self.append(job_id, "cancelled")

    async def close(self) -> None:
        pass

    def append(self, job_id: str, kind: str, *, seq: int | None = None, **fields: object) -> JobEvent:
        log = self.logs.setdefault(job_id, [])
        entry = JobEvent(seq=seq or len(log) + 1, kind=kind, at=time.time(), **fields)
        log.append(entry)
        return entry


@dataclass
class Platform:
    training: pb_grpc.TrainingServiceStub
    registry: reg_grpc.RegistryServiceStub
    health: health_pb2_grpc.HealthStub
    launcher: ScriptedLauncher
    artifacts: ArtifactStore
    base: str
    dataset: str
    prompt: str
    name: str


async def _serve(service: Service, migrations: list, stop: asyncio.Event) -> tuple[asyncio.Task, int]:
    ports: list[int] = []
    task = asyncio.create_task(run_service(service.adapters, migrations=migrations,
                                           grpc_services=service.grpc_services, stop=stop,
                                           ready=lambda server: ports.append(server.port),
                                           background=service.background))
    await wait_for(lambda: ports, 30, what="the gRPC port")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{ports[0]}") as channel:
        async def serving() -> bool:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            return reply.status == health_pb2.HealthCheckResponse.SERVING
        await wait_for(serving, 60, what="SERVING", retry_on=(grpc.aio.AioRpcError,))
    return task, ports[0]


@pytest.fixture(scope="module")
async def platform(stack_env) -> AsyncIterator[Platform]:
    database = f"training_{uuid.uuid4().hex[:8]}"
    server_dsn = stack_env["LLMOPS_POSTGRES_DSN"]
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    env = {**stack_env, "LLMOPS_POSTGRES_DSN": server_dsn.rsplit("/", 1)[0] + f"/{database}",
           "LLMOPS_BOOTSTRAP_ADMIN_KEY": TEST_ADMIN_KEY, "LLMOPS_STARTUP_RETRY_SECONDS": "30"}
    await migrate(["registry", "prompts", "ingestion", "training"], env)
    common = {"grpc_port": 0, "metrics_port": 0, "grpc_host": "127.0.0.1"}
    stop = asyncio.Event()
    tasks = []
    ports = {}
    for name, settings, boot, migrations in (
        ("registry", RegistrySettings.from_variables(env, **common), registry_bootstrap, registry_migrations()),
        ("prompts", PromptsSettings.from_variables(env, **common), prompts_bootstrap, prompts_migrations()),
        ("ingestion", IngestionSettings.from_variables(env, **common, job_poll_seconds=0.2), ingestion_bootstrap,
         ingestion_migrations()),
    ):
        task, ports[name] = await _serve(boot(settings), migrations, stop)
        tasks.append(task)
    launcher = ScriptedLauncher()
    settings = TrainingSettings.from_variables(
        env, **common, registry_endpoint=f"127.0.0.1:{ports['registry']}",
        ingestion_endpoint=f"127.0.0.1:{ports['ingestion']}", prompts_endpoint=f"127.0.0.1:{ports['prompts']}",
        queue_timeout_seconds=QUEUE_TIMEOUT, poll_interval_seconds=0.1, stream_poll_seconds=0.1)
    task, ports["training"] = await _serve(training_bootstrap(settings, launcher=launcher), training_migrations(),
                                           stop)
    tasks.append(task)
    artifacts = ArtifactStore.from_settings(settings)
    channels = {k: grpc.aio.insecure_channel(f"127.0.0.1:{p}") for k, p in ports.items()}
    try:
        yield await _seed(channels, launcher, artifacts)
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)
        for channel in channels.values():
            await channel.close()
        _drop(server_dsn, database)


def _drop(server_dsn: str, database: str) -> None:
    """Drop the test's database; once more on a fresh connection if the first one was cut (the forced
    drop ends the services' connections, which a loaded machine may still be closing)."""
    for attempt in (1, 2):
        try:
            with psycopg.connect(server_dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
            return
        except psycopg.OperationalError:
            if attempt == 2:
                raise
            time.sleep(1)


async def _seed(channels: dict, launcher: ScriptedLauncher, artifacts: ArtifactStore) -> Platform:
    """A tiny llama base in the registry, an ingested instruction dataset, and a prompt."""
    name = f"t{uuid.uuid4().hex[:8]}"
    registry = reg_grpc.RegistryServiceStub(channels["registry"])
    base_uri = f"s3://llmops-models/{name}/base"
    artifacts.put_bytes(f"{base_uri}/config.json", json.dumps(TINY_LLAMA).encode())
    artifacts.put_bytes(f"{base_uri}/model.safetensors", b"w" * 64)
    await registry.CreateRegisteredModel(reg_pb.CreateRegisteredModelRequest(name=f"{name}-base"), metadata=METADATA)
    await registry.CreateModelVersion(reg_pb.CreateModelVersionRequest(
        model_name=f"{name}-base", artifact_uri=base_uri, kind=reg_pb.MODEL_KIND_BASE), metadata=METADATA)

    source = f"s3://llmops-artifacts/{name}/qa.jsonl"
    records = [{"instruction": f"What is {i} plus {i}? Answer briefly, number {i}.", "input": "",
                "output": f"The answer is {2 * i}, as {i} and {i} make {2 * i}."} for i in range(60)]
    artifacts.put_bytes(source, "\n".join(json.dumps(r) for r in records).encode())
    ingestion = ing_grpc.IngestionServiceStub(channels["ingestion"])
    job = await ingestion.IngestDataset(ing_pb.IngestDatasetRequest(
        dataset_name=name, source=ing_pb.DataSource(s3_uri=source)), metadata=METADATA)

    async def ingested() -> ing_pb.IngestionJob | None:
        got = await ingestion.GetIngestionJob(ing_pb.GetIngestionJobRequest(job_id=job.job_id), metadata=METADATA)
        return got if got.status in (ing_pb.JOB_STATUS_SUCCEEDED, ing_pb.JOB_STATUS_FAILED) else None
    done = await wait_for(ingested, 120, what="the dataset to be ingested", interval=0.3)
    assert done.status == ing_pb.JOB_STATUS_SUCCEEDED, done.error

    prompts = pr_grpc.PromptServiceStub(channels["prompts"])
    await prompts.CreatePrompt(pr_pb.CreatePromptRequest(name=name), metadata=METADATA)
    await prompts.CreateVersion(pr_pb.CreateVersionRequest(
        prompt_name=name, text="### Instruction\n{{ instruction }}\n{{ input }}\n### Response\n",
        variables=[pr_pb.VariableSpec(name="instruction", type=pr_pb.VARIABLE_TYPE_STRING, required=True),
                   pr_pb.VariableSpec(name="input", type=pr_pb.VARIABLE_TYPE_STRING, required=False)]),
        metadata=METADATA)
    return Platform(pb_grpc.TrainingServiceStub(channels["training"]), registry,
                    health_pb2_grpc.HealthStub(channels["training"]), launcher, artifacts,
                    f"models:/{name}-base/1", f"{name}@{done.version.version}", f"{name}@latest", name)


def spec(p: Platform, **changes: object) -> pb.TrainingSpec:
    message = pb.TrainingSpec(base_model=p.base, dataset_version=p.dataset, prompt_version=p.prompt,
                              hyperparameters=pb.Hyperparameters(max_steps=4, max_seq_length=64),
                              distributed=pb.DistributedConfig(num_workers=2))
    for path, value in changes.items():
        target = message
        *parents, leaf = path.split("__")
        for parent in parents:
            target = getattr(target, parent)
        if isinstance(value, list):
            getattr(target, leaf).extend(value)
        else:
            setattr(target, leaf, value)
    return message


async def status_of(p: Platform, run_id: str) -> pb.TrainingRun:
    return await p.training.GetRun(pb.GetRunRequest(run_id=run_id), metadata=METADATA)


async def reaches(p: Platform, run_id: str, status: int, timeout: float = 20) -> pb.TrainingRun:
    async def check() -> pb.TrainingRun | None:
        run = await status_of(p, run_id)
        return run if run.status == status else None
    return await wait_for(check, timeout, what=f"run {run_id} to reach {pb.RunStatus.Name(status)}", interval=0.05)


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"base_model": "models:/nobody/1"}, grpc.StatusCode.FAILED_PRECONDITION, "base_model"),
    ({"dataset_version": "nobody@" + "0" * 32}, grpc.StatusCode.FAILED_PRECONDITION, "dataset_version"),
    ({"prompt_version": "nobody@latest"}, grpc.StatusCode.FAILED_PRECONDITION, "prompt_version"),
    ({"hyperparameters__learning_rate": 0.0}, grpc.StatusCode.INVALID_ARGUMENT, "hyperparameters.learning_rate"),
    ({"hyperparameters__learning_rate": -1.0}, grpc.StatusCode.INVALID_ARGUMENT, "hyperparameters.learning_rate"),
    ({"lora__r": 0}, grpc.StatusCode.INVALID_ARGUMENT, "lora.r"),
    ({"lora__target_modules": ["query_key_value"]}, grpc.StatusCode.INVALID_ARGUMENT, "lora.target_modules[0]"),
    ({"hyperparameters__max_seq_length": 4096}, grpc.StatusCode.INVALID_ARGUMENT, "hyperparameters.max_seq_length"),
    ({"distributed__mixed_precision": "bf16"}, grpc.StatusCode.INVALID_ARGUMENT, "distributed.precision"),
])
async def test_submit_validation_errors_come_before_any_launch(platform, changes, code, field):
    before = list(platform.launcher.submits)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await platform.training.SubmitRun(pb.SubmitRunRequest(spec=spec(platform, **changes)), metadata=METADATA)
    assert err.value.code() == code and field in err.value.details()
    await asyncio.sleep(0.3)  # a tracker pass or two
    assert platform.launcher.submits == before


async def test_a_run_is_tracked_to_success_and_registered_once(platform):
    p, launcher = platform, platform.launcher
    seen: list[int] = []
    run = await p.training.SubmitRun(pb.SubmitRunRequest(name="ok", spec=spec(p), request_id="ok-1"),
                                     metadata=METADATA)
    seen.append(run.status)
    queued = await reaches(p, run.run_id, pb.RUN_STATUS_QUEUED)
    seen.append(queued.status)
    plan = launcher.plans[run.run_id]
    assert plan.lora.target_modules == ("q_proj", "v_proj") and plan.data.shape == "instruction"
    assert plan.distributed.workers == 2 and plan.data.train_uris and plan.data.template["text"].startswith("###")
    launcher.append(run.run_id, "started", data={"workers": 2, "total_steps": 4})
    seen.append((await reaches(p, run.run_id, pb.RUN_STATUS_RUNNING)).status)
    for step in (1, 2, 3, 4):
        launcher.append(run.run_id, "progress", step=step, metrics={"loss": 3.0 - step / 2, "learning_rate": 1e-4},
                        data={"total_steps": 4})
    p.artifacts.put_bytes(f"{plan.output_uri}/adapter_model.safetensors", b"a" * 32)
    succeeded = launcher.append(run.run_id, "succeeded", uri=plan.output_uri, metrics={"loss": 1.0})
    launcher.logs[run.run_id].append(succeeded)  # redelivered: the same event twice
    done = await reaches(p, run.run_id, pb.RUN_STATUS_SUCCEEDED)
    seen.append(done.status)
    assert seen == [pb.RUN_STATUS_PENDING, pb.RUN_STATUS_QUEUED, pb.RUN_STATUS_RUNNING, pb.RUN_STATUS_SUCCEEDED]
    assert done.model_version == f"models:/{p.name}-base-lora/1" and done.progress.step == 4

    launcher.append(run.run_id, "succeeded", uri=plan.output_uri)  # a late second `succeeded`
    await asyncio.sleep(0.5)
    versions = await p.registry.SearchModelVersions(reg_pb.SearchModelVersionsRequest(
        model_name=f"{p.name}-base-lora"), metadata=METADATA)
    assert len(versions.versions) == 1
    version = versions.versions[0]
    assert version.kind == reg_pb.MODEL_KIND_ADAPTER and version.base_model_version == p.base
    assert version.lineage.training_run_id == run.run_id and version.lineage.config_hash == done.config_hash
    assert version.lineage.dataset_versions == [p.dataset] and version.lineage.prompt_version == f"{p.name}/1"
    assert version.tags["seed"] == "0" and version.lineage.code_version.startswith("llmops-platform")
    again = await p.training.SubmitRun(pb.SubmitRunRequest(name="ok", spec=spec(p), request_id="ok-1"),
                                       metadata=METADATA)
    assert again.run_id == run.run_id and launcher.submits.count(run.run_id) == 1


async def test_a_nan_loss_failure_fails_the_run_with_its_step(platform):
    p = platform
    run = await p.training.SubmitRun(pb.SubmitRunRequest(spec=spec(p)), metadata=METADATA)
    await reaches(p, run.run_id, pb.RUN_STATUS_QUEUED)
    p.launcher.append(run.run_id, "progress", step=1, metrics={"loss": 2.0})
    p.launcher.append(run.run_id, "failed", step=2, message="loss is nan at step 2; stopping")
    failed = await reaches(p, run.run_id, pb.RUN_STATUS_FAILED)
    assert "nan" in failed.error.message and failed.error.metadata["step"] == "2"


async def test_cancel_stops_the_job(platform):
    p = platform
    run = await p.training.SubmitRun(pb.SubmitRunRequest(spec=spec(p)), metadata=METADATA)
    await reaches(p, run.run_id, pb.RUN_STATUS_QUEUED)
    p.launcher.append(run.run_id, "started", data={"workers": 2, "total_steps": 4})
    await reaches(p, run.run_id, pb.RUN_STATUS_RUNNING)
    cancelling = await p.training.CancelRun(pb.CancelRunRequest(run_id=run.run_id, reason="test"), metadata=METADATA)
    assert cancelling.status == pb.RUN_STATUS_CANCELLING and p.launcher.cancels[-1] == run.run_id
    await reaches(p, run.run_id, pb.RUN_STATUS_CANCELLED)


async def test_an_unreachable_cluster_queues_then_fails_while_health_stays_serving(platform):
    p = platform
    p.launcher.up = False
    try:
        run = await p.training.SubmitRun(pb.SubmitRunRequest(spec=spec(p)), metadata=METADATA)
        queued = await reaches(p, run.run_id, pb.RUN_STATUS_QUEUED)
        assert not queued.ray_job_id
        health = await p.health.Check(health_pb2.HealthCheckRequest(), timeout=2)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        failed = await reaches(p, run.run_id, pb.RUN_STATUS_FAILED, timeout=QUEUE_TIMEOUT + 20)
        assert "could not be reached" in failed.error.message and run.run_id not in p.launcher.submits
        health = await p.health.Check(health_pb2.HealthCheckRequest(), timeout=2)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        p.launcher.up = True


async def test_stream_progress_replays_then_follows_to_the_end(platform):
    p = platform
    run = await p.training.SubmitRun(pb.SubmitRunRequest(spec=spec(p, hyperparameters__max_steps=3)),
                                     metadata=METADATA)
    await reaches(p, run.run_id, pb.RUN_STATUS_QUEUED)
    plan = p.launcher.plans[run.run_id]
    p.launcher.append(run.run_id, "progress", step=1, metrics={"loss": 2.5})
    await wait_for(lambda: status_of(p, run.run_id), 10, what="step 1")
    await wait_for(lambda: _step(p, run.run_id, 1), 10, what="step 1 stored")

    received: list[pb.StreamProgressResponse] = []

    async def follow() -> None:
        stream = p.training.StreamProgress(pb.StreamProgressRequest(run_id=run.run_id, from_start=True),
                                           metadata=METADATA)
        async for update in stream:
            received.append(update)

    follower = asyncio.create_task(follow())
    await wait_for(lambda: any(u.progress.step == 1 and "loss" in u.progress.metrics for u in received), 10,
                   what="the replayed step")
    assert not follower.done()
    p.launcher.append(run.run_id, "progress", step=2, metrics={"loss": 2.0})
    p.launcher.append(run.run_id, "checkpoint", step=2, uri=f"s3://llmops-artifacts/ck/{run.run_id}/2")
    p.launcher.append(run.run_id, "progress", step=3, metrics={"loss": 1.5})
    p.artifacts.put_bytes(f"{plan.output_uri}/adapter_model.safetensors", b"a" * 32)
    p.launcher.append(run.run_id, "succeeded", uri=plan.output_uri, metrics={"loss": 1.5})
    await asyncio.wait_for(follower, 30)
    losses = [u.progress.metrics["loss"] for u in received if "loss" in u.progress.metrics
              and not u.checkpoint.uri and u.status == pb.RUN_STATUS_RUNNING and u.message == ""]
    assert losses == [2.5, 2.0, 1.5]
    assert any(u.checkpoint.uri.endswith("/2") for u in received)
    assert received[0].status == pb.RUN_STATUS_PENDING and received[-1].status == pb.RUN_STATUS_SUCCEEDED


async def _step(p: Platform, run_id: str, step: int) -> bool:
    return (await status_of(p, run_id)).progress.step >= step
