"""The prompt client that training, evaluation and serving use: fetch ``name@label`` or ``name/version``
from the prompt service, cache it, and render it locally with the same bounded sandbox as the service
(in this process, or in the worker processes of a ``RenderPool`` given to it).

The cache is invalidated by the prompt service's own events (``llmops.prompts.version.created`` and
``llmops.prompts.label.moved``, received on a plain NATS subscription, so every client process sees
every event), so a label move reaches cached clients within a second rather than after a TTL. If the
service cannot be reached, the client keeps serving the last version it knew and counts it in
``llmops_prompt_client_stale_total``; ``llmops_prompt_client_service_up`` says whether the last fetch
worked.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import grpc
import nats
from google.protobuf import json_format
from prometheus_client import Counter, Gauge

from llmops.prompts.v1 import prompts_pb2 as pb
from llmops.prompts.v1 import prompts_pb2_grpc as pb_grpc
from llmops_common.errors import InvalidArgument, NotFound, Unavailable
from llmops_common.templating import (
    ChatMessage,
    Delimiting,
    RenderPool,
    Template,
    VariableSpec,
    VariableType,
    render,
)
from llmops_common.validation import quote

log = logging.getLogger(__name__)

STALE_SERVES = Counter("llmops_prompt_client_stale_total", "Renders served from a stale cache entry", ["prompt"])
SERVICE_UP = Gauge("llmops_prompt_client_service_up", "1 if the last fetch from the prompt service worked")
INVALIDATIONS = Counter("llmops_prompt_client_invalidations_total", "Cache entries invalidated by events")
SUBJECTS = "llmops.prompts.>"
REF = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,254})"
                 r"(?:@(?P<label>[A-Za-z0-9_-]{1,63})|/(?P<version>\d{1,9}))?")

VARIABLE_TYPES = {
    pb.VARIABLE_TYPE_STRING: VariableType.STRING, pb.VARIABLE_TYPE_INTEGER: VariableType.INTEGER,
    pb.VARIABLE_TYPE_NUMBER: VariableType.NUMBER, pb.VARIABLE_TYPE_BOOLEAN: VariableType.BOOLEAN,
    pb.VARIABLE_TYPE_LIST: VariableType.LIST, pb.VARIABLE_TYPE_OBJECT: VariableType.OBJECT,
}
DELIMITINGS = {pb.DELIMITING_UNSPECIFIED: Delimiting.NONE, pb.DELIMITING_FENCED: Delimiting.FENCED,
               pb.DELIMITING_TAGGED: Delimiting.TAGGED}


def variable_from_pb(spec: pb.VariableSpec) -> VariableSpec:
    """A variable spec from its proto; an enum value this build does not know is an error naming it."""
    default = json_format.MessageToDict(spec.default_value) if spec.HasField("default_value") else None
    where = f"variables.{quote(spec.name)}"
    if spec.type not in VARIABLE_TYPES and spec.type != pb.VARIABLE_TYPE_UNSPECIFIED:
        raise InvalidArgument(f"unknown variable type {spec.type}", field=f"{where}.type")
    if spec.delimiting not in DELIMITINGS:
        raise InvalidArgument(f"unknown delimiting {spec.delimiting}", field=f"{where}.delimiting")
    return VariableSpec(spec.name, VARIABLE_TYPES.get(spec.type, VariableType.STRING), spec.required, default,
                        spec.description, DELIMITINGS[spec.delimiting], spec.delimiter_tag)


def template_from_pb(message: pb.PromptVersion | pb.CreateVersionRequest) -> Template:
    """The template of a PromptVersion (or of a CreateVersionRequest: the same fields)."""
    variables = tuple(variable_from_pb(v) for v in message.variables)
    which = message.WhichOneof("template")
    if which == "text":
        return Template(text=message.text, variables=variables)
    if which == "chat":
        return Template(messages=tuple(ChatMessage(m.role, m.content) for m in message.chat.messages),
                        variables=variables)
    raise InvalidArgument("set text or chat", field="template")


@dataclass(frozen=True)
class PromptRef:
    name: str
    label: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, ref: str) -> PromptRef:
        match = REF.fullmatch(ref or "")
        if not match:
            raise InvalidArgument("expected name, name@label or name/version", field="ref")
        return cls(match["name"], match["label"], int(match["version"]) if match["version"] else None)


@dataclass
class CachedPrompt:
    name: str
    version: int
    template: Template
    model_config: dict[str, Any]
    fresh: bool = True


class PromptClient:
    def __init__(self, endpoint: str, *, api_key: str, nats_url: str, nats_user: str | None = None,
                 nats_password: str | None = None, timeout: float = 2.0, render_pool: RenderPool | None = None) -> None:
        """``render_pool``: render in its worker processes (a hard deadline and memory limit, for
        templates from authors the caller does not trust) instead of in this process."""
        self.endpoint, self.api_key, self.timeout, self.render_pool = endpoint, api_key, timeout, render_pool
        self.nats_options = {"servers": nats_url, "user": nats_user, "password": nats_password}
        self._cache: dict[str, CachedPrompt] = {}
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.PromptServiceStub | None = None
        self._nc: nats.NATS | None = None

    async def start(self) -> None:
        self._channel = grpc.aio.insecure_channel(self.endpoint)
        self._stub = pb_grpc.PromptServiceStub(self._channel)
        options = {k: v for k, v in self.nats_options.items() if v}
        self._nc = await nats.connect(**options, reconnected_cb=self._reconnected, max_reconnect_attempts=-1)
        await self._nc.subscribe(SUBJECTS, cb=self._on_event)

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.drain()
        if self._channel is not None:
            await self._channel.close()

    async def __aenter__(self) -> PromptClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- invalidation ----------------------------------------------------------------------------

    async def _on_event(self, msg: Any) -> None:
        try:
            name = json.loads(msg.data)["payload"]["prompt_name"]
        except (ValueError, KeyError, TypeError):
            return
        for entry in self._cache.values():
            if entry.name == name and entry.fresh:
                entry.fresh = False
                INVALIDATIONS.inc()

    async def _reconnected(self) -> None:
        """Events may have been missed while disconnected: distrust the whole cache."""
        for entry in self._cache.values():
            entry.fresh = False

    # -- fetch and render ------------------------------------------------------------------------

    async def get(self, ref: str) -> CachedPrompt:
        entry = self._cache.get(ref)
        if entry is not None and entry.fresh:
            return entry
        parsed = PromptRef.parse(ref)
        request = pb.GetPromptRequest(prompt_name=parsed.name)
        if parsed.version:
            request.version = parsed.version
        elif parsed.label:
            request.label = parsed.label
        try:
            assert self._stub is not None, "PromptClient not started"
            reply = await self._stub.GetPrompt(request, timeout=self.timeout,
                                               metadata=[("authorization", f"Bearer {self.api_key}")])
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                raise NotFound(exc.details() or f"{ref} not found", field="ref") from None
            SERVICE_UP.set(0)
            if entry is not None:
                STALE_SERVES.labels(parsed.name).inc()
                log.warning("prompt service unavailable; serving last known %s/%d", entry.name, entry.version)
                return entry
            raise Unavailable(f"prompt service unavailable and {ref} is not cached: {exc.code().name}") from None
        SERVICE_UP.set(1)
        fetched = CachedPrompt(reply.version.prompt_name, reply.version.version, template_from_pb(reply.version),
                               json_format.MessageToDict(reply.version.model_config, preserving_proto_field_name=True))
        self._cache[ref] = fetched
        return fetched

    async def render(self, ref: str, variables: dict[str, Any]) -> str | list[ChatMessage]:
        entry = await self.get(ref)
        if self.render_pool is not None:
            return await self.render_pool.render(entry.template, variables)
        return render(entry.template, variables)

    def cached_version(self, ref: str) -> int | None:
        entry = self._cache.get(ref)
        return entry.version if entry else None
