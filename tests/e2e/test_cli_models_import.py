"""`llmops models import` as a user runs it against the registry process: a local Hugging Face folder built by
the base-model code lands in S3 under its manifest digest and is registered as a base version; importing it
again returns the same version; a folder with pickled weights is refused before anything is stored."""

from __future__ import annotations

import shutil

import pytest

from llmops_common.storage import ArtifactStore
from llmops_common.testing.cli import Cli
from llmops_common.testing.processes import TEST_ADMIN_KEY
from llmops_training.base_models.architecture import SIZES, build_base_model
from llmops_training.base_models.corpus import generate_documents
from llmops_training.base_models.folder import validate_model_folder

pytestmark = pytest.mark.e2e



def test_import_uploads_a_folder_under_its_digest_and_registers_one_base_version(embedded_stack, settings_for,
                                                                                 registry, unique_name, tmp_path):
    folder = build_base_model(tmp_path / "tiny", generate_documents(1, SIZES["tiny"].documents), seed=1).folder
    manifest = validate_model_folder(folder)
    cli = Cli(embedded_stack.home, TEST_ADMIN_KEY, LLMOPS_REGISTRY_ENDPOINT=registry)

    version = cli.json("models", "import", unique_name, str(folder), "--description", "a tiny llama")
    prefix = f"s3://llmops-models/{unique_name}/base/{manifest.sha256}"
    assert (version["version"], version["kind"], version["format"]) == ("1", "MODEL_KIND_BASE", "hf-safetensors")
    assert (version["artifact_uri"], version["sha256"]) == (prefix, manifest.sha256)
    assert version["size_bytes"] == str(manifest.size)
    assert version["tags"] == {"architecture": "LlamaForCausalLM", "model_type": "llama", "source": "import"}
    assert cli.json("models", "get", unique_name)["description"] == "a tiny llama"

    store = ArtifactStore.from_settings(settings_for())
    assert [uri for uri, _ in store.list_objects(prefix)] == [f"{prefix}/{f.path}" for f in manifest.files]
    for entry in manifest.files:
        stored = store.stat(f"{prefix}/{entry.path}")
        assert (stored.size, stored.sha256) == (entry.size, entry.sha256), entry.path
    assert store.get_bytes(f"{prefix}/model.safetensors") == (folder / "model.safetensors").read_bytes()
    assert store.describe(prefix).sha256 == manifest.sha256

    again = cli.json("models", "import", unique_name, str(folder))
    assert (again["version"], again["artifact_uri"]) == ("1", prefix)
    assert f"models:/{unique_name}/1" in cli.ok("models", "import", unique_name, str(folder))

    pickled = shutil.copytree(folder, tmp_path / "pickled")
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    error = cli.fails("models", "import", f"{unique_name}-pickled", str(pickled), code="invalid")
    assert "pytorch_model.bin: pickled weights run arbitrary code" in error
    assert not store.list_objects(f"s3://llmops-models/{unique_name}-pickled/")
    cli.fails("models", "get", f"{unique_name}-pickled", code="NOT_FOUND")
