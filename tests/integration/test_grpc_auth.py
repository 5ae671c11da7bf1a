"""The gRPC runner and interceptors on a real server: auth, roles, error mapping, health, reflection."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc as pb_grpc
from llmops_common.auth import Authenticator, PostgresApiKeyStore, Role, create_key
from llmops_common.db import migrate, service_migrations
from llmops_common.grpc_server import GrpcServer
from llmops_common.pagination import PageTokens
from llmops_common.runtime import auth_migrations
from llmops_common.storage import ArtifactStore
from llmops_registry.api.grpc import grpc_service
from llmops_registry.store.postgres import PostgresUnitOfWork

pytestmark = pytest.mark.integration
BOOTSTRAP = "llmops_bootstrap_test-admin-key"


@pytest.fixture
async def server(pg_pool, settings_for, unique_name):
    async with pg_pool.connection() as conn:
        await migrate(conn, "auth", auth_migrations())
        await migrate(conn, unique_name, service_migrations("llmops_registry"))
    store = PostgresApiKeyStore(pg_pool)
    artifacts = ArtifactStore.from_settings(settings_for())
    srv = GrpcServer(
        [grpc_service(lambda readonly=False: PostgresUnitOfWork(pg_pool, readonly=readonly), artifacts,
                      PageTokens(b"test page-token key"))],
        service_name="registry", host="127.0.0.1", port=0,
        authenticator=Authenticator(store, bootstrap_admin_key=BOOTSTRAP, cache_seconds=0),
    )
    await srv.start()
    await srv.set_serving(True)
    yield srv, store
    await srv.stop(1)


async def call(port: int, method: str, request, key: str | None):
    metadata = [("authorization", f"Bearer {key}")] if key else []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        return await getattr(pb_grpc.RegistryServiceStub(channel), method)(request, metadata=metadata, timeout=5)


async def code_of(port, method, request, key) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as err:
        await call(port, method, request, key)
    return err.value.code()


async def test_keys_and_roles(server, unique_name):
    srv, store = server
    _, viewer = await create_key(store, name="v", role=Role.VIEWER, created_by="t")
    record, developer = await create_key(store, name="d", role=Role.DEVELOPER, created_by="t")
    create = pb.CreateRegisteredModelRequest(name=f"m-{unique_name}")
    get = pb.GetRegisteredModelRequest(name=f"m-{unique_name}")

    assert await code_of(srv.port, "CreateRegisteredModel", create, None) is grpc.StatusCode.UNAUTHENTICATED
    assert (await code_of(srv.port, "CreateRegisteredModel", create, "llmops_nope_nope")
            is grpc.StatusCode.UNAUTHENTICATED)
    assert await code_of(srv.port, "CreateRegisteredModel", create, viewer) is grpc.StatusCode.PERMISSION_DENIED
    assert (await code_of(srv.port, "GetRegisteredModel", get, viewer)
            is grpc.StatusCode.NOT_FOUND)  # nothing was created
    assert (await call(srv.port, "CreateRegisteredModel", create, developer)).name == create.name
    assert (await call(srv.port, "GetRegisteredModel", get, viewer)).name == create.name
    assert await code_of(srv.port, "CreateRegisteredModel", create, BOOTSTRAP) is grpc.StatusCode.ALREADY_EXISTS
    await store.revoke(record.key_id)
    assert await code_of(srv.port, "GetRegisteredModel", get, developer) is grpc.StatusCode.UNAUTHENTICATED


async def test_errors_carry_codes_and_field_names_not_tracebacks(server):
    srv, _ = server
    with pytest.raises(grpc.RpcError) as err:
        await call(srv.port, "CreateRegisteredModel", pb.CreateRegisteredModelRequest(name="bad name!"), BOOTSTRAP)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith("name: ")
    assert "Traceback" not in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        await call(srv.port, "SetAlias", pb.SetAliasRequest(model_name="m", alias="latest", version=1), BOOTSTRAP)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "'latest' is reserved" in err.value.details()


async def test_health_and_reflection_need_no_key(server):
    srv, _ = server
    async with grpc.aio.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = [r async for r in stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]))]
    names = {s.name for s in replies[0].list_services_response.service}
    assert {"llmops.registry.v1.RegistryService", "grpc.health.v1.Health"} <= names
    await srv.set_serving(False)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{srv.port}") as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
