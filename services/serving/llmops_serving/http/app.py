"""The OpenAI-compatible REST API on Starlette: chat and text completions (whole or streamed as SSE),
the model list, health and metrics.

Translation only: authenticate, rate-limit, read a bounded body, parse it into an ``InferenceCall``,
call ``Gateway.start``, format the deltas. A key or user on the monitoring service's block list is
refused with 403 (code ``blocked``) before anything is generated. Starlette rather than FastAPI
because FastAPI's validation errors are 422s in its own shape; every error here has OpenAI's body
(``responses.OpenAIError``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from llmops_common.auth import Principal
from llmops_common.errors import DomainError
from llmops_common.ratelimit import RateLimiter
from llmops_inference.outputs import Delta
from llmops_serving.blocklist import Blocklist
from llmops_serving.gateway import Gateway, Generation, InferenceCall
from llmops_serving.http.responses import (
    DONE,
    INTERNAL,
    ChatFormat,
    CompletionFormat,
    Envelope,
    JSONBody,
    OpenAIError,
    dumps,
    openai_error,
    sse,
)
from llmops_serving.http.schemas import MAX_NAME_CHARS, ChatCompletionRequest, CompletionRequest, decode_json, parse

logger = logging.getLogger(__name__)

Authenticate = Callable[[str | None], Awaitable[Principal]]
Handler = Callable[[Request, Principal, str], Awaitable[Response]]


@dataclass(frozen=True)
class HttpLimits:
    max_body_bytes: int = 1024 * 1024
    max_tokens_limit: int = 4096  # the largest max_tokens a request may ask
    default_max_tokens: int = 256  # the gateway's default when a request (and its release) sets none
    rate_limit_per_minute: int = 0  # requests per API key; 0 = no limit
    rate_limit_burst: int = 60


def create_app(gateway: Gateway, authenticate: Authenticate, *, limits: HttpLimits,
               metrics: Callable[[], bytes] | None = None,
               blocklist: Callable[[], Blocklist] = Blocklist) -> Starlette:
    """``blocklist`` returns the block list in force (read on every request, so it must not wait)."""
    api = _OpenAIApi(gateway, authenticate, limits, blocklist)

    async def health(request: Request) -> Response:
        try:
            report = gateway.health()
            # 503 only while loading: a replica with one failed alias still serves the others (degraded)
            return JSONBody(report, status_code=503 if report.get("status") == "loading" else 200)
        except Exception:
            logger.exception("the health check failed")
            return INTERNAL.response()

    async def metrics_text(request: Request) -> Response:
        if metrics is None:
            return OpenAIError(404, "invalid_request_error", "no metrics here", code="not_found").response()
        return Response(metrics(), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/v1/chat/completions", api.endpoint(api.chat_completions, "chatcmpl-"), methods=["POST"]),
        Route("/v1/completions", api.endpoint(api.completions, "cmpl-"), methods=["POST"]),
        Route("/v1/models", api.endpoint(api.models, "models-"), methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_exception})


async def _http_exception(request: Request, exc: HTTPException) -> Response:
    """Unknown paths and methods, in OpenAI's error shape too."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return OpenAIError(exc.status_code, "invalid_request_error", str(exc.detail), code=code).response(
        dict(exc.headers or {}))


class _OpenAIApi:
    def __init__(self, gateway: Gateway, authenticate: Authenticate, limits: HttpLimits,
                 blocklist: Callable[[], Blocklist]) -> None:
        self.gateway = gateway
        self.authenticate = authenticate
        self.limits = limits
        self.blocklist = blocklist
        self.limiter = (RateLimiter(per_minute=limits.rate_limit_per_minute, burst=limits.rate_limit_burst)
                        if limits.rate_limit_per_minute > 0 else None)

    def endpoint(self, handler: Handler, id_prefix: str) -> Callable[[Request], Awaitable[Response]]:
        """``handler`` behind authentication and the rate limit, with every failure as an OpenAI error
        and the request id in ``X-Request-Id``."""

        async def run(request: Request) -> Response:
            request_id = f"{id_prefix}{uuid.uuid4().hex}"
            headers = {"X-Request-Id": request_id}
            try:
                principal = await self.authenticate(_api_key(request))
                self._refuse_blocked(principal.key_id)
                if self.limiter is not None:
                    self.limiter.admit(principal.key_id)
                response = await handler(request, principal, request_id)
            except ClientDisconnect:
                return Response(status_code=499, headers=headers)  # nobody is there to read it
            except OpenAIError as exc:
                return exc.response(headers)
            except DomainError as exc:
                return openai_error(exc).response(headers)
            except Exception:
                logger.exception("request %s failed", request_id)
                return INTERNAL.response(headers)
            response.headers.update(headers)
            return response

        return run

    async def models(self, request: Request, principal: Principal, request_id: str) -> Response:
        data = [{"id": m.id, "object": "model", "created": m.created, "owned_by": m.owned_by, "root": m.root,
                 "parent": m.parent} for m in self.gateway.models()]
        return JSONBody({"object": "list", "data": data})

    async def chat_completions(self, request: Request, principal: Principal, request_id: str) -> Response:
        body = parse(ChatCompletionRequest, decode_json(await self._body(request)))
        call = body.to_call(**self._caller(request, principal, request_id))
        self._refuse_blocked(call.key_id, call.user)
        return await self._complete(request, call, bool(body.stream), body.include_usage,
                                    lambda envelope: ChatFormat(envelope, logprobs=bool(body.logprobs)))

    async def completions(self, request: Request, principal: Principal, request_id: str) -> Response:
        body = parse(CompletionRequest, decode_json(await self._body(request)))
        call = body.to_call(**self._caller(request, principal, request_id))
        self._refuse_blocked(call.key_id, call.user)
        return await self._complete(request, call, bool(body.stream), body.include_usage,
                                    lambda envelope: CompletionFormat(envelope, logprobs=body.logprobs is not None))

    def _refuse_blocked(self, key_id: str, user: str = "") -> None:
        """403 for a blocked API key (every endpoint) or end user (the body's ``user`` or ``X-User-Id``)."""
        subject = self.blocklist().refuses(key_id, user)
        if subject is not None:
            who = "API key" if subject == "key" else "user"
            raise OpenAIError(403, "permission_error", f"this {who} is blocked for abuse; contact the operator",
                              code="blocked")

    def _caller(self, request: Request, principal: Principal, request_id: str) -> dict[str, Any]:
        return {"request_id": request_id, "key_id": principal.key_id, "max_tokens_limit": self.limits.max_tokens_limit,
                "user": request.headers.get("x-user-id", "")[:MAX_NAME_CHARS],
                "session": request.headers.get("x-session-id", "")[:MAX_NAME_CHARS]}

    async def _body(self, request: Request) -> bytes:
        """The body, refused with 413 once it passes the limit: checked against ``Content-Length`` first,
        then while reading (the header may be absent or lie), never holding more than one chunk past it."""
        limit = self.limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
        return bytes(body)

    async def _complete(self, request: Request, call: InferenceCall, stream: bool, include_usage: bool,
                        format_for: Callable[[Envelope], ChatFormat | CompletionFormat]) -> Response:
        generation = await self.gateway.start(call)
        formats = format_for(Envelope(generation.request_id, call.model, generation.model_version, int(time.time())))
        if stream:
            return ClosingStreamingResponse(_events(generation, formats, include_usage), on_close=generation.aclose,
                                            media_type="text/event-stream",
                                            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        try:
            deltas = await _collect(generation, request.receive)
        finally:
            await generation.aclose()
        return JSONBody(formats.whole(deltas, generation.prompt_tokens))


async def _collect(generation: Generation, receive: Receive) -> list[Delta]:
    """All of ``generation``'s deltas, or ``ClientDisconnect`` when the client leaves first: a client
    that gave up waiting for a whole completion should not keep its batch slot either."""
    collecting = asyncio.ensure_future(_drain(generation))
    leaving = asyncio.ensure_future(_disconnect(receive))
    try:
        await asyncio.wait((collecting, leaving), return_when=asyncio.FIRST_COMPLETED)
    finally:
        collecting.cancel()
        leaving.cancel()
        await asyncio.wait((collecting, leaving))  # both settled before the generation is closed
    if collecting.cancelled():
        raise ClientDisconnect()
    return collecting.result()


async def _drain(generation: Generation) -> list[Delta]:
    return [delta async for delta in generation]


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _api_key(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    return request.headers.get("x-api-key") or None


def _too_large(limit: int) -> OpenAIError:
    return OpenAIError(413, "invalid_request_error", f"the request body is larger than {limit} bytes",
                       code="request_too_large")


async def _events(generation: Generation, formats: ChatFormat | CompletionFormat,
                  include_usage: bool) -> AsyncIterator[bytes]:
    """The SSE events of one streamed completion; an error after the first event is sent as a last
    ``data: {"error": ...}`` event before ``[DONE]``."""
    try:
        for chunk in formats.opening():
            yield sse(chunk)
        completion_tokens = 0
        async for delta in generation:
            for chunk in formats.chunks(delta):
                yield sse(chunk)
            completion_tokens = delta.completion_tokens
        if include_usage:
            yield sse(formats.usage_chunk(generation.prompt_tokens, completion_tokens))
    except DomainError as exc:
        yield b"data: " + dumps(openai_error(exc).body()) + b"\n\n"
    except Exception:
        logger.exception("the stream of %s failed", generation.request_id)
        yield b"data: " + dumps(INTERNAL.body()) + b"\n\n"
    yield DONE


class ClosingStreamingResponse(StreamingResponse):
    """A streaming response that always calls ``on_close`` when it ends: finished, failed, or cut
    short by the client disconnecting (Starlette then cancels the stream), shielded from that
    cancellation so the generation is closed and its batch slot freed."""

    def __init__(self, content: AsyncIterator[bytes], *, on_close: Callable[[], Awaitable[None]],
                 **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.on_close()
