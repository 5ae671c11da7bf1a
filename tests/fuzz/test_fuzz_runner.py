"""The fuzz runner's checks, against a small in-process gRPC server whose one method misbehaves on
command: each misbehaviour the suite exists to catch is reported, and a well-behaved call is not."""

from __future__ import annotations

import time
import uuid
from concurrent import futures

import grpc
import psycopg
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from psycopg import sql

from llmops.common.v1 import common_pb2
from llmops_common.testing.fuzz import Rpc
from llmops_common.testing.fuzz_runner import FuzzTarget, SchemaProbe

pytestmark = pytest.mark.integration
UNARY = Rpc("Call", "/fuzz.Test/Call", common_pb2.PageRequest, common_pb2.PageResponse, False, False)
STREAM = Rpc("Watch", "/fuzz.Test/Watch", common_pb2.PageRequest, common_pb2.PageResponse, False, True)


@pytest.fixture
def target(stack_env, unique_name):
    """A server whose methods obey ``page_token``: ok, internal, half (insert a row, then fail), echo
    (a 5,000-character error), unavailable (always), hang, sick (health NOT_SERVING); and a FuzzTarget
    probing its schema."""
    dsn = stack_env["LLMOPS_POSTGRES_DSN"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(unique_name)))
        conn.execute(sql.SQL("CREATE TABLE {} (id serial, correlation_id text)").format(
            sql.Identifier(unique_name, "items")))
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)

    def behave(request: common_pb2.PageRequest, context: grpc.ServicerContext) -> common_pb2.PageResponse:
        command = request.page_token
        if command == "internal":
            context.abort(grpc.StatusCode.INTERNAL, "internal error")
        if command == "half":
            correlation = dict(context.invocation_metadata())["x-correlation-id"]
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("INSERT INTO {} (correlation_id) VALUES (%s)").format(
                    sql.Identifier(unique_name, "items")), (correlation,))
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "refused after writing")
        if command == "unavailable":
            context.abort(grpc.StatusCode.UNAVAILABLE, "index row requires 12048 bytes")
        if command == "echo":
            context.abort(grpc.StatusCode.NOT_FOUND, "x" * 5000)
        if command == "hang":
            time.sleep(1.5)
        if command == "sick":
            health_servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        return common_pb2.PageResponse(next_page_token=command)

    def watch(request, context):
        yield common_pb2.PageResponse()
        behave(request, context)
        yield common_pb2.PageResponse()

    server = grpc.server(futures.ThreadPoolExecutor(4))
    handlers = {"Call": grpc.unary_unary_rpc_method_handler(
                    behave, common_pb2.PageRequest.FromString, common_pb2.PageResponse.SerializeToString),
                "Watch": grpc.unary_stream_rpc_method_handler(
                    watch, common_pb2.PageRequest.FromString, common_pb2.PageResponse.SerializeToString)}
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("fuzz.Test", handlers)])
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    fuzz_target = FuzzTarget(f"127.0.0.1:{port}", SchemaProbe(dsn, unique_name), [], deadline=1.0)
    yield fuzz_target
    fuzz_target.close()
    server.stop(0)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(unique_name)))


@pytest.mark.parametrize("rpc", [UNARY, STREAM], ids=lambda r: r.name)
@pytest.mark.parametrize(("command", "problem"), [
    ("ok", None),
    ("internal", "status INTERNAL"),
    ("half", "the failed call changed tables ['items']"),
    ("echo", "error message is 5000 characters long"),
    ("unavailable", "UNAVAILABLE twice"),
    ("hang", "status DEADLINE_EXCEEDED"),
    ("sick", "health check not SERVING"),
])
def test_each_misbehaviour_is_reported(target, rpc, command, problem):
    outcome = target.exercise(rpc, common_pb2.PageRequest(page_token=command))
    if problem is None:
        assert outcome.problems == [] and outcome.code == grpc.StatusCode.OK
    else:
        assert any(p.startswith(problem) for p in outcome.problems), outcome.problems


def test_rows_a_failed_call_left_are_found_by_its_correlation_id(target):
    outcome = target.exercise(UNARY, common_pb2.PageRequest(page_token="half"))
    assert any("left rows with its correlation id: {'items': 1}" in p for p in outcome.problems), outcome.problems
    assert target.probe.tagged(f"fuzz-{uuid.uuid4().hex}") == {}
