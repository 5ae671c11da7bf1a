"""What serving reads from the registry: a release or version and its artifacts, and which aliases
exist. A name the registry does not know is NotFound (field ``model``); an unreachable registry is
Unavailable."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import json_format

from llmops.common.v1 import common_pb2
from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc as pb_grpc
from llmops_common.errors import NotFound, Unavailable
from llmops_serving.domain.names import ModelName

KINDS = {pb.MODEL_KIND_BASE: "base", pb.MODEL_KIND_ADAPTER: "adapter", pb.MODEL_KIND_MERGED: "merged"}


@dataclass(frozen=True)
class VersionInfo:
    model_name: str
    version: int
    kind: str  # base | adapter | merged
    artifact_uri: str
    sha256: str
    base_model_version: str = ""  # for an adapter, "models:/base/1"

    @property
    def uri(self) -> str:
        return f"models:/{self.model_name}/{self.version}"


@dataclass(frozen=True)
class ReleaseInfo:
    model_name: str
    alias: str
    version: int
    prompt_version: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


class RegistryReader(abc.ABC):
    @abc.abstractmethod
    async def resolve(self, name: ModelName) -> tuple[VersionInfo, ReleaseInfo | None]: ...

    @abc.abstractmethod
    async def aliases(self, models: list[str]) -> list[tuple[str, str]]:
        """(model, alias) of every alias of ``models`` (of every model when empty)."""

    async def close(self) -> None:  # noqa: B027 - a fake has nothing to close
        """Close connections."""


def version_info(message: pb.ModelVersion) -> VersionInfo:
    return VersionInfo(message.model_name, message.version, KINDS.get(message.kind, "base"), message.artifact_uri,
                       message.sha256, message.base_model_version)


class GrpcRegistryReader(RegistryReader):
    """Its channel opens on the first call, inside the event loop that makes it."""

    def __init__(self, endpoint: str, *, api_key: str, timeout: float = 10.0) -> None:
        self._endpoint = endpoint
        self._channel: grpc.aio.Channel | None = None
        self._metadata = (("authorization", f"Bearer {api_key}"),)
        self._timeout = timeout

    async def _call(self, method: str, request: Any, what: str) -> Any:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self._endpoint)
        try:
            stub = pb_grpc.RegistryServiceStub(self._channel)
            return await getattr(stub, method)(request, metadata=self._metadata, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is grpc.StatusCode.NOT_FOUND:
                raise NotFound(f"the model {what} does not exist: {(exc.details() or '')[:200]}",
                               field="model") from None
            raise Unavailable(f"the registry cannot answer for {what} ({exc.code().name})") from None

    async def resolve(self, name: ModelName) -> tuple[VersionInfo, ReleaseInfo | None]:
        uri = f"models:/{name}" if name.alias or name.version else f"models:/{name}@latest"
        reply = await self._call("Resolve", pb.ResolveRequest(uri=uri), str(name))
        release = None
        if reply.HasField("release") and reply.release.alias:
            r = reply.release
            release = ReleaseInfo(r.model_name, r.alias, r.version, r.prompt_version,
                                  json_format.MessageToDict(r.sampling_parameters) if r.HasField(
                                      "sampling_parameters") else {})
        return version_info(reply.model_version), release

    async def aliases(self, models: list[str]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        token = ""
        while True:
            request = pb.ListRegisteredModelsRequest(page=common_pb2.PageRequest(page_size=200, page_token=token))
            reply = await self._call("ListRegisteredModels", request, "list")
            found += [(m.name, alias) for m in reply.models if not models or m.name in models for alias in m.aliases]
            token = reply.page.next_page_token
            if not token:
                return sorted(found)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
