"""The other services a run depends on: the port that resolves a spec's references and registers a
run's output, and its gRPC adapter (registry, ingestion, prompt store).

A reference that does not exist is FAILED_PRECONDITION naming the field; a service that cannot be
reached is UNAVAILABLE (the caller may retry).
"""

from __future__ import annotations

import abc
import asyncio
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
from llmops_training.domain.registration import Registration
from llmops_training.domain.resolution import ResolvedBase, ResolvedDataset, ResolvedPrompt
from llmops_training.domain.spec import BASE_MODEL_REF, DATASET_REF
from llmops_training.inspection import ModelInspector

SHAPES = {ingestion_pb.RECORD_SHAPE_INSTRUCTION: "instruction", ingestion_pb.RECORD_SHAPE_CHAT: "chat",
          ingestion_pb.RECORD_SHAPE_TEXT: "text"}
KINDS = {"adapter": registry_pb.MODEL_KIND_ADAPTER, "base": registry_pb.MODEL_KIND_BASE}


class References(abc.ABC):
    @abc.abstractmethod
    async def resolve_base(self, ref: str) -> ResolvedBase:
        """``models:/name/3``, ``models:/name@alias`` (through the registry) or an ``s3://`` folder, with
        what its config says (module names, max positions, default LoRA targets)."""

    @abc.abstractmethod
    async def resolve_dataset(self, ref: str) -> ResolvedDataset:
        """``name@version``: its shape and its Parquet shards by split (from the version's manifest)."""

    @abc.abstractmethod
    async def resolve_prompt(self, ref: str) -> ResolvedPrompt:
        """``name@label`` or ``name/3``: the exact version, its template and required variables."""

    @abc.abstractmethod
    async def register(self, registration: Registration) -> str:
        """Create the model version (once per request id); return ``models:/name/N``."""

    async def close(self) -> None:  # noqa: B027 - a fake has nothing to close
        """Close connections."""


class GrpcReferences(References):
    """Calls the registry, ingestion and prompt services with the service's API key; reads manifests
    and model configs from S3."""

    def __init__(self, *, registry: str, ingestion: str, prompts: str, api_key: str, artifacts: ArtifactStore,
                 timeout: float = 10.0, inspector: ModelInspector | None = None) -> None:
        self.targets = {"registry": registry, "ingestion": ingestion, "prompts": prompts}
        self.metadata = (("authorization", f"Bearer {api_key}"),)
        self.artifacts, self.timeout = artifacts, timeout
        self.inspector = inspector or ModelInspector(artifacts)
        self._channels: dict[str, grpc.aio.Channel] = {}

    def _channel(self, service: str) -> grpc.aio.Channel:
        if service not in self._channels:
            self._channels[service] = grpc.aio.insecure_channel(self.targets[service])
        return self._channels[service]

    async def _call(self, service: str, stub: Any, method: str, request: Any, field: str, ref: str) -> Any:
        try:
            return await getattr(stub(self._channel(service)), method)(request, metadata=self.metadata,
                                                                       timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            raise rpc_error(exc, service, field, ref) from None

    async def resolve_base(self, ref: str) -> ResolvedBase:
        if ref.startswith("s3://"):
            return ResolvedBase(ref, ref.rstrip("/"), info=await self.inspector.inspect(ref.rstrip("/")))
        if BASE_MODEL_REF.fullmatch(ref) is None:
            raise InvalidArgument(f"{quote(ref)} is not a model reference", field="base_model")
        reply = await self._call("registry", registry_grpc.RegistryServiceStub, "Resolve",
                                 registry_pb.ResolveRequest(uri=ref), "base_model", ref)
        version = reply.model_version
        if version.kind == registry_pb.MODEL_KIND_ADAPTER:
            raise FailedPrecondition(f"{quote(ref)} is an adapter; name a base or merged model", field="base_model")
        info = await self.inspector.inspect(version.artifact_uri.rstrip("/"))
        return ResolvedBase(ref, version.artifact_uri.rstrip("/"), f"models:/{version.model_name}/{version.version}",
                            version.model_name, info)

    async def resolve_dataset(self, ref: str) -> ResolvedDataset:
        match = DATASET_REF.fullmatch(ref)
        if match is None:
            raise InvalidArgument(f"{quote(ref)} is not <dataset>@<version>", field="dataset_version")
        reply = await self._call("ingestion", ingestion_grpc.IngestionServiceStub, "GetDatasetVersion",
                                 ingestion_pb.GetDatasetVersionRequest(dataset_name=match["name"],
                                                                       version=match["version"]),
                                 "dataset_version", ref)
        shape = SHAPES.get(reply.shape)
        if shape is None:
            raise FailedPrecondition(f"dataset version {quote(ref)} has no known shape", field="dataset_version")
        shards = await asyncio.to_thread(manifest_shards, self.artifacts, reply.uri, reply.manifest_uri, ref)
        train = tuple(uri for split, uri in shards if split == "train")
        if not train:
            raise FailedPrecondition(f"dataset version {quote(ref)} has no train records", field="dataset_version")
        validation = tuple(uri for split, uri in shards if split == "validation")
        return ResolvedDataset(f"{reply.dataset_name}@{reply.version}", shape, train, validation)

    async def resolve_prompt(self, ref: str) -> ResolvedPrompt:
        try:
            parsed = PromptRef.parse(ref)
        except InvalidArgument:
            raise InvalidArgument(f"{quote(ref)} is not <prompt>@<label> or <prompt>/<version>",
                                  field="prompt_version") from None
        request = prompts_pb.GetPromptRequest(prompt_name=parsed.name)
        if parsed.version:
            request.version = parsed.version
        elif parsed.label:
            request.label = parsed.label
        reply = await self._call("prompts", prompts_grpc.PromptServiceStub, "GetPrompt", request, "prompt_version",
                                 ref)
        try:
            template = template_from_pb(reply.version)
        except InvalidArgument as exc:
            raise FailedPrecondition(f"prompt {quote(ref)} cannot be used: {exc.message}",
                                     field="prompt_version") from None
        required = tuple(v.name for v in template.variables if v.required and v.default is None)
        return ResolvedPrompt(f"{reply.version.prompt_name}/{reply.version.version}", template_to_wire(template),
                              required)

    async def register(self, registration: Registration) -> str:
        stub = registry_grpc.RegistryServiceStub
        create = registry_pb.CreateRegisteredModelRequest(
            name=registration.model_name,
            description=f"trained by the training service (run {registration.training_run_id})")
        try:
            await stub(self._channel("registry")).CreateRegisteredModel(create, metadata=self.metadata,
                                                                        timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() is not grpc.StatusCode.ALREADY_EXISTS:
                raise rpc_error(exc, "registry", "output_model_name", registration.model_name) from None
        request = registry_pb.CreateModelVersionRequest(
            model_name=registration.model_name, artifact_uri=registration.artifact_uri, kind=KINDS[registration.kind],
            base_model_version=registration.base_model_version, format="safetensors", tags=registration.tags,
            request_id=registration.request_id,
            lineage=registry_pb.Lineage(dataset_versions=list(registration.dataset_versions),
                                        prompt_version=registration.prompt_version,
                                        training_run_id=registration.training_run_id,
                                        code_version=registration.code_version,
                                        config_hash=registration.config_hash))
        reply = await self._call("registry", stub, "CreateModelVersion", request, "output_model_name",
                                 registration.model_name)
        return f"models:/{reply.model_name}/{reply.version}"

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
