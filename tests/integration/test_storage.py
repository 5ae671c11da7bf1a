"""The artifact store on a real S3 server (rclone serve s3)."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request

import pytest

from llmops_common.errors import NotFound
from llmops_common.storage import ArtifactStore

pytestmark = pytest.mark.integration


@pytest.fixture
def store(settings_for):
    artifacts = ArtifactStore.from_settings(settings_for())
    artifacts.ensure_buckets()
    artifacts.ensure_buckets()  # idempotent
    return artifacts


def test_streams_of_unknown_length_are_stored_multipart_with_their_sha256(store, unique_name):
    data = os.urandom(20 * 1024 * 1024 + 123)  # more than one 16 MiB part
    uri = f"s3://llmops-artifacts/{unique_name}/blob.bin"
    stored = store.put_stream(uri, io.BytesIO(data))
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert store.stat(uri).sha256 == stored.sha256
    assert store.get_bytes(uri) == data
    assert not store.exists(f"{uri}.uploading")


def test_folders_go_up_and_down_and_describe_covers_every_file(store, unique_name, tmp_path):
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "config.json").write_text('{"a": 1}')
    (src / "sub" / "weights.safetensors").write_bytes(os.urandom(1000))
    uri = f"s3://llmops-models/{unique_name}/v1"
    stored = store.put_folder(uri, src)
    assert sorted(o.uri for o in stored) == [f"{uri}/config.json", f"{uri}/sub/weights.safetensors"]
    described = store.describe(uri)
    assert described.size == 1000 + len('{"a": 1}')
    paths = store.get_folder(uri, tmp_path / "down")
    assert (sorted(p.relative_to(tmp_path / "down").as_posix() for p in paths)
            == ["config.json", "sub/weights.safetensors"])
    assert ((tmp_path / "down" / "sub" / "weights.safetensors").read_bytes()
            == (src / "sub" / "weights.safetensors").read_bytes())
    (src / "config.json").write_text('{"a": 2}')
    store.put_folder(uri, src)
    assert store.describe(uri).sha256 != described.sha256


def test_missing_objects_are_not_found_and_presigned_urls_work(store, unique_name):
    with pytest.raises(NotFound):
        store.describe(f"s3://llmops-models/{unique_name}/nothing")
    with pytest.raises(NotFound):
        store.get_bytes(f"s3://llmops-models/{unique_name}/nothing")
    assert not store.exists(f"s3://no-such-bucket-{unique_name}/x")
    uri = f"s3://llmops-artifacts/{unique_name}/hello.txt"
    store.put_bytes(uri, b"hello")
    with urllib.request.urlopen(store.presigned_get_url(uri), timeout=5) as resp:
        assert resp.read() == b"hello"
