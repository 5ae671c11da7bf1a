"""What the OpenAI-compatible API sends back: completion objects, their streamed chunks as SSE
events, and OpenAI's error bodies ``{"error": {"message", "type", "param", "code"}}`` mapped from the
platform's domain errors."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from llmops_common.errors import (
    DomainError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    http_status,
)
from llmops_inference.outputs import Delta, TokenLogprob
from llmops_serving.gateway import ContextTooLong
from llmops_serving.http.schemas import InvalidJson, Unsupported

DONE = b"data: [DONE]\n\n"
#: what a logprob of -inf (or NaN) is reported as: JSON has no infinity (vLLM does the same)
FLOOR_LOGPROB = -9999.0


def dumps(obj: Any) -> bytes:
    """Compact JSON; ASCII-escaped, so any string the request carried can be written back."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


def sse(obj: Any) -> bytes:
    return b"data: " + dumps(obj) + b"\n\n"


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


# --- errors ---------------------------------------------------------------------------------------


@dataclass
class OpenAIError(Exception):
    status: int
    type: str
    message: str
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return JSONBody(self.body(), status_code=self.status, headers=self.headers | (headers or {}))


INTERNAL = OpenAIError(500, "server_error", "the server had an error while processing the request",
                       code="internal_error")

# most specific first: ContextTooLong, InvalidJson and Unsupported are InvalidArguments
_KINDS: tuple[tuple[type[DomainError], str, str | None], ...] = (
    (ContextTooLong, "invalid_request_error", "context_length_exceeded"),
    (InvalidJson, "invalid_request_error", "invalid_json"),
    (Unsupported, "invalid_request_error", "unsupported_parameter"),
    (InvalidArgument, "invalid_request_error", "invalid_value"),
    (Unauthenticated, "authentication_error", "invalid_api_key"),
    (PermissionDenied, "permission_error", "permission_denied"),
    (ResourceExhausted, "rate_limit_error", "rate_limit_exceeded"),
    (Unavailable, "server_error", "service_unavailable"),
)


def openai_error(exc: DomainError) -> OpenAIError:
    """The OpenAI error for a domain error; its status comes from the one error table."""
    status = http_status(exc.code)
    kind, code = next(((k, c) for cls, k, c in _KINDS if isinstance(exc, cls)),
                      ("invalid_request_error" if status < 500 else "server_error", exc.code.value))
    if isinstance(exc, NotFound):
        code = "model_not_found" if exc.field == "model" else "not_found"
    headers = {"Retry-After": retry_after(exc.retry_after)} if isinstance(exc, ResourceExhausted) else {}
    return OpenAIError(status, kind, exc.message if exc.field is None else f"{exc.field}: {exc.message}",
                       exc.field, code, headers)


def retry_after(seconds: float) -> str:
    """Whole seconds, at least 1 (``Retry-After`` takes no fractions)."""
    return str(max(1, math.ceil(seconds))) if math.isfinite(seconds) else "60"


# --- completions ----------------------------------------------------------------------------------


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def _logprob(value: float) -> float:
    return value if math.isfinite(value) else FLOOR_LOGPROB


@dataclass(frozen=True)
class Envelope:
    """The fields every object of one response repeats."""

    id: str
    model: str  # as the client asked for it
    system_fingerprint: str  # the model version that served it
    created: int

    def wrap(self, obj: str, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model,
                "system_fingerprint": self.system_fingerprint, "choices": choices, **extra}


class ChatFormat:
    """``chat.completion`` objects and ``chat.completion.chunk`` events."""

    def __init__(self, envelope: Envelope, *, logprobs: bool) -> None:
        self.envelope = envelope
        self.logprobs = logprobs

    def whole(self, deltas: Sequence[Delta], prompt_tokens: int) -> dict[str, Any]:
        message = {"role": "assistant", "content": "".join(d.text for d in deltas)}
        choice = {"index": 0, "message": message, "logprobs": self._logprobs([t for d in deltas for t in d.logprobs]),
                  "finish_reason": _finish(deltas)}
        return self.envelope.wrap("chat.completion", [choice], usage=usage(prompt_tokens, _completion_tokens(deltas)))

    def opening(self) -> list[dict[str, Any]]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def chunks(self, delta: Delta) -> list[dict[str, Any]]:
        out = []
        if delta.text or delta.logprobs:
            out.append(self._chunk({"content": delta.text}, logprobs=self._logprobs(delta.logprobs)))
        if delta.finish_reason is not None:
            out.append(self._chunk({}, finish_reason=delta.finish_reason))
        return out

    def usage_chunk(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        return self.envelope.wrap("chat.completion.chunk", [], usage=usage(prompt_tokens, completion_tokens))

    def _chunk(self, delta: dict[str, Any], *, logprobs: dict[str, Any] | None = None,
               finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish_reason}
        return self.envelope.wrap("chat.completion.chunk", [choice])

    def _logprobs(self, tokens: Sequence[TokenLogprob]) -> dict[str, Any] | None:
        if not self.logprobs:
            return None
        return {"content": [{**_chat_token(t.token, t.logprob),
                             "top_logprobs": [_chat_token(top.token, top.logprob) for top in t.top]}
                            for t in tokens]}


def _chat_token(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": _logprob(logprob), "bytes": list(token.encode("utf-8", "replace"))}


class CompletionFormat:
    """``text_completion`` objects, whole or streamed; ``text_offset`` runs across the chunks."""

    def __init__(self, envelope: Envelope, *, logprobs: bool) -> None:
        self.envelope = envelope
        self.logprobs = logprobs
        self._offset = 0

    def whole(self, deltas: Sequence[Delta], prompt_tokens: int) -> dict[str, Any]:
        choice = {"index": 0, "text": "".join(d.text for d in deltas),
                  "logprobs": self._logprobs([t for d in deltas for t in d.logprobs]), "finish_reason": _finish(deltas)}
        return self.envelope.wrap("text_completion", [choice], usage=usage(prompt_tokens, _completion_tokens(deltas)))

    def opening(self) -> list[dict[str, Any]]:
        return []

    def chunks(self, delta: Delta) -> list[dict[str, Any]]:
        out = []
        if delta.text or delta.logprobs:
            out.append(self._chunk(delta.text, logprobs=self._logprobs(delta.logprobs)))
        if delta.finish_reason is not None:
            out.append(self._chunk("", finish_reason=delta.finish_reason))
        return out

    def usage_chunk(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        return self.envelope.wrap("text_completion", [], usage=usage(prompt_tokens, completion_tokens))

    def _chunk(self, text: str, *, logprobs: dict[str, Any] | None = None,
               finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": finish_reason}
        return self.envelope.wrap("text_completion", [choice])

    def _logprobs(self, tokens: Sequence[TokenLogprob]) -> dict[str, Any] | None:
        if not self.logprobs:
            return None
        offsets = []
        for t in tokens:
            offsets.append(self._offset)
            self._offset += len(t.token)
        return {"tokens": [t.token for t in tokens], "token_logprobs": [_logprob(t.logprob) for t in tokens],
                "top_logprobs": [{top.token: _logprob(top.logprob) for top in t.top} for t in tokens],
                "text_offset": offsets}


def _finish(deltas: Sequence[Delta]) -> str:
    return next((d.finish_reason for d in reversed(deltas) if d.finish_reason is not None), "stop")


def _completion_tokens(deltas: Sequence[Delta]) -> int:
    return deltas[-1].completion_tokens if deltas else 0
