"""The port the transports (REST, gRPC) call: resolve a model name, check the request, start a
generation, list models. Transports hold no business logic; they parse, call this, and format."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from llmops_common.errors import InvalidArgument
from llmops_common.templating import ChatMessage
from llmops_inference.outputs import Delta

Api = Literal["chat", "completions", "grpc"]


class ContextTooLong(InvalidArgument):
    """The prompt and ``max_tokens`` do not fit the model's context (OpenAI's ``context_length_exceeded``)."""


Message = ChatMessage  # a chat turn: the prompt store's own type, so rendered chats pass straight through


@dataclass(frozen=True)
class InferenceCall:
    """One request, as the transport parsed it. ``sampling`` holds only what the client set, by
    ``SamplingParams`` field name; the release's pinned parameters, then defaults, fill the rest.
    Exactly one of ``prompt`` and ``messages`` is set."""

    model: str
    api: Api
    request_id: str
    key_id: str
    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    user: str = ""
    session: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelCard:
    """An entry of ``GET /v1/models``: ``root`` is the base model, ``parent`` what this one is built
    on (None for a base)."""

    id: str
    created: int
    owned_by: str
    root: str
    parent: str | None


class Generation(abc.ABC):
    """A started generation. Iterate it for deltas (the last has ``finish_reason``); ``aclose`` (or
    leaving the iteration early) cancels it and frees its batch slot."""

    request_id: str
    model: str  # the name the client asked for
    model_version: str  # what served it, "models:/name/3" (or "local:name")
    prompt_tokens: int

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[Delta]: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...


class Gateway(abc.ABC):
    @abc.abstractmethod
    def models(self) -> list[ModelCard]: ...

    @abc.abstractmethod
    async def start(self, call: InferenceCall) -> Generation:
        """Raises before any output: ``NotFound(field="model")`` for an unknown model,
        ``InvalidArgument(field=<parameter>)`` for a bad parameter or a prompt beyond the context
        (``ContextTooLong``), ``ResourceExhausted`` when the queue is full,
        ``Unavailable`` while the model is still loading."""

    @abc.abstractmethod
    def health(self) -> dict[str, Any]:
        """``{"status": "ok"|"loading"|"degraded", ...}`` with what is loaded."""
