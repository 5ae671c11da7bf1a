"""Downloads checked against the registry's digest, on the real S3 of the embedded stack: the digest
``ArtifactStore.describe`` records at registration is the one serving recomputes from the bytes."""

from __future__ import annotations

import io
import uuid

import pytest

from llmops_common.artifact_fetch import ArtifactMismatch, _relative, fetch_verified
from llmops_common.storage import ArtifactStore

pytestmark = pytest.mark.integration
FILES = {"adapter_config.json": b'{"peft_type": "LORA"}', "adapter_model.safetensors": b"w" * 5000,
         "nested/tokenizer.json": "{\"漢字\": 1}".encode()}


@pytest.fixture
def store(settings_for) -> ArtifactStore:
    store = ArtifactStore.from_settings(settings_for())
    store.ensure_buckets()
    return store


def upload(store: ArtifactStore, *, with_sha256: bool) -> str:
    uri = f"s3://llmops-models/serving-artifacts/{uuid.uuid4().hex}"
    for name, data in FILES.items():
        if with_sha256:
            store.put_bytes(f"{uri}/{name}", data)
        else:  # what training's uploads look like: no digest metadata, a single-part ETag
            bucket, prefix = uri.removeprefix("s3://").split("/", 1)
            store.client.put_object(bucket, f"{prefix}/{name}", io.BytesIO(data), len(data))
    return uri


@pytest.mark.parametrize("with_sha256", [True, False])
def test_registered_folder_verifies_and_is_cached(store, tmp_path, with_sha256) -> None:
    uri = upload(store, with_sha256=with_sha256)
    expected = store.describe(uri).sha256
    folder = fetch_verified(store, uri, expected, tmp_path)
    assert folder == tmp_path / expected
    assert {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == FILES
    store.client.remove_object("llmops-models", uri.split("llmops-models/", 1)[1] + "/adapter_config.json")
    assert fetch_verified(store, uri, expected, tmp_path) == folder  # verified once, served from the cache


@pytest.mark.parametrize("change", ["modified", "added", "removed"])
def test_a_change_after_registration_is_refused_and_leaves_nothing(store, tmp_path, change) -> None:
    uri = upload(store, with_sha256=False)
    expected = store.describe(uri).sha256
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    if change == "modified":
        store.client.put_object(bucket, f"{prefix}/adapter_model.safetensors", io.BytesIO(b"x" * 5000), 5000)
    elif change == "added":
        store.put_bytes(f"{uri}/extra.bin", b"surprise")
    else:
        store.client.remove_object(bucket, f"{prefix}/nested/tokenizer.json")
    with pytest.raises(ArtifactMismatch):
        fetch_verified(store, uri, expected, tmp_path)
    assert list(tmp_path.iterdir()) == []  # no partial folder, no cache entry


def test_no_digest_recorded_is_refused(store, tmp_path) -> None:
    with pytest.raises(ArtifactMismatch):
        fetch_verified(store, upload(store, with_sha256=True), "", tmp_path)


@pytest.mark.parametrize("name", ["p/../x", "p//x", "p/./x", "p/a\\b", "p/a\x00", "p/" + "d/" * 9 + "f"])
def test_object_names_that_cannot_be_files_are_refused(name) -> None:
    with pytest.raises(ArtifactMismatch):
        _relative(name, "p/")
