"""The streaming readers: every format, every kind of bad input, and format detection."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmops_ingestion.preparation.readers import (
    BadInput,
    BadRecord,
    DataFormat,
    RawRecord,
    detect_format,
    json_array,
    read_records,
)

BOM = b"\xef\xbb\xbf"


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def read(path: Path, fmt: DataFormat, **kwargs: int) -> list[RawRecord | BadRecord]:
    return list(read_records(path, name=path.name, fmt=fmt, **kwargs))


def good(items: list[RawRecord | BadRecord]) -> list[tuple[int, dict]]:
    return [(r.line, r.fields) for r in items if isinstance(r, RawRecord)]


def bad(items: list[RawRecord | BadRecord]) -> list[tuple[int, str]]:
    return [(r.line, r.problem) for r in items if isinstance(r, BadRecord)]


def bad_input(path: Path, fmt: DataFormat, **kwargs: int) -> BadInput:
    with pytest.raises(BadInput) as info:
        read(path, fmt, **kwargs)
    return info.value


# --- the error types -----------------------------------------------------------------------------


def test_bad_input_message_names_file_line_and_problem():
    exc = BadInput("data.csv", 7, "the header repeats the column name 'a'")
    assert str(exc) == "data.csv:7: the header repeats the column name 'a'"
    assert (exc.file, exc.line, exc.problem) == ("data.csv", 7, "the header repeats the column name 'a'")
    assert str(BadInput("data.csv", None, "the file is empty")) == "data.csv: the file is empty"


def test_records_are_frozen():
    record = RawRecord({"a": 1}, "f", 1)
    with pytest.raises(AttributeError):
        record.line = 2  # type: ignore[misc]


def test_reading_is_lazy_and_a_missing_file_is_bad_input(tmp_path):
    records = read_records(tmp_path / "missing.jsonl", name="missing.jsonl", fmt=DataFormat.JSONL)
    with pytest.raises(BadInput, match=r"^missing.jsonl: cannot read the file"):
        next(records)


# --- format detection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("a.jsonl", b'{"a": 1}\n', DataFormat.JSONL),
        ("a.NDJSON", b'{"a": 1}\n', DataFormat.JSONL),
        ("a.jsonlines", b'{"a": 1}\n', DataFormat.JSONL),
        ("a.json", b'[{"a": 1}]', DataFormat.JSON_ARRAY),
        ("a.json", b'  \n{"a": 1}\n', DataFormat.JSONL),
        ("a.json", BOM + b'{"a": 1}\n', DataFormat.JSONL),
        ("a.csv", b"{a,b\n1,2\n", DataFormat.CSV),
        ("a.parquet", b"not really", DataFormat.PARQUET),
        ("a.pq", b"PAR1....", DataFormat.PARQUET),
        ("a.txt", b"[hello]\n", DataFormat.TEXT_LINES),
        ("a.text", b"hello\n", DataFormat.TEXT_LINES),
        ("a.md", b"# Title\n", DataFormat.TEXT_LINES),
        ("upload", b"PAR1\x00\x00", DataFormat.PARQUET),
        ("upload.bin", b'\n [{"a": 1}]', DataFormat.JSON_ARRAY),
        ("upload", b'{"a": 1}\n', DataFormat.JSONL),
        ("upload.dat", b"hello world\n", DataFormat.TEXT_LINES),
    ],
)
def test_detect_format(tmp_path, name, data, expected):
    path = write(tmp_path, "f", data)
    assert detect_format(path, name) is expected


@pytest.mark.parametrize(
    ("name", "data"), [("a.jsonl", b""), ("a.parquet", b""), ("upload", b""), ("a.json", b" \n\t")]
)
def test_detect_format_of_an_empty_file(tmp_path, name, data):
    with pytest.raises(BadInput) as info:
        detect_format(write(tmp_path, "f", data), name)
    assert str(info.value) == f"{name}: the file is empty"


@pytest.mark.parametrize("fmt", list(DataFormat))
def test_a_zero_byte_file_is_empty_in_every_format(tmp_path, fmt):
    exc = bad_input(write(tmp_path, "empty", b""), fmt)
    assert (exc.line, exc.problem) == (None, "the file is empty")


@pytest.mark.parametrize("fmt", [f for f in DataFormat if f is not DataFormat.PARQUET])
def test_a_whitespace_only_file_is_empty(tmp_path, fmt):
    exc = bad_input(write(tmp_path, "blank", BOM + b" \n\r\n\t \n"), fmt)
    assert (exc.line, exc.problem) == (None, "the file is empty")


# --- JSON Lines ----------------------------------------------------------------------------------


def test_jsonl_reads_objects_with_their_line_numbers(tmp_path):
    path = write(tmp_path, "a.jsonl", BOM + b'{"a": 1}\n\n  \n{"b": "x"}\r\n{"c": [1, {"d": null}]}')
    items = read(path, DataFormat.JSONL)
    assert items == [
        RawRecord({"a": 1}, "a.jsonl", 1),
        RawRecord({"b": "x"}, "a.jsonl", 4),
        RawRecord({"c": [1, {"d": None}]}, "a.jsonl", 5),
    ]


def test_jsonl_bad_lines_are_reported_and_skipped(tmp_path):
    lines = [
        b'{"ok": 1}',
        b"oops, not json",
        b"[1, 2]",
        b"42",
        b'"s"',
        b"null",
        b'{"a": "caf\xe9"}',
        b'{"a": 1',
        b'{"ok": 2}',
    ]
    items = read(write(tmp_path, "a.jsonl", b"\n".join(lines) + b"\n"), DataFormat.JSONL)
    assert good(items) == [(1, {"ok": 1}), (9, {"ok": 2})]
    problems = bad(items)
    assert problems[0][0] == 2
    assert problems[0][1].startswith("line is not valid JSON: unexpected character")
    assert problems[1:5] == [
        (3, "expected a JSON object, got list"),
        (4, "expected a JSON object, got number"),
        (5, "expected a JSON object, got string"),
        (6, "expected a JSON object, got null"),
    ]
    assert problems[5] == (7, "invalid UTF-8 at byte offset 10 of the line")
    assert problems[6] == (8, "line is not valid JSON: unexpected end of data at column 8")
    assert all(isinstance(r, BadRecord) and r.file == "a.jsonl" for r in items if not isinstance(r, RawRecord))


@pytest.mark.parametrize(("eol", "last"), [(b"\n", False), (b"\r\n", False), (b"", True)])
def test_jsonl_line_length_limit_is_exact(tmp_path, eol, last):
    limit = 64

    def line(size: int) -> bytes:
        return b'{"t": "' + b"x" * (size - 9) + b'"}'

    at_limit, over = line(limit), line(limit + 1)
    assert (len(at_limit), len(over)) == (limit, limit + 1)
    data = at_limit + eol + over + eol + b'{"n": 3}' + eol
    if last:  # the over-long line is the last one and has no end of line
        data = at_limit + b"\n" + over
    items = read(write(tmp_path, "a.jsonl", data), DataFormat.JSONL, max_record_bytes=limit)
    assert good(items)[0][0] == 1
    assert bad(items) == [(2, "line is longer than the 64 bytes limit")]
    if not last:
        assert good(items)[1] == (3, {"n": 3})


def test_jsonl_a_50_mb_line_is_skipped_without_holding_it(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("wb") as f:
        f.write(b'{"first": 1}\n{"text": "')
        f.write(b"x" * (50 * 1024 * 1024))
        f.write(b'"}\n{"after": 3}\n')
    tracemalloc.start()
    started = time.perf_counter()
    try:
        items = read(path, DataFormat.JSONL)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert items == [
        RawRecord({"first": 1}, "big.jsonl", 1),
        BadRecord("big.jsonl", 2, "line is longer than the 8.0 MiB limit"),
        RawRecord({"after": 3}, "big.jsonl", 3),
    ]
    assert peak < 24 * 1024 * 1024  # a few times the 8 MiB limit, far below the 50 MB line


# --- JSON array ----------------------------------------------------------------------------------

ARRAY = (
    BOM
    + b"""[
  {"a": 1},
  {"s": "has }, ] and [ { and \\" and \\\\", "n": {"deep": [1, [2], {"x": "}"}]}},
  {
    "multi": "line",
    "u": "\\u00e9\\ud83d\\ude00"
  }  ,
{"last": true}
]
"""
)
ARRAY_EXPECTED = [
    (2, {"a": 1}),
    (3, {"s": 'has }, ] and [ { and " and \\', "n": {"deep": [1, [2], {"x": "}"}]}}),
    (4, {"multi": "line", "u": "\u00e9\U0001f600"}),
    (8, {"last": True}),
]


def test_json_array_reads_elements_with_the_line_where_each_starts(tmp_path):
    items = read(write(tmp_path, "a.json", ARRAY), DataFormat.JSON_ARRAY)
    assert all(isinstance(r, RawRecord) and r.file == "a.json" for r in items)
    assert good(items) == ARRAY_EXPECTED


@pytest.mark.parametrize("chunk", [2, 3, 5, 7, 16, 61])
def test_json_array_scanning_survives_any_read_boundary(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(json_array, "CHUNK", chunk)
    items = read(write(tmp_path, "a.json", ARRAY), DataFormat.JSON_ARRAY)
    assert good(items) == ARRAY_EXPECTED
    # backslashes and quotes at every position relative to the read boundary
    values = ["\\" * n + '"' * m + "x" for n in range(4) for m in range(3)]
    data = orjson.dumps([{"v": v, "w": [v]} for v in values], option=orjson.OPT_INDENT_2)
    assert [r.fields["v"] for r in read(write(tmp_path, "b.json", data), DataFormat.JSON_ARRAY)] == values


def test_json_array_empty_array_yields_nothing(tmp_path):
    assert read(write(tmp_path, "a.json", b" [ \n ] \n"), DataFormat.JSON_ARRAY) == []


def test_json_array_bad_elements_are_reported_and_skipped(tmp_path):
    data = b'[{"a": 1}, 42, "s", [1], null, {"b": @},\n {"c": "caf\xe9"}, {"d": 4}]'
    items = read(write(tmp_path, "a.json", data), DataFormat.JSON_ARRAY)
    assert good(items) == [(1, {"a": 1}), (2, {"d": 4})]
    assert bad(items) == [
        (1, "expected a JSON object, got number"),
        (1, "expected a JSON object, got string"),
        (1, "expected a JSON object, got list"),
        (1, "expected a JSON object, got null"),
        (1, "array element is not valid JSON: unexpected character, expected a JSON value at line 1, column 7"),
        (2, "invalid UTF-8 at byte offset 10 of the element"),
    ]


@pytest.mark.parametrize("chunk", [4, 1 << 20])
def test_json_array_over_long_element_is_skipped(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(json_array, "CHUNK", chunk)
    huge = {"text": "y" * 5000, "nested": [{"z": "]}"}] * 50}
    data = orjson.dumps([{"a": 1}, huge, {"b": 2}, "z" * 300, {"c": 3}], option=orjson.OPT_INDENT_2)
    items = read(write(tmp_path, "a.json", data), DataFormat.JSON_ARRAY, max_record_bytes=200)
    assert [r.fields for r in items if isinstance(r, RawRecord)] == [{"a": 1}, {"b": 2}, {"c": 3}]
    lines = data.split(b"\n")
    huge_line = next(i for i, line in enumerate(lines, 1) if b'"text"' in line) - 1
    assert bad(items)[0] == (huge_line, "array element is longer than the 200 bytes limit")
    assert bad(items)[1][1] == "array element is longer than the 200 bytes limit"
    assert good(items)[1][0] == next(i for i, line in enumerate(lines, 1) if b'"b"' in line) - 1


@pytest.mark.parametrize(
    ("data", "line", "problem"),
    [
        (b'\n{"a": 1}\n', 2, "expected '[' at the start of a JSON array, found '{'"),
        (b'[{"a": 1},\n{"b": 2}\n', 3, "the JSON array is not terminated (no closing ']')"),
        (b'[{"a": 1},\n', 2, "the JSON array is not terminated (no closing ']')"),
        (b'[{"a": 1}\n x {"b": 2}]', 2, "expected ',' or ']' after an array element, found 'x'"),
        (b'[{"a": 1}\n {"b": 2}]', 2, "expected ',' or ']' after an array element, found '{'"),
        (b'[{"a": 1},\n]', 2, "expected an array element after ',', found ']'"),
        (b'[{"a": 1},\n, {"b": 2}]', 2, "expected an array element, found ','"),
        (b"[\n,{}]", 2, "expected an array element, found ','"),
        (b'[{"a": 1}]\n\n[]', 3, "unexpected data after the end of the JSON array: '['"),
        (b'[{"a": 1},\n {"b": "never closed}]\n', 2, "the file ends inside an array element that starts on this line"),
        (b"[\x00]", 1, "array element is not valid JSON"),
    ],
)
def test_json_array_malformed_structure_is_bad_input(tmp_path, data, line, problem):
    path = write(tmp_path, "a.json", data)
    if problem.startswith("array element"):  # a bad scalar is only a bad record
        assert bad(read(path, DataFormat.JSON_ARRAY))[0][1].startswith(problem)
        return
    records = read_records(path, name="a.json", fmt=DataFormat.JSON_ARRAY)
    if data.startswith(b"[{"):
        assert next(records) == RawRecord({"a": 1}, "a.json", 1)  # what came before is still delivered
    with pytest.raises(BadInput) as info:
        list(records)
    assert (info.value.file, info.value.line, info.value.problem) == ("a.json", line, problem)


# --- CSV -----------------------------------------------------------------------------------------


def test_csv_rows_become_dicts_with_the_line_where_each_row_starts(tmp_path):
    data = BOM + b'id,text,note\r\n1,hello,\r\n2,"two\nlines, with a comma",x\r\n\r\n3,"say ""hi""",\r\n'
    items = read(write(tmp_path, "a.csv", data), DataFormat.CSV)
    assert items == [
        RawRecord({"id": "1", "text": "hello", "note": ""}, "a.csv", 2),
        RawRecord({"id": "2", "text": "two\nlines, with a comma", "note": "x"}, "a.csv", 3),
        RawRecord({"id": "3", "text": 'say "hi"', "note": ""}, "a.csv", 6),
    ]


def test_csv_header_only_yields_nothing(tmp_path):
    assert read(write(tmp_path, "a.csv", b"a,b,c\n"), DataFormat.CSV) == []


def test_csv_bad_rows_are_reported_and_skipped(tmp_path):
    data = b'a,b,c\n1,2,3\n1,2,3,4,5\nonly\n1,"x"y,3\ncaf\xe9,2,3\n4,"multi\nline \xff",6\n7,8,9\n'
    items = read(write(tmp_path, "a.csv", data), DataFormat.CSV)
    assert good(items) == [(2, {"a": "1", "b": "2", "c": "3"}), (9, {"a": "7", "b": "8", "c": "9"})]
    assert bad(items) == [
        (3, "row has 5 fields, the header has 3"),
        (4, "row has 1 fields, the header has 3"),
        (5, "malformed CSV row: ',' expected after '\"'"),
        (6, "invalid UTF-8 at byte offset 3 of the line"),
        (7, "invalid UTF-8 at byte offset 5 of line 8"),
    ]


@pytest.mark.parametrize(
    ("data", "line", "problem"),
    [
        (b"a,b,a\n1,2,3\n", 1, "the header repeats the column name 'a'"),
        (b"\na,,c\n1,2,3\n", 2, "the header has an empty column name (column 2)"),
        (b"a,b\xff\n1,2\n", 1, "the header is not valid UTF-8 (at byte offset 3)"),
        (b'a,"b"c\n1,2\n', 1, "malformed CSV header: ',' expected after '\"'"),
        (b'a,b\n1,2\n3,"open\n4,5\n', 3, "the file ends inside a quoted field that starts on this row"),
    ],
)
def test_csv_file_level_problems_are_bad_input(tmp_path, data, line, problem):
    exc = bad_input(write(tmp_path, "a.csv", data), DataFormat.CSV)
    assert (exc.file, exc.line, exc.problem) == ("a.csv", line, problem)


def test_csv_over_long_rows(tmp_path):
    limit = 100
    data = b"a,b\n1,2\n3," + b"z" * 500 + b"\n5,6\n"
    items = read(write(tmp_path, "a.csv", data), DataFormat.CSV, max_record_bytes=limit)
    assert good(items) == [(2, {"a": "1", "b": "2"}), (4, {"a": "5", "b": "6"})]
    assert bad(items) == [(3, "line is longer than the 100 bytes limit")]
    # a quoted field that never closes swallows the following lines until the limit stops it
    data = b'a,b\n1,"open\n' + b"more,text\n" * 20
    exc = bad_input(write(tmp_path, "b.csv", data), DataFormat.CSV, max_record_bytes=limit)
    assert (exc.line, exc.problem) == (
        2,
        "the row starting on this line is longer than the 100 bytes limit (is a quoted field left open?)",
    )


def test_csv_fields_above_the_csv_module_default_limit_are_read(tmp_path):
    big = "w" * (131_072 + 10)  # the csv module's default field limit, passed
    items = read(write(tmp_path, "a.csv", f"a,b\n1,{big}\n"), DataFormat.CSV)
    assert items == [RawRecord({"a": "1", "b": big}, "a.csv", 2)]


# --- Parquet -------------------------------------------------------------------------------------


def test_parquet_rows_are_numbered_from_one_across_batches(tmp_path):
    path = tmp_path / "a.parquet"
    n = 20_000  # more than two 8192-row batches
    pq.write_table(pa.table({"id": list(range(n)), "text": [None if i % 7 == 3 else f"t{i}" for i in range(n)]}), path)
    items = read(path, DataFormat.PARQUET)
    assert len(items) == n
    assert items[0] == RawRecord({"id": 0, "text": "t0"}, "a.parquet", 1)
    assert items[3].fields == {"id": 3, "text": None}
    assert items[-1] == RawRecord({"id": n - 1, "text": f"t{n - 1}"}, "a.parquet", n)
    assert [r.line for r in items] == list(range(1, n + 1))


def test_parquet_corrupt_or_truncated_file_is_bad_input(tmp_path):
    exc = bad_input(write(tmp_path, "a.parquet", b"this is not parquet at all"), DataFormat.PARQUET)
    assert exc.line is None
    assert exc.problem.startswith("not a valid Parquet file: ")
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table({"id": list(range(1000))}), path)
    whole = path.read_bytes()
    exc = bad_input(write(tmp_path, "c.parquet", whole[: len(whole) // 2]), DataFormat.PARQUET)
    assert str(exc).startswith("c.parquet: not a valid Parquet file: ")


# --- text ----------------------------------------------------------------------------------------


def test_text_lines(tmp_path):
    data = BOM + b"first line\r\n\n   \n  indented, trailing space \n\xffbad\nlast"
    items = read(write(tmp_path, "a.txt", data), DataFormat.TEXT_LINES)
    assert good(items) == [
        (1, {"text": "first line"}),
        (4, {"text": "  indented, trailing space "}),
        (6, {"text": "last"}),
    ]
    assert bad(items) == [(5, "invalid UTF-8 at byte offset 0 of the line")]


def test_text_lines_over_long_line(tmp_path):
    data = b"short\n" + "é".encode() * 40 + b"\nafter\n"
    items = read(write(tmp_path, "a.txt", data), DataFormat.TEXT_LINES, max_record_bytes=50)
    assert good(items) == [(1, {"text": "short"}), (3, {"text": "after"})]
    assert bad(items) == [(2, "line is longer than the 50 bytes limit")]


def test_text_file_is_one_record(tmp_path):
    text = "Title\r\n\nA paragraph, with é.\n"
    items = read(write(tmp_path, "a.md", BOM + text.encode()), DataFormat.TEXT_FILE)
    assert items == [RawRecord({"text": text}, "a.md", 1)]


def test_text_file_too_large_or_not_utf8_is_bad_input(tmp_path):
    exc = bad_input(write(tmp_path, "a.txt", b"x" * 2049), DataFormat.TEXT_FILE, max_record_bytes=2048)
    assert str(exc) == "a.txt: the file is larger than the 2.0 KiB limit for one text"
    assert read(write(tmp_path, "b.txt", b"x" * 2048), DataFormat.TEXT_FILE, max_record_bytes=2048)[0].line == 1
    exc = bad_input(write(tmp_path, "c.txt", b"one\ntwo \xc3\x28\n"), DataFormat.TEXT_FILE)
    assert str(exc) == "c.txt:2: invalid UTF-8 at byte offset 4 of the line"
