"""The preparation pipeline on local files: formats, shapes, each step, splits, versions, bad input."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmops_ingestion.domain.config import PreparationConfig, parse_config
from llmops_ingestion.domain.shapes import Shape
from llmops_ingestion.preparation.pipeline import Outcome, Preparation, PreparationFailed, SourceFile

WORDS = [f"w{i}" for i in range(2000)]


def sentence(seed: int, n: int = 30) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def rows_of(seed_base: int, n: int) -> list[dict[str, str]]:
    return [{"instruction": f"Question {i}: {sentence(seed_base + i, 12)}", "input": "",
             "output": sentence(seed_base + 10_000 + i)} for i in range(n)]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def run(tmp_path: Path, files: list[Path], config: dict[str, Any] | None = None, *,
        source: dict[str, Any] | None = None, **kwargs: Any) -> Outcome:
    prep = Preparation(parse_config(config), workdir=tmp_path / f"work-{random.random()}", **kwargs)
    return prep.run([SourceFile(p, p.name) for p in files], version_exists=lambda _: False,
                    source=source or {"dataset_name": "demo", "uri": "test", "format": "detect"})


def records(outcome: Outcome) -> list[dict[str, Any]]:
    assert outcome.folder is not None
    rows: list[dict[str, Any]] = []
    for shard in sorted((outcome.folder / "data").glob("*.parquet")):
        rows += pq.read_table(shard).to_pylist()
    return rows


def step(outcome: Outcome, name: str) -> dict[str, Any]:
    return next(s for s in outcome.steps if s["step"] == name)


# -- formats and shapes -------------------------------------------------------------------------------


def test_jsonl_instruction_records_are_prepared_into_shards_manifest_and_profile(tmp_path):
    outcome = run(tmp_path, [write_jsonl(tmp_path / "a.jsonl", rows_of(0, 50))])
    assert outcome.shape is Shape.INSTRUCTION and outcome.record_count == 50
    got = records(outcome)
    assert len(got) == 50 and sum(outcome.split_counts.values()) == 50
    assert {r["source_line"] for r in got} == set(range(1, 51))
    manifest = json.loads((outcome.folder / "manifest.json").read_text())
    assert manifest["version"] == outcome.version and sum(s["records"] for s in manifest["shards"]) == 50
    profile = json.loads((outcome.folder / "profile.json").read_text())
    assert profile["record_count"] == 50 and profile["char_lengths"]["max"] > 0
    assert profile["field_completeness"] == {"instruction": 1.0, "output": 1.0}


def test_chat_records_with_sharegpt_roles(tmp_path):
    rows = [{"conversations": [{"from": "human", "value": f"hi {i} {sentence(i)}"},
                               {"from": "gpt", "value": sentence(100 + i)}]} for i in range(10)]
    outcome = run(tmp_path, [write_jsonl(tmp_path / "chat.jsonl", rows)])
    assert outcome.shape is Shape.CHAT
    first = min(records(outcome), key=lambda r: r["source_line"])
    assert first["messages"] == [{"role": "user", "content": f"hi 0 {sentence(0)}"},
                                 {"role": "assistant", "content": sentence(100)}]


def test_csv_with_aliases_prompt_completion(tmp_path):
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["prompt", "completion"])
        for i in range(8):
            writer.writerow([f"p{i} {sentence(i)}", f"c{i} {sentence(50 + i)}"])
    outcome = run(tmp_path, [path])
    assert outcome.shape is Shape.INSTRUCTION
    assert {r["instruction"].split()[0] for r in records(outcome)} == {f"p{i}" for i in range(8)}
    assert {r["source_line"] for r in records(outcome)} == set(range(2, 10))


def test_parquet_json_array_and_text_sources(tmp_path):
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([{"text": sentence(i)} for i in range(6)]), parquet)
    array = tmp_path / "t.json"
    array.write_text(json.dumps([{"text": sentence(100 + i)} for i in range(4)]))
    lines = tmp_path / "t.txt"
    lines.write_text("\n".join(sentence(200 + i) for i in range(3)) + "\n")
    outcome = run(tmp_path, [parquet, array, lines])
    assert outcome.shape is Shape.TEXT and outcome.record_count == 13
    assert {r["source_file"] for r in records(outcome)} == {"t.parquet", "t.json", "t.txt"}


def test_column_mapping_overrides_detection(tmp_path):
    rows = [{"q": f"question {sentence(i)}", "a": f"answer {sentence(90 + i)}", "text": "ignored"} for i in range(5)]
    outcome = run(tmp_path, [write_jsonl(tmp_path / "m.jsonl", rows)],
                  shape=Shape.INSTRUCTION, column_mapping={"instruction": "q", "output": "a"})
    assert all(r["instruction"].startswith("question") and r["output"].startswith("answer")
               for r in records(outcome))


# -- each step changes what it should and nothing else -------------------------------------------------


def test_normalisation_composes_unicode_and_cleans_whitespace_only(tmp_path):
    clean = {"text": "already clean text here"}
    messy = {"text": "  cafe\u0301   au\tlait \n\n\n\n  second   line  "}
    outcome = run(tmp_path, [write_jsonl(tmp_path / "n.jsonl", [clean, messy])])
    texts = sorted(r["text"] for r in records(outcome))
    assert texts == ["already clean text here", "caf\u00e9 au lait\n\nsecond line"]
    assert step(outcome, "normalize")["records_modified"] == 1


def test_length_filter_drops_with_reasons(tmp_path):
    rows = [{"text": "x"}, {"text": "y" * 500}, {"text": "one two"}, {"text": sentence(1, 10)}]
    config = {"length_filter": {"min_chars": 2, "max_chars": 400, "min_tokens": 3}}
    outcome = run(tmp_path, [write_jsonl(tmp_path / "l.jsonl", rows)], config)
    assert [r["text"] for r in records(outcome)] == [sentence(1, 10)]
    assert step(outcome, "length_filter")["dropped_by_reason"] == {
        "too_few_chars": 1, "too_many_chars": 1, "too_few_tokens": 1}


def test_exact_duplicates_removed_after_normalisation(tmp_path):
    rows = [{"text": sentence(1)}, {"text": "  " + sentence(1) + " "}, {"text": sentence(2)}, {"text": sentence(1)}]
    outcome = run(tmp_path, [write_jsonl(tmp_path / "d.jsonl", rows)], {"dedup": {"near": False}})
    assert sorted(r["text"] for r in records(outcome)) == sorted([sentence(1), sentence(2)])
    assert step(outcome, "exact_dedup")["dropped_by_reason"] == {"exact_duplicate": 2}
    profile = json.loads((outcome.folder / "profile.json").read_text())
    assert profile["duplicate_clusters"][0] == {"kind": "exact", "size": 3, "examples": [sentence(1)],
                                                "similarities": [1.0]}
    assert profile["duplicate_cluster_counts"] == {"exact": 1, "near": 0}


def test_near_duplicates_removed_distinct_records_kept(tmp_path):
    originals = [sentence(i, 60) for i in range(40)]
    near = []
    for i, text in enumerate(originals[:10]):
        words = text.split()
        words[30] = f"changed{i}"
        near.append(" ".join(words))
    outcome = run(tmp_path, [write_jsonl(tmp_path / "n.jsonl", [{"text": t} for t in originals + near])])
    kept = {r["text"] for r in records(outcome)}
    assert set(originals) <= kept or len(kept & set(originals)) >= 30
    assert step(outcome, "near_dedup")["dropped_by_reason"]["near_duplicate"] >= 7
    assert len(kept) == 50 - step(outcome, "near_dedup")["dropped_by_reason"]["near_duplicate"]


def near_families(families: int = 6) -> list[dict[str, str]]:
    """Per family a 60-word base and three copies with 1, 2 and 4 words replaced by a shorter one."""
    rows = []
    for family in range(families):
        base = sentence(100 + family, 60).split()
        rows.append({"text": " ".join(base)})
        for edits in (1, 2, 4):
            copy = list(base)
            for position in random.Random(family * 10 + edits).sample(range(60), edits):
                copy[position] = "x"
            rows.append({"text": " ".join(copy)})
    return rows


def test_near_dedup_keeps_the_longest_record_and_the_version_survives_shuffling(tmp_path):
    rows = near_families()
    forward = run(tmp_path, [write_jsonl(tmp_path / "f.jsonl", rows)])
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    backward = run(tmp_path, [write_jsonl(tmp_path / "b.jsonl", shuffled)])
    assert forward.version == backward.version
    kept = {r["text"] for r in records(forward)}
    assert {r["text"] for r in rows[::4]} <= kept, "each base is its family's longest record"
    assert kept == {r["text"] for r in records(backward)}


def test_profile_duplicate_counts_match_the_step_table(tmp_path):
    rows = near_families() + [{"text": sentence(1)}, {"text": sentence(1)}]
    outcome = run(tmp_path, [write_jsonl(tmp_path / "c.jsonl", rows)],
                  source={"dataset_name": "demo", "uri": "upload://1234", "format": "detect",
                          "files": [{"name": "families.jsonl", "size_bytes": 1, "sha256": "0"}]})
    profile = json.loads((outcome.folder / "profile.json").read_text())
    near = [c for c in profile["duplicate_clusters"] if c["kind"] == "near"]
    dropped = step(outcome, "near_dedup")["dropped_by_reason"]["near_duplicate"]
    assert profile["duplicate_cluster_counts"] == {"exact": 1, "near": len(near)}
    assert sum(c["size"] - 1 for c in near) == dropped >= 6
    for cluster in near:
        assert cluster["examples"][0] in {r["text"] for r in rows[:24:4]} and cluster["similarities"][0] == 1.0
        assert all(0.8 <= s < 1.0 for s in cluster["similarities"][1:])
    assert profile["source"]["files"] == ["families.jsonl"]


def test_pii_redacted_with_counts_by_kind_and_other_records_untouched(tmp_path):
    rows = [{"text": "mail me at jane.doe@example.com or call +1-202-555-0143"},
            {"text": "card 4111 1111 1111 1111 from 192.168.1.20"},
            {"text": "nothing personal in this sentence at all"}]
    outcome = run(tmp_path, [write_jsonl(tmp_path / "p.jsonl", rows)])
    texts = sorted(r["text"] for r in records(outcome))
    assert "mail me at [EMAIL] or call [PHONE]" in texts
    assert "card [CREDIT_CARD] from [IP]" in texts
    assert "nothing personal in this sentence at all" in texts
    profile = json.loads((outcome.folder / "profile.json").read_text())
    assert profile["pii_counts"] == {"email": 1, "phone": 1, "credit_card": 1, "ip": 1}
    assert step(outcome, "pii")["records_modified"] == 2


# -- splits and versions -------------------------------------------------------------------------------


def test_split_and_version_are_stable_under_reordering(tmp_path):
    rows = rows_of(0, 300)
    forward = run(tmp_path, [write_jsonl(tmp_path / "f.jsonl", rows)])
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    backward = run(tmp_path, [write_jsonl(tmp_path / "b.jsonl", shuffled)])
    assert forward.version == backward.version
    split_of = {r["record_id"]: r["split"] for r in records(forward)}
    assert split_of == {r["record_id"]: r["split"] for r in records(backward)}
    assert forward.split_counts["train"] > 240 and forward.split_counts["validation"] > 0


def test_same_data_same_version_and_config_changes_it(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", rows_of(0, 30))
    first, again = run(tmp_path, [path]), run(tmp_path, [path])
    assert first.version == again.version
    salted = run(tmp_path, [path], {"split": {"salt": "other"}})
    assert salted.version != first.version


def test_existing_version_skips_writing(tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", rows_of(0, 10))
    prep = Preparation(PreparationConfig(), workdir=tmp_path / "w")
    outcome = prep.run([SourceFile(path, path.name)], version_exists=lambda _: True, source={})
    assert outcome.folder is None and outcome.record_count == 10


# -- bad input -----------------------------------------------------------------------------------------


def _failure(tmp_path: Path, path: Path, config: dict[str, Any] | None = None) -> PreparationFailed:
    with pytest.raises(PreparationFailed) as caught:
        run(tmp_path, [path], config)
    return caught.value


def test_non_json_line_fails_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine"}\n{not json\n')
    error = _failure(tmp_path, path)
    assert (error.file, error.line) == ("bad.jsonl", 2) and "not valid JSON" in str(error)
    assert str(error).startswith("bad.jsonl:2: ")


def test_skip_policy_counts_and_samples_bad_records(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([json.dumps({"text": sentence(1)}), "{oops", json.dumps({"other": 1}),
                               json.dumps({"text": sentence(2)})]) + "\n")
    outcome = run(tmp_path, [path], {"bad_record_policy": "skip"})
    assert outcome.record_count == 2
    profile = json.loads((outcome.folder / "profile.json").read_text())
    assert profile["bad_record_count"] == 2
    assert [(b["line"], b["file"]) for b in profile["bad_record_samples"]] == [(2, "mixed.jsonl"), (3, "mixed.jsonl")]
    assert "missing field" in profile["bad_record_samples"][1]["problem"]


def test_record_missing_fields_fails(tmp_path):
    rows = [{"instruction": "a question here", "output": "an answer"}, {"instruction": "no answer"}]
    error = _failure(tmp_path, write_jsonl(tmp_path / "m.jsonl", rows))
    assert error.line == 2 and "missing field" in error.problem


@pytest.mark.parametrize("content, problem", [
    (b"", "the file is empty"),
    (b"a,b\n1,2\n1,2,3\n", "row has 3 fields, the header has 2"),
    (b'{"text": "ok"}\n{"text": "bad \xff byte"}\n', "invalid UTF-8"),
    (b"PAR1 this is not really parquet", "not a valid Parquet file"),
])
def test_bad_files_fail_with_a_clear_message(tmp_path, content, problem):
    suffix = ".parquet" if content.startswith(b"PAR1") else ".csv" if content.startswith(b"a,b") else ".jsonl"
    path = tmp_path / f"input{suffix}"
    path.write_bytes(content)
    error = _failure(tmp_path, path, {"dedup": {"near": False}})
    assert problem in str(error) and path.name in str(error)


def test_a_50_mb_line_is_a_bad_record_not_a_crash(tmp_path):
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as f:
        f.write(b'{"text": "' + b"a" * (50 * 1024 * 1024) + b'"}\n')
        f.write(json.dumps({"text": sentence(3)}).encode() + b"\n")
    error = _failure(tmp_path, path)
    assert error.line == 1 and "longer than" in error.problem
    outcome = run(tmp_path, [path], {"bad_record_policy": "skip"})
    assert outcome.record_count == 1


def test_nothing_left_is_a_failure_not_an_empty_version(tmp_path):
    error = _failure(tmp_path, write_jsonl(tmp_path / "short.jsonl", [{"text": "a"}]),
                     {"length_filter": {"min_chars": 5}})
    assert "dropped every record" in str(error)


def test_token_filter_with_a_locally_trained_tokenizer(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator([sentence(i) for i in range(200)],
                                  trainers.BpeTrainer(vocab_size=120, special_tokens=["[UNK]"]))
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    text = "w1234 w5678 w42"  # 3 whitespace tokens, more BPE pieces with a 120-entry vocabulary
    pieces = len(tokenizer.encode(text).ids)
    assert pieces > 3
    rows = [{"text": text}, {"text": "w1"}]
    config = {"length_filter": {"max_tokens": pieces - 1, "tokenizer": str(tmp_path)}}
    outcome = run(tmp_path, [write_jsonl(tmp_path / "t.jsonl", rows)], config)
    assert [r["text"] for r in records(outcome)] == ["w1"]
    assert step(outcome, "length_filter")["dropped_by_reason"] == {"too_many_tokens": 1}
    profile = json.loads((outcome.folder / "profile.json").read_text())
    assert profile["tokenizer"] == str(tmp_path) and profile["token_lengths"]["max"] == len(tokenizer.encode("w1").ids)


def test_a_missing_tokenizer_is_refused(tmp_path):
    from llmops_common.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="no tokenizer.json"):
        run(tmp_path, [write_jsonl(tmp_path / "x.jsonl", [{"text": "a b"}])],
            {"length_filter": {"tokenizer": str(tmp_path / "nowhere")}})


def test_compressed_inputs_are_read_and_corrupt_ones_named(tmp_path):
    import bz2
    import gzip

    rows = [{"text": sentence(i)} for i in range(5)]
    body = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(body))
    (tmp_path / "b.csv.bz2").write_bytes(bz2.compress(b"text\n" + sentence(99).encode() + b"\n"))
    outcome = run(tmp_path, [tmp_path / "a.jsonl.gz", tmp_path / "b.csv.bz2"])
    assert outcome.record_count == 6
    assert {r["source_file"] for r in records(outcome)} == {"a.jsonl.gz", "b.csv.bz2"}
    (tmp_path / "broken.jsonl.gz").write_bytes(b"this is not gzip")
    error = _failure(tmp_path, tmp_path / "broken.jsonl.gz")
    assert error.file == "broken.jsonl.gz" and "not valid gzip data" in error.problem
