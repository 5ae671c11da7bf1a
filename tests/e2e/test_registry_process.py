"""The registry as its own process, driven over gRPC and NATS like a user would."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2

from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc as pb_grpc
from llmops_cli.migrations import migrate
from llmops_common.auth import PostgresApiKeyStore, Role, create_key
from llmops_common.bus import Bus
from llmops_common.embedded import free_port
from llmops_common.events import Envelope
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.events.registry import AliasMoved, ModelVersionCreated
from llmops_common.storage import ArtifactStore
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess, health
from llmops_common.testing.waiting import wait_for

pytestmark = pytest.mark.e2e
ADMIN = TEST_ADMIN_KEY


def start_registry(env: dict[str, str], log: Path) -> tuple[ServiceProcess, int]:
    service = ServiceProcess("registry", "llmops_registry.main", env, log).start()
    return service, service.port


async def only_trusted_results_pass_gates(stub, pg_pool, admin: list, name: str, uri: str) -> None:
    """A developer's own bleu=99, dated in the year 3000, does not pass bleu>=30; the evaluation
    service's results (its event, or its service-role key) do."""
    store = PostgresApiKeyStore(pg_pool)
    _, developer = await create_key(store, name=f"dev-{name}", role=Role.DEVELOPER, created_by="e2e")
    _, evaluator = await create_key(store, name=f"eval-{name}", role=Role.SERVICE, created_by="e2e")
    as_dev, as_evaluator = [("authorization", f"Bearer {developer}")], [("authorization", f"Bearer {evaluator}")]
    await stub.CreateModelVersion(pb.CreateModelVersionRequest(model_name=name, artifact_uri=uri,
                                                               kind=pb.MODEL_KIND_BASE, request_id="r2"),
                                  metadata=admin)
    year_3000 = Timestamp(seconds=32503680000)
    own = await stub.AttachEvaluation(pb.AttachEvaluationRequest(
        model_name=name, version=2, evaluation=pb.EvaluationResult(
            evaluation_run_id="mine", metrics={"bleu": 99.0}, completed_at=year_3000)), metadata=as_dev)
    (mine,) = own.evaluations
    assert (mine.attached_by, mine.trusted, mine.completed_at) == (f"dev-{name}", False, year_3000)
    assert mine.recorded_at.seconds < time.time() + 60
    gate = pb.MetricGate(metric_name="bleu", threshold=30.0, greater_is_better=True)
    await stub.SetPolicy(pb.SetPolicyRequest(policy=pb.AliasPolicy(model_name=name, alias="production", protected=True,
                                                                   gates=[gate], required_approvals=1)), metadata=admin)

    async def promote(version: int) -> pb.PromotionRequest:
        return await stub.RequestPromotion(pb.RequestPromotionRequest(model_name=name, alias="production",
                                                                      version=version), metadata=as_dev)

    refused = await promote(2)
    assert refused.status == pb.PROMOTION_STATUS_GATES_FAILED
    assert "no trusted bleu" in refused.gate_results[0].message
    assert (await promote(1)).status == pb.PROMOTION_STATUS_PENDING  # 31.5, delivered by event
    await stub.AttachEvaluation(pb.AttachEvaluationRequest(model_name=name, version=2, evaluation=pb.EvaluationResult(
        evaluation_run_id="by-service", metrics={"bleu": 40.0})), metadata=as_evaluator)
    assert (await promote(2)).status == pb.PROMOTION_STATUS_PENDING


async def test_registry_serves_grpc_emits_through_outbox_and_consumes_evaluations(stack_env, settings_for, pg_pool,
                                                                                 unique_name, tmp_path):
    await migrate(["registry"], stack_env)
    settings = settings_for()
    artifacts = ArtifactStore.from_settings(settings)
    artifacts.ensure_buckets()
    uri = f"s3://llmops-models/{unique_name}/v1"
    artifacts.put_bytes(f"{uri}/adapter_model.safetensors", b"w" * 4096)

    bus = Bus(settings, producer="e2e-test")
    created: list[Envelope] = []

    async def on_created(env: Envelope) -> None:
        if env.payload.model_name == unique_name:
            created.append(env)

    bus.subscribe(ModelVersionCreated.event_type, durable=f"e2e-{unique_name}", handler=on_created)
    moved: list[Envelope] = []

    async def on_moved(env: Envelope) -> None:
        if env.payload.model_name == unique_name:
            moved.append(env)

    bus.subscribe(AliasMoved.event_type, durable=f"e2e-moved-{unique_name}", handler=on_moved)
    await bus.start()

    log = tmp_path / "registry.log"
    proc, port = start_registry(stack_env, log)
    try:
        await proc.wait_serving()
        metadata = [("authorization", f"Bearer {ADMIN}"), ("x-correlation-id", f"corr-{unique_name}")]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.RegistryServiceStub(channel)
            await stub.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=unique_name), metadata=metadata)
            version = await stub.CreateModelVersion(
                pb.CreateModelVersionRequest(model_name=unique_name, artifact_uri=uri, kind=pb.MODEL_KIND_BASE,
                                             request_id="r1"),
                metadata=metadata,
            )
            assert version.version == 1 and version.size_bytes == 4096
            with pytest.raises(grpc.RpcError) as err:
                await stub.CreateModelVersion(
                    pb.CreateModelVersionRequest(model_name=unique_name, artifact_uri=f"{uri}-missing",
                                                 kind=pb.MODEL_KIND_BASE),
                    metadata=metadata,
                )
            assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION

            await wait_for(lambda: len(created) == 1, what="model_version.created through the outbox")
            assert created[0].payload.version == 1
            assert created[0].correlation_id == f"corr-{unique_name}"

            completed = Envelope.wrap(
                EvaluationRunCompleted(evaluation_run_id="ev1", model_name=unique_name, model_version=1,
                                       metrics={"bleu": 31.5}),
                producer="e2e-test",
            )
            await bus.publish(completed)
            await bus.publish_raw(completed.subject, completed.to_bytes(), {"Nats-Msg-Id": "redelivered-copy"})

            async def evaluated() -> pb.ModelVersion | None:
                got = await stub.GetModelVersion(pb.GetModelVersionRequest(model_name=unique_name, version=1),
                                                 metadata=metadata)
                return got if got.evaluations else None

            got = await wait_for(evaluated, what="the evaluation delivered by event", interval=0.2)
            assert [dict(e.metrics) for e in got.evaluations] == [{"bleu": 31.5}]
            assert (got.evaluations[0].attached_by, got.evaluations[0].trusted) == ("evaluation-service", True)
            await only_trusted_results_pass_gates(stub, pg_pool, metadata, unique_name, uri)

            params = Struct()
            params.update({"temperature": 0.2})
            await stub.SetAlias(pb.SetAliasRequest(model_name=unique_name, alias="champion", version=1,
                                                   prompt_version="support/3", sampling_parameters=params),
                                metadata=metadata)
            await wait_for(lambda: len(moved) == 1, what="alias.moved, the serving service's trigger")
            assert (moved[0].payload.alias, moved[0].payload.previous_version, moved[0].payload.new_version) == (
                "champion", None, 1)
            assert moved[0].payload.prompt_version == "support/3"
            assert moved[0].payload.parameters == {"temperature": 0.2}
        assert proc.stop() == 0
        assert "registry stopped" in log.read_text()
    finally:
        if proc.proc.poll() is None:
            proc.proc.kill()
        await bus.stop()


async def test_unreachable_nats_keeps_the_service_up_but_not_serving(stack_env, tmp_path):
    await migrate(["registry"], stack_env)
    log = tmp_path / "registry.log"
    env = {**stack_env, "LLMOPS_NATS_URL": f"nats://127.0.0.1:{free_port()}"}
    proc, port = start_registry(env, log)
    try:
        async def answering() -> bool:
            return await health(port) is not None

        await wait_for(answering, 15, what="the gRPC server to answer health checks", interval=0.2)
        await wait_for(lambda: "nats unavailable; retrying" in log.read_text(), 15, what="the NATS retry in the log",
                       interval=0.2)
        assert proc.proc.poll() is None, log.read_text()
        assert await health(port) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert proc.stop() == 0
    finally:
        if proc.proc.poll() is None:
            proc.proc.kill()


async def test_outdated_schema_is_refused_at_start(stack_env, tmp_path, unique_name):
    log = tmp_path / "registry.log"
    env = {**stack_env, "LLMOPS_STARTUP_RETRY_SECONDS": "1"}
    # a fresh, never-migrated database: the service must refuse it, not create tables itself
    import psycopg

    dsn = stack_env["LLMOPS_POSTGRES_DSN"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{unique_name}"')
    env["LLMOPS_POSTGRES_DSN"] = dsn.rsplit("/", 1)[0] + f"/{unique_name}"
    proc, _ = start_registry(env, log)
    try:
        code = proc.proc.wait(30)
    finally:
        if proc.proc.poll() is None:
            proc.proc.kill()
    assert code != 0
    assert "is not migrated" in log.read_text()
