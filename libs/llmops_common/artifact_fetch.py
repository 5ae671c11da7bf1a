"""A model version's artifacts, downloaded and proven to be what the registry recorded.

Each file is checked against its object (the sha256 the uploader recorded, else the single-part
ETag, which is the MD5), and the folder's digest is recomputed the way the registry's
``ArtifactStore.describe`` computed it at registration (sorted ``relative-key digest size`` lines):
a file changed, added or removed since then fails. Downloads land in a temporary folder renamed into
the cache (``<cache>/<sha256>``) only once verified, so a cached folder is always a verified one.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

from minio.error import InvalidResponseError, S3Error

from llmops_common.errors import FailedPrecondition, NotFound, Unavailable
from llmops_common.hashing import file_sha256
from llmops_common.storage import ArtifactStore, parse_s3_uri

MAX_FILES = 512
MAX_DEPTH = 8


class ArtifactMismatch(FailedPrecondition):
    """The stored artifacts are not the ones registered (or cannot be proven to be)."""


def _relative(name: str, prefix: str) -> str:
    rel = name[len(prefix):]
    parts = rel.split("/")
    if "\\" in rel or "\x00" in rel or len(parts) > MAX_DEPTH or any(p in ("", ".", "..") for p in parts):
        raise ArtifactMismatch(f"object {name[:120]!r} has a name that cannot be a file in a model folder")
    return rel


def _md5(path: Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            md5.update(chunk)
    return md5.hexdigest()


def fetch_verified(store: ArtifactStore, uri: str, expected_sha256: str, cache: Path, *,
                   max_bytes: int = 64 * 1024**3) -> Path:
    """The verified local copy of the folder at ``uri`` (blocking; run it in a thread)."""
    if not expected_sha256:
        raise ArtifactMismatch(f"the registry holds no sha256 for {uri}; it cannot be verified")
    folder = cache / expected_sha256
    if folder.is_dir():
        return folder
    bucket, prefix = parse_s3_uri(uri.rstrip("/") + "/")
    try:
        objects = sorted(store.client.list_objects(bucket, prefix=prefix, recursive=True), key=lambda o: o.object_name)
    except (S3Error, InvalidResponseError, OSError) as exc:
        raise Unavailable(f"cannot list {uri}: {exc.__class__.__name__}") from None
    if not objects:
        raise NotFound(f"nothing is stored under {uri}", field="artifact_uri")
    if len(objects) > MAX_FILES or sum(o.size or 0 for o in objects) > max_bytes:
        raise ArtifactMismatch(f"{uri} holds more than {MAX_FILES} files or {max_bytes} bytes")
    staging = cache / f".partial-{uuid.uuid4().hex}"
    try:
        lines = hashlib.sha256()
        for obj in objects:
            rel = _relative(obj.object_name, prefix)
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            object_uri = f"s3://{bucket}/{obj.object_name}"
            store.get_file(object_uri, target)
            stored = store.stat(object_uri)
            lines.update(f"{rel} {_file_digest(target, stored.sha256, stored.etag, rel)} {obj.size}\n".encode())
        if lines.hexdigest() != expected_sha256:
            raise ArtifactMismatch(f"the files under {uri} are not the ones registered (sha256 "
                                   f"{lines.hexdigest()[:12]}…, the registry recorded {expected_sha256[:12]}…)")
        try:
            staging.rename(folder)
        except OSError:  # another load verified the same folder first
            if not folder.is_dir():
                raise
        return folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _file_digest(path: Path, sha256: str, etag: str, rel: str) -> str:
    """The digest the registry's line for this file holds, after checking the local bytes match it."""
    if sha256:
        if file_sha256(path) != sha256:
            raise ArtifactMismatch(f"{rel}: its sha256 is not the one recorded for it")
        return sha256
    etag = etag.strip('"')
    if not etag or "-" in etag:
        raise ArtifactMismatch(f"{rel}: no sha256 was recorded and its ETag is multipart; it cannot be verified")
    if _md5(path) != etag:
        raise ArtifactMismatch(f"{rel}: its MD5 is not its ETag")
    return etag
