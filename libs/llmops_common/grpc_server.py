"""gRPC plumbing: a ``grpc.aio`` server with health checking, reflection and graceful shutdown, and
interceptors for correlation ids, API-key auth, domain-error mapping, metrics and the access log.

Servicers stay translation-only: they raise ``DomainError`` and the error interceptor aborts with the
status from ``errors.STATUS_TABLE``; anything else becomes INTERNAL with a generic message (the
traceback goes to the log, never to the caller). Every request message, streamed ones included, first
passes ``RequestCheck`` (NUL-free bounded text, finite floats, in-range timestamps), and no error
message is longer than ``MAX_ERROR_MESSAGE``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
import nats.errors
import psycopg
import urllib3
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from psycopg_pool import PoolTimeout

from llmops_common.auth import Authenticator, Role, current_principal
from llmops_common.bus import correlation_id
from llmops_common.errors import DomainError, ErrorCode, grpc_status
from llmops_common.request_check import RequestCheck
from llmops_common.telemetry import GRPC_LATENCY, GRPC_REQUESTS

log = logging.getLogger(__name__)
access_log = logging.getLogger("llmops.access")

CORRELATION_HEADER = "x-correlation-id"
#: the longest status message sent (gRPC puts it in a header; a huge one reaches the client as
#: RESOURCE_EXHAUSTED instead of the error)
MAX_ERROR_MESSAGE = 1024
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

Behaviour = Callable[..., Any]
Wrapper = Callable[[Behaviour, bool, bool, str], Behaviour]


def _wrap(handler: grpc.RpcMethodHandler | None, wrapper: Wrapper, method: str) -> grpc.RpcMethodHandler | None:
    """Return ``handler`` with its behaviour wrapped, whatever its streaming kind."""
    if handler is None:
        return None
    for attr, factory in (
        ("unary_unary", grpc.unary_unary_rpc_method_handler),
        ("unary_stream", grpc.unary_stream_rpc_method_handler),
        ("stream_unary", grpc.stream_unary_rpc_method_handler),
        ("stream_stream", grpc.stream_stream_rpc_method_handler),
    ):
        behaviour = getattr(handler, attr)
        if behaviour is not None:
            return factory(
                wrapper(behaviour, handler.request_streaming, handler.response_streaming, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


class RequestInterceptor(grpc.aio.ServerInterceptor):
    """Correlation id, authentication and authorization, error mapping, metrics and access log.

    ``method_roles`` maps full method names (``/pkg.Service/Method``) to the least role that may call
    them; health and reflection are public; any other method not listed needs ``admin``.
    """

    def __init__(
        self,
        *,
        service: str,
        authenticator: Authenticator | None,
        method_roles: Mapping[str, Role],
        access_log_enabled: bool = False,
        request_check: RequestCheck | None = None,
    ) -> None:
        self.service = service
        self.authenticator = authenticator
        self.method_roles = dict(method_roles)
        self.access_log_enabled = access_log_enabled
        self.request_check = request_check or RequestCheck()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        return _wrap(handler, self._wrapper, method)

    def _wrapper(self, behaviour: Behaviour, request_streaming: bool, streaming: bool, method: str) -> Behaviour:
        public = method.startswith(PUBLIC_PREFIXES)
        required = self.method_roles.get(method, Role.ADMIN)
        check = self.request_check.check

        async def checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
            async for message in requests:
                check(message)
                yield message

        async def prologue(request: Any, context: grpc.aio.ServicerContext) -> tuple[Any, Any]:
            metadata = _metadata(context)
            corr = correlation_id.set(metadata.get(CORRELATION_HEADER) or str(uuid.uuid4()))
            principal = None
            if not public and self.authenticator is not None:
                principal = await self.authenticator.authenticate(_api_key(metadata))
                principal.require(required)
            return corr, current_principal.set(principal)

        def checked_request(request: Any) -> Any:
            if request_streaming:
                return checked(request)
            check(request)
            return request

        def record(code: str, started: float) -> None:
            elapsed = time.perf_counter() - started
            GRPC_REQUESTS.labels(self.service, method, code).inc()
            GRPC_LATENCY.labels(self.service, method).observe(elapsed)
            if self.access_log_enabled and not public:
                access_log.info("rpc", extra={"method": method, "code": code, "ms": round(elapsed * 1000, 3)})

        if streaming:

            async def stream_behaviour(request: Any, context: grpc.aio.ServicerContext) -> Any:
                started, code, tokens = time.perf_counter(), "OK", None
                try:
                    tokens = await prologue(request, context)
                    async for item in behaviour(checked_request(request), context):
                        yield item
                except Exception as exc:
                    status = _status_for(exc, method)
                    if status is None:
                        raise
                    code = status[0].name
                    await context.abort(*status)
                finally:
                    _reset(tokens)
                    record(code, started)

            return stream_behaviour

        async def unary_behaviour(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started, code, tokens = time.perf_counter(), "OK", None
            try:
                tokens = await prologue(request, context)
                return await behaviour(checked_request(request), context)
            except Exception as exc:
                status = _status_for(exc, method)
                if status is None:
                    raise
                code = status[0].name
                await context.abort(*status)
            finally:
                _reset(tokens)
                record(code, started)

        return unary_behaviour


def _reset(tokens: tuple[Any, Any] | None) -> None:
    if tokens:
        correlation_id.reset(tokens[0])
        current_principal.reset(tokens[1])


#: infrastructure failures a caller should retry: reported as UNAVAILABLE, not INTERNAL
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    PoolTimeout,
    nats.errors.Error,
    urllib3.exceptions.HTTPError,
    ConnectionError,
    TimeoutError,
)


def _status_for(exc: BaseException, method: str) -> tuple[grpc.StatusCode, str] | None:
    """How to report an exception; None for a handler's own abort, which passes through."""
    if isinstance(exc, grpc.aio.AbortError):
        return None
    if isinstance(exc, DomainError):
        message = str(exc)
        if len(message) > MAX_ERROR_MESSAGE:
            message = message[: MAX_ERROR_MESSAGE - 1] + "…"
        return grpc_status(exc.code), message
    if isinstance(exc, NotImplementedError):  # a generated base servicer method not overridden yet
        return grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet"
    if isinstance(exc, UNAVAILABLE_ERRORS):
        log.warning("dependency unavailable in %s: %r", method, exc)
        return grpc.StatusCode.UNAVAILABLE, f"a dependency is unavailable: {type(exc).__name__}"
    log.exception("unhandled error in %s", method)
    return grpc.StatusCode.INTERNAL, "internal error"


def _api_key(metadata: Mapping[str, str]) -> str | None:
    auth = metadata.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return metadata.get("x-api-key")


@dataclass
class GrpcService:
    """One servicer to host: the generated ``add_*_to_server`` function, the servicer, its full name."""

    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: Any
    full_name: str
    method_roles: Mapping[str, Role] = field(default_factory=dict)
    #: strings allowed longer than the default bound: field full name -> characters (see RequestCheck)
    text_limits: Mapping[str, int] = field(default_factory=dict)


class GrpcServer:
    """Hosts services with health and reflection; ``serve_until_signal`` drains on SIGTERM/SIGINT."""

    def __init__(
        self,
        services: Iterable[GrpcService],
        *,
        service_name: str,
        host: str,
        port: int,
        authenticator: Authenticator | None,
        access_log_enabled: bool = False,
    ) -> None:
        self.services = list(services)
        roles: dict[str, Role] = {}
        text_limits: dict[str, int] = {}
        for svc in self.services:
            roles.update(svc.method_roles)
            text_limits.update(svc.text_limits)
        self.health = HealthServicer()
        self.server = grpc.aio.server(
            interceptors=[
                RequestInterceptor(
                    service=service_name,
                    authenticator=authenticator,
                    method_roles=roles,
                    access_log_enabled=access_log_enabled,
                    request_check=RequestCheck(text_limits),
                )
            ],
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        for svc in self.services:
            svc.add_to_server(svc.servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [svc.full_name for svc in self.services]
        reflection.enable_server_reflection([*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                                             reflection.SERVICE_NAME], self.server)
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        if self.port == 0:
            raise OSError(f"cannot bind gRPC to {host}:{port}")

    async def start(self) -> None:
        await self.server.start()

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        await self.health.set("", status)
        for svc in self.services:
            await self.health.set(svc.full_name, status)

    async def stop(self, grace: float) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


__all__ = ["ErrorCode", "GrpcServer", "GrpcService", "RequestInterceptor", "install_signal_handlers"]
