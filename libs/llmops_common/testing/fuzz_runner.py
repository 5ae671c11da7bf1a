"""Drive a running service with generated requests and check what a hostile caller must never see:
UNKNOWN or INTERNAL, a hang (DEADLINE_EXCEEDED under a generous deadline), RESOURCE_EXHAUSTED, an
error message that echoes a whole value, UNAVAILABLE twice for the same request while the stack is up
(a permanent failure reported as transient), a health check that is not answered SERVING within a
second (during the call and after it), or a failed call that left rows behind in the service's schema.

The strategies live in ``llmops_common.testing.fuzz``; this module only sends and checks.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import grpc
import psycopg
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from psycopg import sql

from llmops_common.bus import HEADER_CORRELATION
from llmops_common.testing.fuzz import Rpc, describe

FORBIDDEN = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DEADLINE_EXCEEDED,
                       grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.DATA_LOSS})
#: an error message longer than this echoes a value instead of quoting a short prefix of it
MAX_DETAILS = 2048
#: generated requests per RPC (the first three services' suites run in about a minute); set
#: LLMOPS_FUZZ_EXAMPLES higher for a deeper run, and LLMOPS_FUZZ_SHRINK=1 to shrink a failing request
#: to a minimal one (slower, so off by default)
MAX_EXAMPLES = int(os.environ.get("LLMOPS_FUZZ_EXAMPLES", "25"))
SHRINK = os.environ.get("LLMOPS_FUZZ_SHRINK") == "1"


@dataclass
class SchemaProbe:
    """A fingerprint of a service's schema: per table its row count and a hash of its rows.

    ``count_only`` tables are updated by background work (the outbox relay marks rows published, a
    job runner moves jobs on), so only their row counts are compared; ``ignore`` tables gain rows from
    background work and are left out (their rows are still checked for the call's correlation id).
    """

    dsn: str
    schema: str
    count_only: frozenset[str] = frozenset({"outbox"})
    ignore: frozenset[str] = frozenset({"schema_migrations", "inbox"})
    _conn: psycopg.Connection | None = field(default=None, init=False, repr=False)

    @property
    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.dsn, autocommit=True)
        return self._conn

    def _tables(self) -> list[str]:
        rows = self.conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
                                 " AND table_type = 'BASE TABLE' ORDER BY table_name", (self.schema,)).fetchall()
        return [r[0] for r in rows]

    def snapshot(self) -> dict[str, tuple[int, str]]:
        parts = []
        for table in self._tables():
            if table in self.ignore:
                continue
            ident = sql.Identifier(self.schema, table)
            if table in self.count_only:
                parts.append(sql.SQL("SELECT {}, count(*), '' FROM {}").format(sql.Literal(table), ident))
            else:
                parts.append(sql.SQL("SELECT {}, count(*), md5(coalesce(string_agg(md5(t::text), ','"
                                     " ORDER BY md5(t::text)), '')) FROM {} t").format(sql.Literal(table), ident))
        rows = self.conn.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall()
        return {name: (count, digest) for name, count, digest in rows}

    def tagged(self, correlation_id: str) -> dict[str, int]:
        """Rows carrying ``correlation_id``, by table (columns named correlation_id, and outbox headers)."""
        found: dict[str, int] = {}
        tables = self.conn.execute("SELECT table_name FROM information_schema.columns WHERE table_schema = %s"
                                   " AND column_name = 'correlation_id'", (self.schema,)).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT count(*) FROM {} WHERE correlation_id = %s").format(
                sql.Identifier(self.schema, table))
            found[table] = self.conn.execute(query, (correlation_id,)).fetchone()[0]
        if "outbox" in self._tables():
            query = sql.SQL("SELECT count(*) FROM {} WHERE headers->>%s = %s").format(
                sql.Identifier(self.schema, "outbox"))
            found["outbox"] = self.conn.execute(query, (HEADER_CORRELATION, correlation_id)).fetchone()[0]
        return {table: n for table, n in found.items() if n}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


@dataclass
class Outcome:
    code: grpc.StatusCode
    details: str
    problems: list[str]


class Sent:
    """A generated request with a compact repr, so hypothesis prints a readable falsifying example."""

    def __init__(self, value: Message | list[Message]) -> None:
        self.value = value

    def __repr__(self) -> str:
        return describe(self.value)


@dataclass
class FuzzTarget:
    """A service under fuzz: where it listens, how to see its state, and the caller's metadata."""

    endpoint: str
    probe: SchemaProbe
    metadata: Sequence[tuple[str, str]]
    deadline: float = 10.0
    health_within: float = 1.0
    restart: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        options = [("grpc.max_receive_message_length", 64 * 2**20)]
        self.channel = grpc.insecure_channel(self.endpoint, options=options)
        self._health_channel = grpc.insecure_channel(self.endpoint)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="fuzz-call")

    def healthy(self) -> bool:
        try:
            reply = health_pb2_grpc.HealthStub(self._health_channel).Check(health_pb2.HealthCheckRequest(),
                                                                           timeout=self.health_within)
        except grpc.RpcError:
            return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def ensure_serving(self) -> None:
        """Restart the service if an earlier RPC's failure left it unhealthy, so RPCs fail independently."""
        if not self.healthy() and self.restart is not None:
            self.restart()

    def call(self, rpc: Rpc, request: Message | list[Message], metadata: Sequence[tuple[str, str]]
             ) -> tuple[grpc.StatusCode, str]:
        kind = {(False, False): self.channel.unary_unary, (False, True): self.channel.unary_stream,
                (True, False): self.channel.stream_unary, (True, True): self.channel.stream_stream}
        method = kind[(rpc.client_streaming, rpc.server_streaming)](
            rpc.path, request_serializer=rpc.request.SerializeToString, response_deserializer=rpc.response.FromString)
        sent: Any = iter(request) if rpc.client_streaming else request
        try:
            reply = method(sent, timeout=self.deadline, metadata=list(metadata))
            if rpc.server_streaming:
                for _ in reply:
                    pass
        except grpc.RpcError as err:
            return err.code(), err.details() or ""
        return grpc.StatusCode.OK, ""

    def exercise(self, rpc: Rpc, request: Message | list[Message]) -> Outcome:
        correlation = f"fuzz-{uuid.uuid4().hex}"
        metadata = [*self.metadata, ("x-correlation-id", correlation)]
        before = self.probe.snapshot()
        running = self._pool.submit(self.call, rpc, request, metadata)
        problems: list[str] = []
        while True:
            try:
                code, details = running.result(timeout=self.health_within / 2)
                break
            except FutureTimeout:
                if not self.healthy() and not problems:
                    problems.append(f"health check not SERVING within {self.health_within}s while the call ran")
        if code == grpc.StatusCode.UNAVAILABLE:  # the stack is up: a second UNAVAILABLE is no outage
            code, details = self.call(rpc, request, metadata)
            if code == grpc.StatusCode.UNAVAILABLE:
                problems.append(f"UNAVAILABLE twice: a permanent failure reported as transient ({details[:80]})")
        if code in FORBIDDEN:
            problems.append(f"status {code.name}")
        if len(details) > MAX_DETAILS:
            problems.append(f"error message is {len(details)} characters long (quote a short prefix)")
        if not self.healthy():
            problems.append(f"health check not SERVING within {self.health_within}s after the call")
        if code != grpc.StatusCode.OK:
            after = self.probe.snapshot()
            changed = sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))
            if changed:
                problems.append(f"the failed call changed tables {changed}")
            tagged = self.probe.tagged(correlation)
            if tagged:
                problems.append(f"the failed call left rows with its correlation id: {tagged}")
        return Outcome(code, details, problems)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.channel.close()
        self._health_channel.close()
        self.probe.close()


def fuzz_rpc(target: FuzzTarget, rpc: Rpc, strategy: st.SearchStrategy[Any], *,
             explicit: Sequence[Message | list[Message]] = (), max_examples: int = MAX_EXAMPLES) -> None:
    """Send ``max_examples`` generated requests (after the ``explicit`` ones) and fail on the first
    request with a problem, naming the RPC, the request, the status and its message."""
    target.ensure_serving()

    def check(sent: Sent) -> None:
        outcome = target.exercise(rpc, sent.value)
        assert not outcome.problems, (f"{rpc.name} {sent!r}\n  -> {outcome.code.name}: "
                                      f"{describe(outcome.details, 300)}\n  " + "\n  ".join(outcome.problems))

    for request in reversed(explicit):
        check = example(Sent(request))(check)
    phases = (Phase.explicit, Phase.generate, *((Phase.shrink,) if SHRINK else ()))
    run = settings(max_examples=max_examples, deadline=None, derandomize=True, database=None, phases=phases,
                   suppress_health_check=list(HealthCheck), report_multiple_bugs=False, print_blob=False
                   )(given(strategy.map(Sent))(check))
    run()
