"""Infrastructure failing under a running service: callers get UNAVAILABLE, not INTERNAL, and the
service recovers by itself when the dependency returns. Runs on a stack of its own, since it stops
PostgreSQL."""

from __future__ import annotations

import time

import grpc
import psycopg
import pytest

from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc as pb_grpc
from llmops_cli.migrations import migrate
from llmops_common.embedded import EmbeddedStack, StackPorts
from llmops_common.settings import CommonSettings
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess
from llmops_common.testing.waiting import wait_for

pytestmark = pytest.mark.e2e
METADATA = [("authorization", f"Bearer {TEST_ADMIN_KEY}")]


@pytest.fixture
def own_stack(tmp_path):
    stack = EmbeddedStack(tmp_path / "stack", StackPorts.free())
    stack.up()
    yield stack
    stack.down()


async def test_postgres_down_mid_operation_gives_unavailable_then_recovers(own_stack, tmp_path):
    env = own_stack.env()
    await migrate(["registry"], env)
    service = ServiceProcess("registry", "llmops_registry.main", env, tmp_path / "registry.log").start()
    try:
        await service.wait_serving()
        async with grpc.aio.insecure_channel(service.endpoint) as channel:
            stub = pb_grpc.RegistryServiceStub(channel)
            await stub.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name="m"), metadata=METADATA)

            own_stack.stop_postgres("immediate")
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as err:
                await stub.GetRegisteredModel(pb.GetRegisteredModelRequest(name="m"), metadata=METADATA, timeout=30)
            assert err.value.code() is grpc.StatusCode.UNAVAILABLE, err.value.details()
            assert "Traceback" not in err.value.details()
            assert time.monotonic() - started < 15

            own_stack.start_postgres()

            async def model() -> pb.RegisteredModel:
                try:
                    return await stub.GetRegisteredModel(pb.GetRegisteredModelRequest(name="m"), metadata=METADATA)
                except grpc.RpcError as exc:
                    assert exc.code() is grpc.StatusCode.UNAVAILABLE, exc.details()
                    raise

            got = await wait_for(model, 30, what="the service to recover after PostgreSQL returned", interval=0.5,
                                 retry_on=(grpc.RpcError,))
            assert got.name == "m"
        assert service.proc.poll() is None
    finally:
        service.stop()


async def relay_waiting_on_nats(conn) -> bool:
    """Whether a relay has selected a batch and holds its transaction open, waiting for NATS's acks."""
    row = await (await conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
        " AND query LIKE 'SELECT id, subject, payload, headers FROM outbox%'")).fetchone()
    return row[0] > 0


async def test_events_written_while_nats_is_down_are_published_when_it_returns(own_stack, tmp_path):
    from llmops_common.bus import Bus
    from llmops_common.embedded import terminate_process
    from llmops_common.events.registry import ModelVersionCreated
    from llmops_common.storage import ArtifactStore

    env = own_stack.env()
    settings = CommonSettings.from_variables(env)
    artifacts = ArtifactStore.from_settings(settings)
    artifacts.ensure_buckets()
    artifacts.put_bytes("s3://llmops-models/m/v1/model.safetensors", b"w")
    await migrate(["registry"], env)
    service = ServiceProcess("registry", "llmops_registry.main", env, tmp_path / "registry.log").start()
    bus = Bus(settings, producer="test")
    try:
        await service.wait_serving()
        async with grpc.aio.insecure_channel(service.endpoint) as channel:
            stub = pb_grpc.RegistryServiceStub(channel)
            await stub.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name="m"), metadata=METADATA)
            terminate_process(own_stack.pid_of("nats"), 10)
            version = await stub.CreateModelVersion(
                pb.CreateModelVersionRequest(model_name="m", artifact_uri="s3://llmops-models/m/v1",
                                             kind=pb.MODEL_KIND_BASE), metadata=METADATA)
            assert version.version == 1  # committed with its event in the outbox, NATS or not
        async with await psycopg.AsyncConnection.connect(settings.postgres_dsn, autocommit=True) as conn:
            await wait_for(lambda: relay_waiting_on_nats(conn), 10,
                           what="the relay to take the event while NATS is down")
            held = await (await conn.execute("SELECT published_at FROM registry.outbox WHERE subject = %s",
                                             (ModelVersionCreated.event_type,))).fetchall()
        assert held == [(None,)], "the event must stay unpublished in the outbox until NATS acknowledges it"
        own_stack.up()  # brings back only what is down: NATS, with its streams on disk
        seen = []

        async def on_created(envelope) -> None:
            seen.append(envelope.payload.version)

        bus.subscribe(ModelVersionCreated.event_type, durable="fault-test", handler=on_created)
        await bus.start()
        await wait_for(lambda: seen == [1], timeout=30, what="the event held in the outbox while NATS was down")
        assert service.proc.poll() is None
    finally:
        await bus.stop()
        service.stop()
