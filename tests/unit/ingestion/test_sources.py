"""Where an ingestion may read from: local folders whose every entry is resolved and checked against
the roots, files opened as they were listed, and S3 sources under the allowed prefixes only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmops_common.auth import Principal, Role
from llmops_common.errors import InvalidArgument, NotFound, PermissionDenied
from llmops_ingestion import handlers
from llmops_ingestion.domain.model import IngestionRequest, SourceKind, SourceSpec
from llmops_ingestion.settings import IngestionSettings
from llmops_ingestion.sources import SourceRules
from llmops_ingestion.store.memory import InMemoryIngestion


@pytest.fixture
def tree(tmp_path) -> tuple[Path, Path, Path]:
    """(root, root/dir with one data file, a folder outside the root holding a secret)."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "dir").mkdir(parents=True)
    outside.mkdir()
    (root / "dir" / "data.jsonl").write_text('{"text": "fine"}\n')
    (outside / "secret.txt").write_text("the secret\n")
    return root, root / "dir", outside


def staged(rules: SourceRules, path: Path, folder: Path) -> dict[str, str]:
    folder.mkdir(exist_ok=True)
    return {name: copy.read_text() for copy, name in rules.stage_local(str(path), folder)}


def test_a_symlink_to_a_file_outside_the_roots_is_refused_by_name(tree, tmp_path):
    root, folder, _ = tree
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    with pytest.raises(PermissionDenied) as caught:
        staged(SourceRules((root,)), folder, tmp_path / "stage")
    assert caught.value.field == f"{folder}/passwd.txt"
    assert "is a symlink to '/etc/passwd', outside the allowed local roots" in caught.value.message
    assert not list((tmp_path / "stage").iterdir())  # nothing was copied


def test_a_symlinked_folder_outside_the_roots_is_refused_by_name(tree, tmp_path):
    root, folder, outside = tree
    (folder / "more").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PermissionDenied) as caught:
        staged(SourceRules((root,)), folder, tmp_path / "stage")
    assert caught.value.field == f"{folder}/more"


def test_symlinks_inside_the_roots_are_followed_once_and_special_files_skipped(tree, tmp_path):
    root, folder, _ = tree
    (root / "shared").mkdir()
    (root / "shared" / "extra.jsonl").write_text('{"text": "extra"}\n')
    (folder / "alias.jsonl").symlink_to(folder / "data.jsonl")
    (folder / "shared").symlink_to(root / "shared", target_is_directory=True)
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # a cycle is walked once
    os.mkfifo(folder / "pipe.jsonl")  # reading it would block forever
    assert staged(SourceRules((root,)), folder, tmp_path / "stage") == {
        f"{folder}/alias.jsonl": '{"text": "fine"}\n',
        f"{folder}/data.jsonl": '{"text": "fine"}\n',
        f"{folder}/shared/extra.jsonl": '{"text": "extra"}\n',
    }


def test_a_broken_symlink_is_named(tree, tmp_path):
    root, folder, _ = tree
    (folder / "gone.jsonl").symlink_to(folder / "missing.jsonl")
    with pytest.raises(NotFound, match="gone.jsonl is a symlink to nothing"):
        staged(SourceRules((root,)), folder, tmp_path / "stage")


def swap_after_listing(monkeypatch, swap) -> None:
    """Run ``swap`` after the folder is listed and checked, before any file is opened."""
    listing = SourceRules._list

    def list_then_swap(self, path):
        found = list(listing(self, path))
        swap()
        return found

    monkeypatch.setattr(SourceRules, "_list", list_then_swap)


def test_a_file_swapped_for_a_symlink_after_listing_is_not_read(tree, tmp_path, monkeypatch):
    root, folder, outside = tree
    data = folder / "data.jsonl"

    def swap():
        data.unlink()
        data.symlink_to(outside / "secret.txt")

    swap_after_listing(monkeypatch, swap)
    with pytest.raises(PermissionDenied, match="data.jsonl changed after it was listed") as caught:
        staged(SourceRules((root,)), folder, tmp_path / "stage")
    assert caught.value.field == f"{folder}/data.jsonl"


def test_a_folder_swapped_for_a_symlink_after_listing_is_not_read(tree, tmp_path, monkeypatch):
    root, folder, outside = tree
    (outside / "data.jsonl").write_text("the secret\n")  # the same name, outside the root

    def swap():
        folder.rename(root / "moved")
        folder.symlink_to(outside, target_is_directory=True)

    swap_after_listing(monkeypatch, swap)
    with pytest.raises(PermissionDenied, match="data.jsonl changed after it was listed"):
        staged(SourceRules((root,)), folder, tmp_path / "stage")


def test_a_folder_swapped_for_a_symlink_while_it_is_walked_is_not_listed(tree, tmp_path, monkeypatch):
    root, folder, outside = tree
    (outside / "data.jsonl").write_text("the secret\n")
    check = SourceRules.check_local

    def check_then_swap(self, path):
        resolved = check(self, path)
        folder.rename(root / "moved")
        folder.symlink_to(outside, target_is_directory=True)
        return resolved

    monkeypatch.setattr(SourceRules, "check_local", check_then_swap)
    with pytest.raises(PermissionDenied, match="changed after it was"):
        staged(SourceRules((root,)), folder, tmp_path / "stage")


def test_a_file_swapped_for_a_fifo_after_listing_is_refused_without_blocking(tree, tmp_path, monkeypatch):
    root, folder, _ = tree
    data = folder / "data.jsonl"

    def swap():
        data.unlink()
        os.mkfifo(data)

    swap_after_listing(monkeypatch, swap)
    with pytest.raises(PermissionDenied, match="changed after it was listed"):
        staged(SourceRules((root,)), folder, tmp_path / "stage")


def test_a_single_file_source_is_copied(tree, tmp_path):
    root, folder, _ = tree
    assert staged(SourceRules((root,)), folder / "data.jsonl", tmp_path / "stage") == {
        str(folder / "data.jsonl"): '{"text": "fine"}\n'}


@pytest.mark.parametrize(("uri", "allowed"), [
    ("s3://llmops-artifacts/raw/x.jsonl", True),
    ("s3://llmops-artifacts/raw", True),
    ("s3://llmops-artifacts/raw/", True),
    ("s3://llmops-artifacts/rawdata/x.jsonl", False),  # a prefix matches whole path segments
    ("s3://llmops-artifacts/other/", False),
    ("s3://llmops-models/base/", False),
    ("s3://llmops-datasets/qa/_uploads/1/f.jsonl", False),
])
def test_s3_sources_only_under_the_allowed_prefixes(uri, allowed):
    rules = SourceRules(s3_prefixes=("s3://llmops-artifacts/raw",))
    if allowed:
        rules.check_s3(uri)
    else:
        with pytest.raises(PermissionDenied) as caught:
            rules.check_s3(uri)
        assert caught.value.field == "source.s3_uri" and "outside the S3 prefixes" in caught.value.message


def test_s3_uris_with_dot_segments_are_invalid():
    with pytest.raises(InvalidArgument) as caught:
        SourceRules(s3_prefixes=("s3://llmops-artifacts/",)).check_s3("s3://llmops-artifacts/../llmops-models/x")
    assert caught.value.field == "source.s3_uri"


def test_the_default_allows_the_artifacts_bucket_and_never_the_models_bucket(monkeypatch):
    rules = SourceRules.from_settings(IngestionSettings())
    assert rules.s3_prefixes == ("s3://llmops-artifacts/",)
    with pytest.raises(PermissionDenied):
        rules.check_s3("s3://llmops-models/base/")
    monkeypatch.setenv("LLMOPS_INGESTION_S3_SOURCE_PREFIXES", '["s3://llmops-artifacts/", "s3://llmops-models/"]')
    with pytest.raises(ValueError, match="models bucket, which is never a source"):
        IngestionSettings()


async def test_a_request_naming_another_bucket_is_refused_when_accepted():
    state = InMemoryIngestion()
    request = IngestionRequest("qa", SourceSpec(SourceKind.S3, "s3://llmops-models/base/"))
    with pytest.raises(PermissionDenied) as caught:
        await handlers.submit_ingestion(state.unit_of_work, request, actor=Principal("k", "dev", Role.DEVELOPER),
                                        sources=SourceRules.from_settings(IngestionSettings()))
    assert caught.value.field == "source.s3_uri"
    assert not state.jobs and not state.datasets and not state.audit


@pytest.mark.parametrize("path", ["/data/\x00x", "/" + "a" * 5000])
def test_a_local_path_with_a_nul_or_too_long_is_invalid(tmp_path, path):
    with pytest.raises(InvalidArgument) as caught:
        SourceRules((tmp_path,)).check_local(path)
    assert caught.value.field == "source.local_path"
