"""Parquet with bounded memory: oversized rows are bad records whatever the encoding, a dictionary that
repeats a huge value cannot expand a small file to gigabytes, and hostile page headers are refused."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from llmops_ingestion.domain.config import parse_config
from llmops_ingestion.preparation.pipeline import Preparation, PreparationFailed, SourceFile
from llmops_ingestion.preparation.readers import BadInput, BadRecord, DataFormat, RawRecord, parquet, read_records

MIB = 1 << 20
BIG = 50 * MIB


def repeated_value_file(path: Path, big_rows: int = 12, small_rows: int = 0) -> Path:
    """``big_rows`` rows of one 50 MiB value, dictionary-encoded (a file of about 2 KB), then
    ``small_rows`` ordinary ones."""
    dictionary = pa.array(["a" * BIG] + [f"an ordinary sentence number {i}" for i in range(small_rows)])
    indices = pa.array([0] * big_rows + list(range(1, small_rows + 1)), pa.int32())
    pq.write_table(pa.table({"text": pa.DictionaryArray.from_arrays(indices, dictionary)}), path,
                   compression="zstd")
    return path


def read(path: Path, **kwargs: int) -> list[RawRecord | BadRecord]:
    return list(read_records(path, name=path.name, fmt=DataFormat.PARQUET, **kwargs))


def test_a_small_file_of_huge_repeated_values_stays_small_in_memory(tmp_path):
    path = repeated_value_file(tmp_path / "bomb.parquet")
    assert path.stat().st_size < 16 * 1024
    script = textwrap.dedent(f"""
        import json
        from pathlib import Path
        from llmops_ingestion.preparation.readers import BadRecord, DataFormat, read_records
        items = list(read_records(Path({str(path)!r}), name="bomb.parquet", fmt=DataFormat.PARQUET))
        peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        print(json.dumps({{"bad": [(i.line, i.problem) for i in items if isinstance(i, BadRecord)],
                          "count": len(items), "peak_mib": int(peak.split()[1]) / 1024}}))
    """)  # VmHWM, not ru_maxrss: that one keeps the peak of the forking test process across exec
    out = json.loads(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                                    text=True, timeout=300).stdout)
    assert out["count"] == 12
    assert [line for line, _ in out["bad"]] == list(range(1, 13))
    assert out["bad"][0][1] == "record larger than the 8.0 MiB limit (50.0 MiB once decoded)"
    assert out["peak_mib"] < 600, out  # before: about 1 GiB for the reader alone, 4 GiB for a job


def test_the_job_fails_on_the_first_oversized_row_or_skips_every_one(tmp_path):
    path = repeated_value_file(tmp_path / "bomb.parquet", big_rows=3, small_rows=20)
    config = {"dedup": {"near": False}}
    with pytest.raises(PreparationFailed) as caught:
        Preparation(parse_config(config), workdir=tmp_path / "w1").run(
            [SourceFile(path, path.name)], version_exists=lambda _: False, source={})
    assert str(caught.value).startswith("bomb.parquet:1: record larger than the 8.0 MiB limit")
    outcome = Preparation(parse_config({**config, "bad_record_policy": "skip"}), workdir=tmp_path / "w2").run(
        [SourceFile(path, path.name)], version_exists=lambda _: False, source={"dataset_name": "d", "uri": "t"})
    assert outcome.record_count == 20
    assert outcome.profile["bad_record_count"] == 3


def test_plain_encoded_oversized_rows_are_bad_records(tmp_path):
    path = tmp_path / "plain.parquet"
    texts = ["x" * (2 * MIB), "small", "y" * (2 * MIB), "also small"]
    pq.write_table(pa.table({"id": list(range(4)), "text": texts}), path, use_dictionary=False)
    items = read(path, max_record_bytes=MIB)
    assert [(i.line, i.problem) for i in items if isinstance(i, BadRecord)] == [
        (1, "record larger than the 1.0 MiB limit (2.0 MiB once decoded)"),
        (3, "record larger than the 1.0 MiB limit (2.0 MiB once decoded)")]
    assert [(i.line, i.fields) for i in items if isinstance(i, RawRecord)] == [
        (2, {"id": 1, "text": "small"}), (4, {"id": 3, "text": "also small"})]


def test_a_one_row_group_over_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({"text": ["z" * (3 * MIB), "fine"]}), path, row_group_size=1, use_dictionary=False)
    items = read(path, max_record_bytes=MIB)
    assert isinstance(items[0], BadRecord) and items[0].line == 1 and "of column data" in items[0].problem
    assert items[1] == RawRecord({"text": "fine"}, "groups.parquet", 2)


def test_a_list_repeating_a_dictionary_value_is_read_as_a_dictionary(tmp_path):
    path = tmp_path / "lists.parquet"
    value = pa.DictionaryArray.from_arrays(pa.array([0] * 2000 + [1], pa.int32()), pa.array(["v" * MIB, "ok"]))
    column = pa.ListArray.from_arrays(pa.array([0, 2000, 2001], pa.int32()), value)
    pq.write_table(pa.table({"parts": column}), path)
    meta = pq.read_metadata(path)
    with path.open("rb") as f:
        plan = parquet._plan(meta, f, path.name, 8 * MIB, 128 * MIB)
    assert plan.as_dictionary == ["parts.list.element"]
    items = read(path)
    assert isinstance(items[0], BadRecord) and "2000.0 MiB once decoded" in items[0].problem
    assert items[1] == RawRecord({"parts": ["ok"]}, "lists.parquet", 2)


def test_a_dictionary_page_over_its_limit_is_bad_input(tmp_path):
    path = repeated_value_file(tmp_path / "dict.parquet", big_rows=1)
    with pytest.raises(BadInput, match="column 'text' has a dictionary page of 50.0 MiB, over the 16.0 MiB limit"):
        read(path, max_record_bytes=2 * MIB)


def test_ordinary_files_read_in_full_batches(tmp_path):
    path = tmp_path / "ok.parquet"
    rows = [{"instruction": f"question {i}", "output": f"answer {i} " * 20, "tags": ["a", f"t{i % 3}"]}
            for i in range(10_000)]
    for compression in ("snappy", "zstd", "gzip", "brotli", "lz4", "none"):
        pq.write_table(pa.Table.from_pylist(rows), path, compression=compression)
        with path.open("rb") as f:
            plan = parquet._plan(pq.read_metadata(path), f, path.name, 8 * MIB, 128 * MIB)
        if compression != "lz4":  # Hadoop-framed LZ4: the dictionary's size bounds its values
            assert plan == parquet._Plan([parquet.MAX_BATCH_ROWS], []), compression
        assert [i.fields for i in read(path)] == rows


VALUES = st.recursive(
    st.none() | st.text(max_size=20) | st.integers(-2**63, 2**63 - 1),
    lambda children: st.lists(children, max_size=4), max_leaves=20)


@given(st.lists(st.fixed_dictionaries({"s": st.text(max_size=30) | st.none(),
                                       "b": st.binary(max_size=10),
                                       "l": st.lists(st.text(max_size=8) | st.none(), max_size=5) | st.none(),
                                       "m": st.fixed_dictionaries({"x": st.floats(), "y": st.text(max_size=5)})}),
                min_size=1, max_size=20))
@settings(max_examples=60, deadline=None)
def test_value_sizes_match_the_decoded_values(rows):
    def size(value):
        if value is None:
            return 0
        if isinstance(value, str):
            return len(value.encode())
        if isinstance(value, bytes):
            return len(value)
        if isinstance(value, list):
            return sum(size(v) for v in value)
        if isinstance(value, dict):
            return sum(size(v) for v in value.values())
        return 8  # int64, double
    batch = pa.RecordBatch.from_pylist(rows)
    measured = sum(parquet.value_sizes(column) for column in batch.columns)
    assert measured.tolist() == [size(r) for r in rows]
    for start in range(len(rows)):  # slices are measured on their own rows only
        sliced = batch.slice(start)
        assert sum(parquet.value_sizes(c) for c in sliced.columns).tolist() == [size(r) for r in rows[start:]]


@given(st.binary(max_size=64))
@example(b"u\x00\x00")  # field 7 as an i32, not the dictionary page header's struct
def test_hostile_page_headers_are_refused_not_crashed_on(data):
    try:
        header = parquet._dictionary_header(data)
    except (ValueError, IndexError):
        return
    assert header is None or all(v >= 0 for v in header)
