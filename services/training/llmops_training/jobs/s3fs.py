"""A pyarrow filesystem over the ``minio`` client, for Ray Train's run storage, the dataset shards and
the outputs of a job.

Why not ``pyarrow.fs.S3FileSystem``: it uploads multipart parts without a length and writes empty
``dir/`` marker objects, and some S3 servers refuse both (rclone's ``serve s3``, our embedded
stack's, answers 411 and 500). S3 has no directories; this handler has none either: a "directory"
is a prefix with objects under it, and creating one does nothing. Uploads are spooled to a temporary
file and sent with their length when the stream closes.
"""

from __future__ import annotations

import tempfile
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from llmops_training.jobs.protocol import StorageAccess

_SPOOL_BYTES = 64 * 1024 * 1024


def _split(path: str) -> tuple[str, str]:
    bucket, _, key = path.removeprefix("s3://").strip("/").partition("/")
    return bucket, key


class _Upload(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
    """Bytes written here go to one object when the stream is closed."""

    def __init__(self, client: Minio, bucket: str, key: str) -> None:
        super().__init__(max_size=_SPOOL_BYTES)
        self._target = (client, bucket, key)

    def close(self) -> None:
        if not self.closed:
            client, bucket, key = self._target
            size = self.tell()
            self.seek(0)
            client.put_object(bucket, key, self, size)
        super().close()


class MinioHandler(pafs.FileSystemHandler):
    def __init__(self, storage: StorageAccess) -> None:
        self.storage = storage
        self._client: Minio | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (MinioHandler, (self.storage,))

    @property
    def client(self) -> Minio:
        if self._client is None:
            s = self.storage
            self._client = Minio(s.endpoint, access_key=s.access_key, secret_key=s.secret_key, secure=s.secure,
                                 region=s.region)
        return self._client

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MinioHandler) and other.storage == self.storage

    def __ne__(self, other: object) -> bool:
        return not self == other

    def get_type_name(self) -> str:
        return "llmops-s3"

    def normalize_path(self, path: str) -> str:
        return path.removeprefix("s3://").rstrip("/")

    # -- information ----------------------------------------------------------------------------
    def _info(self, path: str) -> pafs.FileInfo:
        bucket, key = _split(path)
        if not key:
            return pafs.FileInfo(path, pafs.FileType.Directory)
        try:
            stat = self.client.stat_object(bucket, key)
            return pafs.FileInfo(path, pafs.FileType.File, size=stat.size, mtime=stat.last_modified)
        except S3Error as exc:
            if exc.code not in ("NoSuchKey", "NoSuchObject", "NoSuchBucket", "ResourceNotFound"):
                raise
        for _ in self.client.list_objects(bucket, prefix=key.rstrip("/") + "/"):
            return pafs.FileInfo(path, pafs.FileType.Directory)
        return pafs.FileInfo(path, pafs.FileType.NotFound)

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        return [self._info(p) for p in paths]

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        bucket, key = _split(selector.base_dir)
        prefix = f"{key}/" if key else ""
        infos, directories = [], set()
        for obj in self.client.list_objects(bucket, prefix=prefix, recursive=selector.recursive):
            name = obj.object_name.rstrip("/")
            if obj.is_dir:
                directories.add(name)
                continue
            infos.append(pafs.FileInfo(f"{bucket}/{name}", pafs.FileType.File, size=obj.size,
                                       mtime=obj.last_modified))
            parts = name[len(prefix):].split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                directories.add(prefix + "/".join(parts[:depth]))
        if not infos and not directories and not selector.allow_not_found and key:
            raise FileNotFoundError(f"no objects under {selector.base_dir}")
        return infos + [pafs.FileInfo(f"{bucket}/{d}", pafs.FileType.Directory) for d in sorted(directories)]

    # -- changes --------------------------------------------------------------------------------
    def create_dir(self, path: str, recursive: bool) -> None:
        """Nothing to create: a prefix exists once an object is under it."""

    def _remove_prefix(self, path: str) -> None:
        bucket, key = _split(path)
        prefix = f"{key}/" if key else ""
        for obj in self.client.list_objects(bucket, prefix=prefix, recursive=True):
            self.client.remove_object(bucket, obj.object_name)

    def delete_dir(self, path: str) -> None:
        self._remove_prefix(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self._remove_prefix(path)

    def delete_root_dir_contents(self) -> None:
        raise OSError("refusing to empty every bucket")

    def delete_file(self, path: str) -> None:
        self.client.remove_object(*_split(path))

    def copy_file(self, src: str, dest: str) -> None:
        self.client.copy_object(*_split(dest), CopySource(*_split(src)))

    def move(self, src: str, dest: str) -> None:
        self.copy_file(src, dest)
        self.delete_file(src)

    # -- streams --------------------------------------------------------------------------------
    def _read(self, path: str) -> pa.BufferReader:
        response = self.client.get_object(*_split(path))
        try:
            return pa.BufferReader(response.read())
        finally:
            response.close()
            response.release_conn()

    def open_input_stream(self, path: str) -> pa.NativeFile:
        return self._read(path)

    def open_input_file(self, path: str) -> pa.NativeFile:
        return self._read(path)

    def open_output_stream(self, path: str, metadata: Any = None) -> pa.NativeFile:
        return pa.PythonFile(_Upload(self.client, *_split(path)), mode="w")

    def open_append_stream(self, path: str, metadata: Any = None) -> pa.NativeFile:
        raise OSError("S3 objects cannot be appended to")


def s3_filesystem(storage: StorageAccess) -> pafs.PyFileSystem:
    return pafs.PyFileSystem(MinioHandler(storage))
