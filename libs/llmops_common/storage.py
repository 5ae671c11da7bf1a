"""Artifact storage on any S3-compatible server through the ``minio`` client.

Files and folders up and down, streams of unknown length (multipart), the sha256 of what was stored
(computed while streaming, recorded as object metadata), presigned URLs, and buckets ensured at start.
The client is synchronous; async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import abc
import hashlib
import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.error import InvalidResponseError, S3Error

from llmops_common import validation
from llmops_common.errors import NotFound
from llmops_common.hashing import file_sha256
from llmops_common.settings import CommonSettings

PART_SIZE = 16 * 1024 * 1024
SHA256_META = "sha256"


@dataclass(frozen=True)
class StoredObject:
    uri: str
    size: int
    sha256: str
    etag: str


def parse_s3_uri(uri: str, field: str = "uri") -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key), checked by ``validation.parse_s3_uri``."""
    return validation.parse_s3_uri(uri, field)


class _HashingReader(io.RawIOBase):
    """Wraps a stream and hashes what passes through (minio reads it in parts)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.sha = stream, hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.sha.update(data)
        self.size += len(data)
        return data


class ArtifactInspector(abc.ABC):
    """The read-only port handlers use to check what an artifact URI holds."""

    @abc.abstractmethod
    def describe(self, uri: str) -> StoredObject:
        """Size and sha256 of the object or folder at ``uri``; raise NotFound when nothing is there."""


class ArtifactStore(ArtifactInspector):
    def __init__(self, client: Minio, buckets: tuple[str, ...] = ()) -> None:
        self.client = client
        self.buckets = buckets

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> ArtifactStore:
        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        return cls(client, (settings.s3_bucket_datasets, settings.s3_bucket_models, settings.s3_bucket_artifacts))

    def ensure_buckets(self) -> None:
        for bucket in self.buckets:
            if not self.client.bucket_exists(bucket):
                try:
                    self.client.make_bucket(bucket)
                except S3Error as exc:  # a replica created it first
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

    def ping(self) -> bool:
        self.client.list_buckets()
        return True

    # -- up ----------------------------------------------------------------------------------

    def put_stream(self, uri: str, stream: BinaryIO, *, content_type: str = "application/octet-stream") -> StoredObject:
        """Store a stream of any length (multipart, 16 MiB parts) and return its size and sha256.

        The digest is only known once the stream is read, so it is recorded by a server-side copy that
        replaces the object's metadata; the object never exists without its digest under ``uri`` because
        it is first written under a temporary key.
        """
        bucket, key = parse_s3_uri(uri)
        reader = _HashingReader(stream)
        tmp_key = f"{key}.uploading"
        self.client.put_object(bucket, tmp_key, reader, length=-1, part_size=PART_SIZE, content_type=content_type)
        digest = reader.sha.hexdigest()

        result = self.client.copy_object(
            bucket, key, CopySource(bucket, tmp_key), metadata={SHA256_META: digest}, metadata_directive=REPLACE
        )
        self.client.remove_object(bucket, tmp_key)
        return StoredObject(uri, reader.size, digest, result.etag)

    def put_bytes(self, uri: str, data: bytes, *, content_type: str = "application/octet-stream") -> StoredObject:
        bucket, key = parse_s3_uri(uri)
        digest = hashlib.sha256(data).hexdigest()
        result = self.client.put_object(
            bucket, key, io.BytesIO(data), len(data), content_type=content_type, metadata={SHA256_META: digest}
        )
        return StoredObject(uri, len(data), digest, result.etag)

    def put_file(self, uri: str, path: Path, *, sha256: str = "") -> StoredObject:
        """Store a local file; ``sha256`` saves reading it twice when the caller hashed it already."""
        digest = sha256 or file_sha256(path)
        bucket, key = parse_s3_uri(uri)
        result = self.client.fput_object(bucket, key, str(path), metadata={SHA256_META: digest}, part_size=PART_SIZE)
        return StoredObject(uri, path.stat().st_size, digest, result.etag)

    def put_folder(self, uri: str, folder: Path) -> list[StoredObject]:
        """Upload every file under ``folder`` below the prefix ``uri``, keeping relative paths."""
        prefix = uri.rstrip("/")
        return [
            self.put_file(f"{prefix}/{path.relative_to(folder).as_posix()}", path)
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        ]

    # -- down --------------------------------------------------------------------------------

    def get_bytes(self, uri: str) -> bytes:
        bucket, key = parse_s3_uri(uri)
        try:
            response = self.client.get_object(bucket, key)
        except (S3Error, InvalidResponseError) as exc:
            raise _not_found(exc, uri) from None
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def get_file(self, uri: str, path: Path) -> Path:
        bucket, key = parse_s3_uri(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.fget_object(bucket, key, str(path))
        except (S3Error, InvalidResponseError) as exc:
            raise _not_found(exc, uri) from None
        return path

    def get_folder(self, uri: str, folder: Path) -> list[Path]:
        bucket, prefix = parse_s3_uri(uri.rstrip("/") + "/")
        paths = []
        for obj in self.client.list_objects(bucket, prefix=prefix, recursive=True):
            paths.append(self.get_file(f"s3://{bucket}/{obj.object_name}", folder / obj.object_name[len(prefix) :]))
        if not paths:
            raise NotFound(f"no objects under {uri}", field="uri")
        return paths

    # -- metadata ----------------------------------------------------------------------------

    def list_objects(self, uri: str) -> list[tuple[str, int]]:
        """(uri, size) of the object at ``uri`` or of every object under it as a prefix, sorted."""
        bucket, key = parse_s3_uri(uri)
        try:
            found = [(f"s3://{bucket}/{o.object_name}", o.size or 0)
                     for o in self.client.list_objects(bucket, prefix=key, recursive=True)
                     if o.object_name == key or o.object_name.startswith(key.rstrip("/") + "/")]
        except (S3Error, InvalidResponseError) as exc:
            raise _not_found(exc, uri) from None
        return sorted(found)

    def delete_prefix(self, uri: str) -> int:
        """Remove every object under the prefix ``uri``; returns how many were removed."""
        bucket, key = parse_s3_uri(uri)
        names = [o.object_name for o in self.client.list_objects(bucket, prefix=key.rstrip("/") + "/", recursive=True)]
        for name in names:
            self.client.remove_object(bucket, name)
        return len(names)

    def stat(self, uri: str) -> StoredObject:
        bucket, key = parse_s3_uri(uri)
        try:
            info = self.client.stat_object(bucket, key)
        except (S3Error, InvalidResponseError) as exc:
            raise _not_found(exc, uri) from None
        meta = {k.lower(): v for k, v in (info.metadata or {}).items()}
        digest = meta.get(f"x-amz-meta-{SHA256_META}", "")
        return StoredObject(uri, info.size or 0, digest, info.etag or "")

    def exists(self, uri: str) -> bool:
        """True for an object or a non-empty prefix (a folder artifact)."""
        bucket, key = parse_s3_uri(uri)
        if not self.client.bucket_exists(bucket):
            return False
        try:
            self.client.stat_object(bucket, key)
            return True
        except (S3Error, InvalidResponseError) as exc:
            if not _is_missing(exc):
                raise
        prefix = key.rstrip("/") + "/"
        return next(iter(self.client.list_objects(bucket, prefix=prefix, recursive=True)), None) is not None

    def describe(self, uri: str) -> StoredObject:
        """Size and digest of an artifact: one object, or every object under a prefix (a folder).

        A folder's sha256 is the digest of its sorted ``relative-key sha256-or-etag size`` lines, so it
        changes whenever any file does. Raises NotFound when nothing is stored at ``uri``.
        """
        bucket, key = parse_s3_uri(uri)
        prefix = key.rstrip("/") + "/"
        try:
            objects = sorted(self.client.list_objects(bucket, prefix=prefix, recursive=True),
                             key=lambda o: o.object_name)
        except (S3Error, InvalidResponseError) as exc:
            raise _not_found(exc, uri) from None
        if not objects:
            return self.stat(uri)  # a single object, or NotFound
        lines, total = hashlib.sha256(), 0
        for obj in objects:
            digest = self.stat(f"s3://{bucket}/{obj.object_name}").sha256 or (obj.etag or "").strip('"')
            lines.update(f"{obj.object_name[len(prefix):]} {digest} {obj.size}\n".encode())
            total += obj.size or 0
        return StoredObject(uri, total, lines.hexdigest(), "")

    def presigned_get_url(self, uri: str, *, expires: timedelta = timedelta(hours=1)) -> str:
        bucket, key = parse_s3_uri(uri)
        return self.client.presigned_get_object(bucket, key, expires=expires)

    def presigned_put_url(self, uri: str, *, expires: timedelta = timedelta(hours=1)) -> str:
        bucket, key = parse_s3_uri(uri)
        return self.client.presigned_put_object(bucket, key, expires=expires)


def _is_missing(exc: S3Error | InvalidResponseError) -> bool:
    """Whether an S3 error means "nothing there" (some servers answer 404 without an XML error body)."""
    if isinstance(exc, InvalidResponseError):
        return exc._code == 404
    return exc.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject", "NotFound")


def _not_found(exc: S3Error | InvalidResponseError, uri: str) -> Exception:
    if _is_missing(exc):
        return NotFound(f"no object at {uri}", field="uri")
    return exc
