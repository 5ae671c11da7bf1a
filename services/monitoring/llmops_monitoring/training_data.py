"""The training data of a model version, as the content hashes curation deduplicates against: the
registry's lineage names its dataset versions, ingestion's manifests their shards in S3."""

from __future__ import annotations

import abc
import asyncio
import io
import logging
from typing import Any

import grpc

from llmops.ingestion.v1 import ingestion_pb2 as ingestion_pb
from llmops.ingestion.v1 import ingestion_pb2_grpc as ingestion_grpc
from llmops.registry.v1 import registry_pb2 as registry_pb
from llmops.registry.v1 import registry_pb2_grpc as registry_grpc
from llmops_common.errors import DomainError, FailedPrecondition
from llmops_common.service_calls import manifest_shards, rpc_error
from llmops_common.storage import ArtifactStore
from llmops_monitoring.curation import record_hash

log = logging.getLogger(__name__)
MAX_SHARD_BYTES = 256 * 1024 * 1024


class TrainingData(abc.ABC):
    @abc.abstractmethod
    async def hashes(self, model_version: str) -> set[str]:
        """``record_hash`` of every (instruction, output) the version was trained on; empty when its
        lineage names no dataset or the registry does not know it. UNAVAILABLE when the registry or
        ingestion cannot be reached (curation does not go on without its deduplication)."""

    async def close(self) -> None:  # noqa: B027 - a fake has nothing to close
        """Close connections."""


class GrpcTrainingData(TrainingData):
    """Channels open on first use, inside the running loop; hashes are cached per version."""

    def __init__(self, *, registry: str, ingestion: str, api_key: str, artifacts: ArtifactStore,
                 timeout: float = 10.0) -> None:
        self.targets = {"registry": registry, "ingestion": ingestion}
        self.metadata = (("authorization", f"Bearer {api_key}"),)
        self.artifacts, self.timeout = artifacts, timeout
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._cache: dict[str, set[str]] = {}

    async def _call(self, service: str, stub: Any, method: str, request: Any, ref: str) -> Any:
        if service not in self._channels:
            self._channels[service] = grpc.aio.insecure_channel(self.targets[service])
        try:
            return await getattr(stub(self._channels[service]), method)(request, metadata=self.metadata,
                                                                        timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            raise rpc_error(exc, service, "model_version", ref) from None

    async def hashes(self, model_version: str) -> set[str]:
        if model_version in self._cache:
            return self._cache[model_version]
        name, _, number = model_version.removeprefix("models:/").rpartition("/")
        try:
            version = await self._call("registry", registry_grpc.RegistryServiceStub, "GetModelVersion",
                                       registry_pb.GetModelVersionRequest(model_name=name, version=int(number)),
                                       model_version)
        except FailedPrecondition:  # a version the registry does not know has no known training data
            log.warning("model version %s is not in the registry; nothing to deduplicate against", model_version)
            self._cache[model_version] = set()
            return set()
        found: set[str] = set()
        for ref in version.lineage.dataset_versions:
            dataset, _, dataset_version = ref.partition("@")
            try:
                reply = await self._call("ingestion", ingestion_grpc.IngestionServiceStub, "GetDatasetVersion",
                                         ingestion_pb.GetDatasetVersionRequest(dataset_name=dataset,
                                                                               version=dataset_version), ref)
                found |= await asyncio.to_thread(self._read, reply.uri, reply.manifest_uri, ref)
            except DomainError as exc:  # a dataset gone past its retention cannot be deduplicated against
                log.warning("training data %s of %s is not readable: %s", ref, model_version, exc)
        self._cache[model_version] = found
        return found

    def _read(self, folder: str, manifest_uri: str, ref: str) -> set[str]:
        import pyarrow.parquet as pq

        hashes = set()
        for split, uri in manifest_shards(self.artifacts, folder, manifest_uri, ref, "model_version"):
            if split != "train" or self.artifacts.stat(uri).size > MAX_SHARD_BYTES:
                continue
            for row in pq.read_table(io.BytesIO(self.artifacts.get_bytes(uri))).to_pylist():
                if "instruction" in row:
                    hashes.add(record_hash(str(row.get("instruction") or ""), str(row.get("output") or "")))
        return hashes

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        self._channels.clear()
