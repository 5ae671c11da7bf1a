"""Compressed inputs: expansion capped by size and ratio while streaming, and errors that name the
compressed file itself."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from llmops_ingestion.domain.config import parse_config
from llmops_ingestion.domain.limits import ExpansionLimit
from llmops_ingestion.preparation.pipeline import Preparation, PreparationFailed, SourceFile
from llmops_ingestion.settings import IngestionSettings
from llmops_ingestion.worker import PreparationTask, run_in_child

MIB = 1 << 20


def gzip_of_zeros(path: Path, size: int) -> Path:
    with gzip.open(path, "wb", compresslevel=9) as out:
        for _ in range(size // MIB):
            out.write(bytes(MIB))
    return path


def failure(tmp_path: Path, path: Path, **kwargs) -> PreparationFailed:
    with pytest.raises(PreparationFailed) as caught:
        Preparation(parse_config({"dedup": {"near": False}}), workdir=tmp_path / "work", **kwargs).run(
            [SourceFile(path, path.name)], version_exists=lambda _: False, source={})
    return caught.value


def test_a_gzip_bomb_stops_at_the_ratio_cap_and_leaves_nothing_behind(tmp_path):
    bomb = gzip_of_zeros(tmp_path / "bomb.jsonl.gz", 256 * MIB)  # about 250 KB, 1000x
    error = failure(tmp_path, bomb)
    assert error.file == "bomb.jsonl.gz" and error.line is None
    assert error.problem.startswith("expands to more than 64.0 MiB, the limit of 100 times its compressed size")
    assert "LLMOPS_INGESTION_MAX_DECOMPRESSION_RATIO" in error.problem
    assert list((tmp_path / "work" / "decompressed").iterdir()) == []


def test_the_size_cap_applies_whatever_the_ratio(tmp_path):
    body = "".join(json.dumps({"text": f"record {i} with some words in it"}) + "\n" for i in range(60_000))
    path = tmp_path / "big.jsonl.gz"
    path.write_bytes(gzip.compress(body.encode()))
    error = failure(tmp_path, path, expansion=ExpansionLimit(max_bytes=MIB, max_ratio=1000))
    assert error.file == "big.jsonl.gz"
    assert error.problem == "expands to more than 1.0 MiB, the limit of LLMOPS_INGESTION_MAX_DECOMPRESSED_BYTES"


def test_small_repetitive_files_expand_freely_under_64_mib(tmp_path):
    path = tmp_path / "same.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "the same line again and again"}\n' * 20_000))
    assert path.stat().st_size * 100 < 800_000  # over the ratio, under the 64 MiB that is always allowed
    outcome = Preparation(parse_config({"dedup": {"near": False}}), workdir=tmp_path / "work").run(
        [SourceFile(path, path.name)], version_exists=lambda _: False, source={"dataset_name": "d", "uri": "t"})
    assert outcome.record_count == 1  # exact duplicates of one line


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "the file is empty"),
    (gzip.compress(b""), "the file is empty once decompressed"),
    (gzip.compress(b"  \n\n "), "the file is empty"),
])
def test_an_empty_gzip_is_named_itself_not_its_inner_file(tmp_path, content, problem):
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(content)
    (tmp_path / "a.jsonl").write_text('{"text": "a different file that exists"}\n')
    error = failure(tmp_path, path)
    assert (error.file, error.problem) == ("a.jsonl.gz", problem)


def test_the_caps_come_from_the_settings_into_the_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_INGESTION_MAX_DECOMPRESSED_BYTES", str(2 * MIB))
    monkeypatch.setenv("LLMOPS_INGESTION_MAX_DECOMPRESSION_RATIO", "50")
    settings = IngestionSettings()
    assert settings.expansion == ExpansionLimit(2 * MIB, 50.0)
    bomb = gzip_of_zeros(tmp_path / "bomb.jsonl.gz", 8 * MIB)
    task = PreparationTask(parse_config(None), None, {}, tmp_path / "work", settings.max_record_bytes,
                           settings.shard_records, [SourceFile(bomb, bomb.name)], {}, settings.expansion)
    with pytest.raises(PreparationFailed, match="LLMOPS_INGESTION_MAX_DECOMPRESSED_BYTES"):
        run_in_child(task, version_exists=lambda _: False, on_progress=lambda _: None, should_stop=lambda: False)


def test_an_infinite_ratio_is_refused(monkeypatch):
    monkeypatch.setenv("LLMOPS_INGESTION_MAX_DECOMPRESSION_RATIO", "inf")
    with pytest.raises(ValueError, match="max_decompression_ratio"):
        IngestionSettings()
