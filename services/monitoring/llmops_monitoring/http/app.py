"""REST for people and apps that give feedback where they show answers: ``POST /v1/feedback`` (and
``/health``). Translation only: authenticate, read a bounded JSON body, check its shape, call the
handler; every failure is a JSON error with the status from the one error table."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llmops_common.auth import Principal
from llmops_common.errors import DomainError, InvalidArgument, ResourceExhausted, http_status
from llmops_monitoring.domain.records import Feedback

log = logging.getLogger(__name__)
Authenticate = Callable[[str | None], Awaitable[Principal]]
SendFeedback = Callable[[Feedback, Principal], Awaitable[Feedback]]
RATINGS = {"up": "positive", "down": "negative", "positive": "positive", "negative": "negative"}
FIELDS = {"inference_id", "rating", "score", "comment", "correction", "categories", "user", "tags", "request_id"}


class BodyTooLarge(Exception):
    """A body over the limit (413)."""


def error_response(exc: DomainError) -> JSONResponse:
    headers = {}
    if isinstance(exc, ResourceExhausted):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after))) if math.isfinite(exc.retry_after) else "60"
    message = exc.message if exc.field is None else f"{exc.field}: {exc.message}"
    return JSONResponse({"error": {"message": message, "code": exc.code.value, "param": exc.field}},
                        status_code=http_status(exc.code), headers=headers)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument("must be a string", field=name)
    return value


def feedback_from_json(body: Any) -> Feedback:
    """The body's fields, typed; ranges and sizes are the handler's checks."""
    if not isinstance(body, dict):
        raise InvalidArgument("the body must be a JSON object", field="body")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidArgument(f"unknown field; known: {', '.join(sorted(FIELDS))}", field=str(unknown[0])[:64])
    rating = _text(body, "rating")
    if rating and rating not in RATINGS:
        raise InvalidArgument("rating is up, down, positive or negative", field="rating")
    score = body.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        raise InvalidArgument("must be a number from 1 to 5", field="score")
    categories = body.get("categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise InvalidArgument("must be a list of strings", field="categories")
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise InvalidArgument("must be an object of strings", field="tags")
    return Feedback(feedback_id="", inference_id=_text(body, "inference_id"), rating=RATINGS.get(rating, ""),
                    score=float(score) if score is not None else None, categories=tuple(categories),
                    comment=_text(body, "comment"), correction=_text(body, "correction"), user=_text(body, "user"),
                    tags=dict(tags), request_id=_text(body, "request_id"))


def create_app(authenticate: Authenticate, send: SendFeedback, *, max_body_bytes: int) -> Starlette:
    async def feedback(request: Request) -> Response:
        try:
            scheme, _, key = request.headers.get("authorization", "").partition(" ")
            principal = await authenticate(key.strip() if scheme.lower() == "bearer" else None)
            body = await _read(request, max_body_bytes)
            stored = await send(feedback_from_json(body), principal)
        except BodyTooLarge as exc:
            return JSONResponse({"error": {"message": str(exc), "code": "too_large", "param": "body"}},
                                status_code=413)
        except DomainError as exc:
            return error_response(exc)
        except Exception:
            log.exception("feedback request failed")
            return JSONResponse({"error": {"message": "internal error", "code": "internal", "param": None}},
                                status_code=500)
        return JSONResponse({"feedback_id": stored.feedback_id, "inference_id": stored.inference_id,
                             "model_version": stored.model_version,
                             "created_at": stored.created_at.isoformat() if stored.created_at else None},
                            status_code=201)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/v1/feedback", feedback, methods=["POST"]), Route("/health", health)])


async def _read(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body is over {limit:,} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body is over {limit:,} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise InvalidArgument("the body is not JSON", field="body") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
