"""Fuzz fixtures: a service as its own process on the embedded stack, with a database of its own (so
the half-written check sees only what this service did), an address-space cap (so a runaway
allocation fails inside the service rather than taking the test machine down) and a restart for
when an RPC leaves it unhealthy."""

from __future__ import annotations

import asyncio
import json
import resource
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from llmops.ingestion.v1 import ingestion_pb2 as ing_pb
from llmops.ingestion.v1 import ingestion_pb2_grpc as ing_grpc
from llmops.prompts.v1 import prompts_pb2 as pr_pb
from llmops.prompts.v1 import prompts_pb2_grpc as pr_grpc
from llmops.registry.v1 import registry_pb2 as reg_pb
from llmops.registry.v1 import registry_pb2_grpc as reg_grpc
from llmops_cli.migrations import migrate
from llmops_common.storage import ArtifactStore
from llmops_common.testing.fuzz_runner import FuzzTarget, SchemaProbe
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess
from llmops_common.testing.waiting import wait_for_sync

SERVICE_MEMORY_CAP = 8 * 2**30
TINY_LLAMA = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 256, "max_position_embeddings": 128}


def _capped(service: ServiceProcess) -> ServiceProcess:
    service.start()
    assert service.proc is not None
    resource.prlimit(service.proc.pid, resource.RLIMIT_AS, (SERVICE_MEMORY_CAP, SERVICE_MEMORY_CAP))
    asyncio.run(service.wait_serving())
    return service


@pytest.fixture(scope="module")
def fuzz_service(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Callable[..., tuple[FuzzTarget, ServiceProcess]]]:
    """``fuzz_service("registry", "llmops_registry.main", extra_env, **probe_options)``: the service on a
    fresh database, SERVING, with a FuzzTarget that calls it with the admin key and probes its schema."""
    started: list[tuple[FuzzTarget, ServiceProcess, str]] = []
    server_dsn = stack_env["LLMOPS_POSTGRES_DSN"]

    def start(name: str, module: str, extra_env: dict[str, str] | None = None,
              **probe_options: frozenset[str]) -> tuple[FuzzTarget, ServiceProcess]:
        database = f"fuzz_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        dsn = server_dsn.rsplit("/", 1)[0] + f"/{database}"
        env = {**stack_env, "LLMOPS_POSTGRES_DSN": dsn, **(extra_env or {})}
        asyncio.run(migrate([name], env))
        log = Path(tmp_path_factory.mktemp(f"fuzz-{name}")) / f"{name}.log"
        service = _capped(ServiceProcess(name, module, env, log))

        def restart() -> None:
            service.stop(timeout=3)
            _capped(service)

        target = FuzzTarget(service.endpoint, SchemaProbe(dsn, name, **probe_options),
                            [("authorization", f"Bearer {TEST_ADMIN_KEY}")], restart=restart)
        started.append((target, service, database))
        return target, service

    yield start
    for target, service, database in started:
        target.close()
        service.stop()
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


@pytest.fixture(scope="module")
def seeded_references(fuzz_service, settings_for) -> tuple[dict[str, str], dict[str, str]]:
    """Registry, ingestion and prompts with a base model, a dataset version and a prompt; returns their
    endpoints by service and the references (base, dataset, prompt)."""
    run = uuid.uuid4().hex[:8]
    registry, _ = fuzz_service("registry", "llmops_registry.main")
    ingestion, _ = fuzz_service("ingestion", "llmops_ingestion.main")
    prompts, _ = fuzz_service("prompts", "llmops_prompts.main")
    artifacts = ArtifactStore.from_settings(settings_for())
    artifacts.ensure_buckets()
    base_uri = f"s3://llmops-models/fz-{run}/base"
    artifacts.put_bytes(f"{base_uri}/config.json", json.dumps(TINY_LLAMA).encode())
    artifacts.put_bytes(f"{base_uri}/model.safetensors", b"w" * 64)
    md = registry.metadata
    reg = reg_grpc.RegistryServiceStub(registry.channel)
    reg.CreateRegisteredModel(reg_pb.CreateRegisteredModelRequest(name=f"fz-{run}"), metadata=md)
    reg.CreateModelVersion(reg_pb.CreateModelVersionRequest(model_name=f"fz-{run}", artifact_uri=base_uri,
                                                            kind=reg_pb.MODEL_KIND_BASE), metadata=md)
    source = f"s3://llmops-artifacts/fz-{run}/qa.jsonl"
    artifacts.put_bytes(source, "\n".join(json.dumps({"instruction": f"Question number {i} about things?",
                                                      "input": "", "output": f"Answer {i} in words."})
                                          for i in range(40)).encode())
    ing = ing_grpc.IngestionServiceStub(ingestion.channel)
    job = ing.IngestDataset(ing_pb.IngestDatasetRequest(dataset_name=f"fz-{run}",
                                                        source=ing_pb.DataSource(s3_uri=source)), metadata=md)

    def ended() -> ing_pb.IngestionJob | None:
        got = ing.GetIngestionJob(ing_pb.GetIngestionJobRequest(job_id=job.job_id), metadata=md)
        return got if got.status in (ing_pb.JOB_STATUS_SUCCEEDED, ing_pb.JOB_STATUS_FAILED) else None
    done = wait_for_sync(ended, 120, what="the dataset", interval=0.3)
    assert done.status == ing_pb.JOB_STATUS_SUCCEEDED, done.error
    pr = pr_grpc.PromptServiceStub(prompts.channel)
    pr.CreatePrompt(pr_pb.CreatePromptRequest(name=f"fz-{run}"), metadata=md)
    pr.CreateVersion(pr_pb.CreateVersionRequest(
        prompt_name=f"fz-{run}", text="{{ instruction }}\n",
        variables=[pr_pb.VariableSpec(name="instruction", type=pr_pb.VARIABLE_TYPE_STRING, required=True)]),
        metadata=md)
    endpoints = {"registry": registry.endpoint, "ingestion": ingestion.endpoint, "prompts": prompts.endpoint}
    refs = {"base": f"models:/fz-{run}/1", "dataset": f"fz-{run}@{done.version.version}", "prompt": f"fz-{run}@latest"}
    return endpoints, refs
