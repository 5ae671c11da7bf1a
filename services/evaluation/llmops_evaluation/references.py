"""What an evaluation names in other services: model versions (registry), the dataset version's split
(ingestion, its manifest in S3) and prompts (prompt store). The port, and its gRPC adapter.

A reference that does not exist is FAILED_PRECONDITION naming the field; an unreachable service is
UNAVAILABLE (the run is retried)."""

from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass
from typing import Any

import grpc

from llmops.ingestion.v1 import ingestion_pb2 as ingestion_pb
from llmops.ingestion.v1 import ingestion_pb2_grpc as ingestion_grpc
from llmops.prompts.v1 import prompts_pb2 as prompts_pb
from llmops.prompts.v1 import prompts_pb2_grpc as prompts_grpc
from llmops.registry.v1 import registry_pb2 as registry_pb
from llmops.registry.v1 import registry_pb2_grpc as registry_grpc
from llmops_common.errors import FailedPrecondition, InvalidArgument
from llmops_common.prompt_client import PromptRef, template_from_pb
from llmops_common.service_calls import manifest_shards, rpc_error
from llmops_common.storage import ArtifactStore
from llmops_common.templating.wire import template_to_wire
from llmops_common.validation import quote

SHAPES = {ingestion_pb.RECORD_SHAPE_INSTRUCTION: "instruction", ingestion_pb.RECORD_SHAPE_CHAT: "chat",
          ingestion_pb.RECORD_SHAPE_TEXT: "text"}
KINDS = {registry_pb.MODEL_KIND_BASE: "base", registry_pb.MODEL_KIND_ADAPTER: "adapter",
         registry_pb.MODEL_KIND_MERGED: "merged"}


@dataclass(frozen=True)
class ResolvedModel:
    uri: str  # models:/name/N
    model_name: str
    version: int
    kind: str  # base | adapter | merged
    artifact_uri: str
    sha256: str
    base_uri: str = ""  # an adapter's base, models:/name/N
    base_artifact_uri: str = ""
    base_sha256: str = ""


@dataclass(frozen=True)
class ResolvedDataset:
    reference: str  # name@version
    shape: str  # instruction | chat | text
    uris: tuple[str, ...]  # the split's Parquet shards


@dataclass(frozen=True)
class ResolvedPrompt:
    reference: str  # name/3
    template: dict[str, Any]  # templating.wire.template_to_wire


class References(abc.ABC):
    @abc.abstractmethod
    async def resolve_model(self, ref: str, field: str) -> ResolvedModel:
        """``models:/name/3`` or ``models:/name@alias``, with an adapter's base folder."""

    @abc.abstractmethod
    async def champion(self, model_name: str, alias: str) -> ResolvedModel | None:
        """The version holding ``alias`` of ``model_name``; None when the alias (or model) is not set."""

    @abc.abstractmethod
    async def resolve_dataset(self, ref: str, split: str) -> ResolvedDataset:
        """``name@version`` and the shards of ``split``; a split with no shards is FAILED_PRECONDITION."""

    @abc.abstractmethod
    async def resolve_prompt(self, ref: str, field: str) -> ResolvedPrompt: ...

    async def close(self) -> None:  # noqa: B027 - a fake has nothing to close
        """Close connections."""


class GrpcReferences(References):
    """Calls the registry, ingestion and prompt services with the service's key; reads manifests from S3.
    Channels open on first use, inside the running loop."""

    def __init__(self, *, registry: str, ingestion: str, prompts: str, api_key: str, artifacts: ArtifactStore,
                 timeout: float = 10.0) -> None:
        self.targets = {"registry": registry, "ingestion": ingestion, "prompts": prompts}
        self.metadata = (("authorization", f"Bearer {api_key}"),)
        self.artifacts, self.timeout = artifacts, timeout
        self._channels: dict[str, grpc.aio.Channel] = {}

    async def _call(self, service: str, stub: Any, method: str, request: Any, field: str, ref: str) -> Any:
        if service not in self._channels:
            self._channels[service] = grpc.aio.insecure_channel(self.targets[service])
        try:
            return await getattr(stub(self._channels[service]), method)(request, metadata=self.metadata,
                                                                        timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            raise rpc_error(exc, service, field, ref) from None

    async def _resolve(self, uri: str, field: str) -> registry_pb.ModelVersion:
        reply = await self._call("registry", registry_grpc.RegistryServiceStub, "Resolve",
                                 registry_pb.ResolveRequest(uri=uri), field, uri)
        return reply.model_version

    async def resolve_model(self, ref: str, field: str) -> ResolvedModel:
        version = await self._resolve(ref, field)
        kind = KINDS.get(version.kind, "base")
        resolved = ResolvedModel(f"models:/{version.model_name}/{version.version}", version.model_name,
                                 version.version, kind, version.artifact_uri.rstrip("/"), version.sha256)
        if kind != "adapter":
            return resolved
        if not version.base_model_version:
            raise FailedPrecondition(f"adapter {quote(ref)} names no base model", field=field)
        base = await self._resolve(version.base_model_version, field)
        return ResolvedModel(resolved.uri, resolved.model_name, resolved.version, kind, resolved.artifact_uri,
                             resolved.sha256, f"models:/{base.model_name}/{base.version}",
                             base.artifact_uri.rstrip("/"), base.sha256)

    async def champion(self, model_name: str, alias: str) -> ResolvedModel | None:
        try:
            return await self.resolve_model(f"models:/{model_name}@{alias}", "champion")
        except FailedPrecondition as exc:
            if "does not exist" in exc.message:
                return None
            raise

    async def resolve_dataset(self, ref: str, split: str) -> ResolvedDataset:
        name, _, version = ref.partition("@")
        reply = await self._call("ingestion", ingestion_grpc.IngestionServiceStub, "GetDatasetVersion",
                                 ingestion_pb.GetDatasetVersionRequest(dataset_name=name, version=version),
                                 "spec.dataset_version", ref)
        shape = SHAPES.get(reply.shape)
        if shape is None:
            raise FailedPrecondition(f"dataset version {quote(ref)} has no known shape", field="spec.dataset_version")
        shards = await asyncio.to_thread(manifest_shards, self.artifacts, reply.uri, reply.manifest_uri, ref,
                                         "spec.dataset_version")
        uris = tuple(uri for name_, uri in shards if name_ == split)
        if not uris:
            raise FailedPrecondition(f"dataset version {quote(ref)} has no {quote(split)} records: the split is empty",
                                     field="spec.split")
        return ResolvedDataset(f"{reply.dataset_name}@{reply.version}", shape, uris)

    async def resolve_prompt(self, ref: str, field: str) -> ResolvedPrompt:
        try:
            parsed = PromptRef.parse(ref)
        except InvalidArgument:
            raise InvalidArgument(f"{quote(ref)} is not <prompt>@<label> or <prompt>/<version>", field=field) from None
        request = prompts_pb.GetPromptRequest(prompt_name=parsed.name)
        if parsed.version:
            request.version = parsed.version
        elif parsed.label:
            request.label = parsed.label
        reply = await self._call("prompts", prompts_grpc.PromptServiceStub, "GetPrompt", request, field, ref)
        try:
            template = template_from_pb(reply.version)
        except InvalidArgument as exc:
            raise FailedPrecondition(f"prompt {quote(ref)} cannot be used: {exc.message}", field=field) from None
        return ResolvedPrompt(f"{reply.version.prompt_name}/{reply.version.version}", template_to_wire(template))

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
