"""What a service that names other services' resources needs to read them: gRPC failures turned into
domain errors (a reference that does not exist is FAILED_PRECONDITION naming the field; a service that
cannot be reached is UNAVAILABLE), and a dataset version's shards from its manifest."""

from __future__ import annotations

import json

import grpc

from llmops_common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from llmops_common.storage import ArtifactStore
from llmops_common.validation import quote

TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
             grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def rpc_error(exc: grpc.aio.AioRpcError, service: str, field: str, ref: str) -> Exception:
    code = exc.code()
    if code in TRANSIENT:
        return Unavailable(f"the {service} service cannot be reached ({code.name}); try again")
    if code is grpc.StatusCode.NOT_FOUND:
        return FailedPrecondition(f"{quote(ref, 120)} does not exist: {(exc.details() or '')[:200]}", field=field)
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(f"{quote(ref, 120)}: {(exc.details() or '')[:200]}", field=field)
    return FailedPrecondition(f"the {service} service refused {quote(ref, 120)} ({code.name}): "
                              f"{(exc.details() or '')[:200]}", field=field)


def manifest_shards(artifacts: ArtifactStore, folder: str, manifest_uri: str, ref: str,
                    field: str = "dataset_version") -> list[tuple[str, str]]:
    """(split, s3 uri) of every shard a dataset version's manifest lists (blocking)."""
    try:
        if artifacts.stat(manifest_uri).size > MAX_MANIFEST_BYTES:
            raise FailedPrecondition(f"the manifest of {quote(ref)} is too large", field=field)
        manifest = json.loads(artifacts.get_bytes(manifest_uri))
        return [(str(s["split"]), f"{folder.rstrip('/')}/{s['path']}") for s in manifest["shards"]]
    except NotFound:
        raise FailedPrecondition(f"the manifest of {quote(ref)} is missing from storage", field=field) from None
    except (ValueError, KeyError, TypeError):
        raise FailedPrecondition(f"the manifest of {quote(ref)} cannot be read", field=field) from None
