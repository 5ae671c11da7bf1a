"""Dataset profile reports: a self-contained, escaped HTML page and a plain-text CLI summary."""

from __future__ import annotations

import base64
import copy
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from llmops_ingestion.preparation.report.page import render_html
from llmops_ingestion.preparation.report.summary import render_summary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
XSS = "<script>alert(1)</script>"
FULL_PLOTS = 7  # funnel, char length, token length, PII, n-grams, field completeness, script mix


def _lengths(bounds: list[float], counts: list[int], p50: float, p90: float, p99: float) -> dict[str, Any]:
    return {"min": 3.0, "max": float(bounds[-1]), "mean": p50 * 1.2, "p50": p50, "p90": p90, "p99": p99,
            "bucket_bounds": bounds, "bucket_counts": counts}


def full_profile(**overrides: Any) -> dict[str, Any]:
    """A realistic profile of a prepared instruction dataset."""
    steps = [
        {"step": "parse", "records_in": 10_250, "records_kept": 10_200, "dropped_by_reason": {"invalid_json": 50}},
        {"step": "shape", "records_in": 10_200, "records_kept": 10_150,
         "dropped_by_reason": {"missing_field:instruction": 38, "wrong_type:output": 12}},
        {"step": "normalize", "records_in": 10_150, "records_kept": 10_150, "dropped_by_reason": {}},
        {"step": "length_filter", "records_in": 10_150, "records_kept": 9_800,
         "dropped_by_reason": {"too_short": 210, "too_long": 140}},
        {"step": "exact_dedup", "records_in": 9_800, "records_kept": 9_420,
         "dropped_by_reason": {"exact_duplicate": 380}},
        {"step": "near_dedup", "records_in": 9_420, "records_kept": 9_301,
         "dropped_by_reason": {"near_duplicate": 119}},
        {"step": "pii", "records_in": 9_301, "records_kept": 9_301, "dropped_by_reason": {}},
        {"step": "split", "records_in": 9_301, "records_kept": 9_301, "dropped_by_reason": {}},
    ]
    char_bounds = [16.0 * 2**i for i in range(10)]  # 16 .. 8192
    token_bounds = [8.0 * (i + 1) for i in range(24)]  # 8 .. 192
    clusters = [
        {"kind": "exact", "size": 42, "examples": ["Translate 'hello' into French. -> Bonjour"] * 3},
        {"kind": "near", "size": 17, "examples": ["Summarise the following article about " + "ocean currents " * 40,
                                                  "Summarize the following article about ocean currents."]},
        {"kind": "near", "size": 5, "examples": [f"Evil example {XSS} & more", "Evil example, second copy"]},
    ] + [{"kind": "exact", "size": 2, "examples": [f"pair {i}", f"pair {i}"]} for i in range(30)]
    profile: dict[str, Any] = {
        "dataset_name": "support-tickets",
        "version": "v3",
        "shape": "instruction",
        "created_at": "2024-05-01T12:30:00+00:00",
        "record_count": 9_301,
        "split_counts": {"train": 8_371, "validation": 465, "test": 465},
        "source": {"uri": "s3://datasets/raw/support-tickets/2024-05-01.jsonl", "format": "jsonl"},
        "config": {"shape": "instruction", "length": {"min_chars": 16, "max_chars": 8192},
                   "dedup": {"near": {"threshold": 0.85, "num_perm": 128}}, "split": {"seed": 7}},
        "steps": steps,
        "char_lengths": _lengths(char_bounds, [10, 120, 900, 2_400, 3_100, 1_800, 700, 200, 60, 11],
                                 410.0, 1_650.0, 4_900.0),
        "token_lengths": _lengths(token_bounds, [max(5, 900 - abs(i - 8) * 80) for i in range(24)], 70.0, 140.0, 185.0),
        "tokenizer": "gpt2",
        "duplicate_clusters": clusters,
        "pii_counts": {"email": 123, "phone": 45, "ip_address": 7, "credit_card": 0},
        "top_ngrams": [{"ngram": f"how do i {w}", "count": 500 - 17 * i}
                       for i, w in enumerate(["reset", "change", "cancel", "update", "delete", "export", "import",
                                              "find", "share", "add", "remove", "close"])]
        + [{"ngram": "costs $5 or $10", "count": 90}, {"ngram": "a<b>c & d", "count": 80}],
        "ngram_n": 3,
        "ngram_sample_fraction": 0.25,
        "field_completeness": {"instruction": 1.0, "input": 0.42, "output": 0.998, "<meta>": 0.1},
        "script_mix": {"Latin": 0.93, "Cyrillic": 0.05, "Han": 0.02},
        "bad_record_count": 50,
        "bad_record_samples": [{"file": "2024-05-01.jsonl", "line": 17 + i, "problem": "Expecting ',' delimiter"}
                               for i in range(5)] + [{"file": "2024-05-01.jsonl", "line": 999, "problem": XSS}],
    }
    profile.update(overrides)
    return profile


def empty_profile() -> dict[str, Any]:
    zero = {"min": 0.0, "max": 0.0, "mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0,
            "bucket_bounds": [], "bucket_counts": []}
    return {
        "dataset_name": "empty", "version": "v1", "shape": "text", "created_at": "2024-05-01T00:00:00Z",
        "record_count": 0, "split_counts": {"train": 0, "validation": 0, "test": 0},
        "source": {"uri": "file:///tmp/empty.jsonl", "format": "jsonl"}, "config": {},
        "steps": [], "char_lengths": dict(zero), "token_lengths": dict(zero), "tokenizer": "whitespace",
        "duplicate_clusters": [], "pii_counts": {}, "top_ngrams": [], "ngram_n": 2, "ngram_sample_fraction": 1.0,
        "field_completeness": {}, "script_mix": {}, "bad_record_count": 0, "bad_record_samples": [],
    }


def pngs(html: str) -> list[bytes]:
    return [base64.b64decode(data, validate=True) for data in IMG.findall(html)]


def assert_self_contained(html: str) -> None:
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"<script\b", html, re.IGNORECASE)
    assert not re.search(r"<link\b", html, re.IGNORECASE)
    assert not re.search(r"@import|url\(", html, re.IGNORECASE)
    assert "<style>" in html


def test_full_report_is_self_contained_with_one_png_per_plot():
    html = render_html(full_profile())
    assert html.startswith("<!DOCTYPE html>")
    assert_self_contained(html)
    images = pngs(html)
    assert len(images) == FULL_PLOTS
    assert html.count("data:image/png;base64,") == FULL_PLOTS
    for png in images:
        assert png.startswith(PNG_MAGIC)
    assert len(html.encode()) < 1_000_000


def test_full_report_shows_the_profile():
    html = render_html(full_profile())
    assert "support-tickets@v3" in html
    assert "instruction" in html and "9,301" in html and "2024-05-01T12:30:00+00:00" in html
    assert "s3://datasets/raw/support-tickets/2024-05-01.jsonl" in html
    for step in ("parse", "shape", "normalize", "length_filter", "exact_dedup", "near_dedup", "pii", "split"):
        assert f"<td>{step}</td>" in html
    for reason in ("invalid_json: 50", "missing_field:instruction: 38", "too_short: 210", "too_long: 140",
                   "exact_duplicate: 380", "near_duplicate: 119"):
        assert reason in html
    for split, count in (("train", "8,371"), ("validation", "465"), ("test", "465")):
        assert f"<td>{split}</td><td class=\"num\">{count}</td>" in html
    assert "Translate &#39;hello&#39; into French. -&gt; Bonjour" in html
    assert "Computed on a 25.0% sample" in html
    assert "Top 3-grams" in html and "how do i reset" in html
    assert "email: 123" in html and "phone: 45" in html
    assert "Dropped: 380 exact duplicate(s) in 31 cluster(s),\n119 near duplicate(s) in 2 cluster(s)" in html
    assert "Showing 25 of the largest clusters" in html
    assert "Expecting &#39;,&#39; delimiter" in html and "50 record(s) could not be read" in html
    assert "&#34;threshold&#34;: 0.85" in html  # the config, as JSON


def test_data_text_is_escaped():
    profile = full_profile(dataset_name=f"ds{XSS}", version='"><img src=x onerror=alert(1)>')
    profile["field_completeness"] = {XSS: 0.5}
    profile["script_mix"] = {XSS: 1.0}
    profile["pii_counts"] = {XSS: 3}
    profile["top_ngrams"] = [{"ngram": XSS, "count": 9}]
    profile["steps"][0]["step"] = XSS
    profile["steps"][0]["dropped_by_reason"] = {XSS: 50}
    html = render_html(profile)
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Evil example &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html  # a cluster example
    assert "<img src=x" not in html and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert_self_contained(html)
    assert all(png.startswith(PNG_MAGIC) for png in pngs(html))


def test_long_examples_are_truncated():
    long_example = "word " * 1_000
    profile = full_profile(duplicate_clusters=[{"kind": "exact", "size": 3, "examples": [long_example]}])
    html = render_html(profile)
    match = re.search(r'<div class="example"><span class="kept">kept:</span> ([^<]*)</div>', html)
    assert match is not None
    shown = match.group(1)
    assert len(shown) == 300 and shown.endswith("\u2026") and shown.startswith("word word")


def test_empty_profile_renders_without_plots():
    html = render_html(empty_profile())
    assert_self_contained(html)
    assert "empty@v1" in html
    assert "<img" not in html  # nothing drawn, nothing broken
    assert html.count(">none</p>") >= 8
    assert "Step funnel: none" in html
    assert "0 record(s) could not be read" in html
    summary = render_summary(empty_profile())
    assert "empty@v1" in summary and "records: 0" in summary
    assert "Bad records: 0" in summary and "Duplicates dropped: exact 0 in 0 cluster(s), near 0 in 0" in summary


def test_all_zero_and_odd_data_is_skipped_not_crashing():
    profile = full_profile(
        pii_counts={"email": 0, "phone": 0},
        script_mix={"Latin": 0.0},
        field_completeness={"instruction": 0.0},
        top_ngrams=[{"ngram": "x", "count": 0}],
        char_lengths={"min": float("nan"), "max": 0, "mean": None, "p50": None, "p90": 0, "p99": 0,
                      "bucket_bounds": [1, 2, 3], "bucket_counts": [0, 0, 0]},
        token_lengths={"min": 0, "max": 9, "mean": 3, "p50": 3, "p90": 8, "p99": 9,
                       "bucket_bounds": [5, 3, 9], "bucket_counts": [1, 2]},  # out of order, ragged
        steps=[{"step": "parse", "records_in": 0, "records_kept": 0, "dropped_by_reason": {}}],
    )
    html = render_html(profile)
    images = pngs(html)
    assert len(images) == 1  # only the (odd but non-empty) token histogram
    assert images[0].startswith(PNG_MAGIC)
    assert "Step funnel: none" in html
    render_summary(profile)


def test_summary_has_the_key_numbers():
    summary = render_summary(full_profile())
    lines = summary.splitlines()
    assert lines[0] == "support-tickets@v3"
    assert 20 <= len(lines) <= 60
    assert "shape: instruction" in summary and "records: 9301" in summary
    assert "train 8371, validation 465, test 465" in summary
    length_filter = next(line for line in lines if line.strip().startswith("length_filter"))
    assert length_filter.split()[:5] == ["length_filter", "10150", "9800", "0", "350"]
    assert "too_short=210, too_long=140" in length_filter
    assert "missing_field:instruction=38" in summary
    chars = next(line for line in lines if line.strip().startswith("chars"))
    assert chars.split() == ["chars", "410", "1650", "4900"]
    tokens = next(line for line in lines if line.strip().startswith("tokens"))
    assert tokens.split() == ["tokens", "70", "140", "185"]
    assert "email=123" in summary and "phone=45" in summary and "ip_address=7" in summary
    assert "Top 3-grams, on a 25.0% sample:" in summary
    ngram_lines = [line for line in lines if "how do i" in line]
    assert len(ngram_lines) == 10 and "500" in ngram_lines[0] and "how do i reset" in ngram_lines[0]
    assert "Duplicates dropped: exact 380 in 31 cluster(s), near 119 in 2 cluster(s)" in summary
    cluster_lines = [line for line in lines if " size " in line]
    assert cluster_lines[0].split()[:3] == ["exact", "size", "42"]
    near = cluster_lines[1]
    assert near.split()[:4] == ["near", "size", "17", "kept:"] and near.endswith("\u2026")
    assert len(near.split("kept:", 1)[1].strip()) == 80
    assert "Bad records: 50" in summary


def test_duplicate_counts_are_the_step_table_not_the_listed_clusters():
    profile = full_profile(duplicate_cluster_counts={"exact": 250, "near": 90})
    profile["duplicate_clusters"] = profile["duplicate_clusters"][:2]
    html = render_html(profile)
    assert "Dropped: 380 exact duplicate(s) in 250 cluster(s),\n119 near duplicate(s) in 90 cluster(s)" in html
    assert "Duplicates dropped: exact 380 in 250 cluster(s), near 119 in 90 cluster(s)" in render_summary(profile)


def test_steps_show_records_modified():
    profile = full_profile()
    profile["steps"][6]["records_modified"] = 1234
    html = render_html(profile)
    assert '<td>pii</td><td class="num">9,301</td>\n<td class="num">9,301</td>\n<td class="num">1,234</td>' in html
    pii = next(line for line in render_summary(profile).splitlines() if line.strip().startswith("pii"))
    assert pii.split()[:5] == ["pii", "9301", "9301", "1234", "0"]


def test_clusters_mark_the_kept_record_and_highlight_what_the_others_change():
    cluster = {"kind": "near", "size": 3, "examples": ["the quick brown fox jumps", "the quick red fox jumps",
                                                        "the quick brown fox <b>"],
               "similarities": [1.0, 0.8125, 0.81]}
    html = render_html(full_profile(duplicate_clusters=[cluster]))
    assert '<span class="kept">kept:</span> the quick brown fox jumps</div>' in html
    assert '<span class="drop">dropped (J = 0.81):</span> the quick <del>brown</del> <ins>red</ins> fox jumps' in html
    assert "the quick brown fox <del>jumps</del> <ins>&lt;b&gt;</ins></div>" in html


def test_a_diff_of_two_cut_examples_does_not_show_the_cut_as_a_change():
    words = [f"w{i}" for i in range(200)]
    kept, dropped = " ".join(words), " ".join(words[:5] + ["changed"] + words[6:] + ["more"])
    cluster = {"kind": "near", "size": 2, "examples": [kept, dropped], "similarities": [1.0, 0.95]}
    html = render_html(full_profile(duplicate_clusters=[cluster]))
    row = html[html.index("dropped (J = 0.95)"):]
    row = row[:row.index("</div>")]
    assert "<del>w5</del> <ins>changed</ins>" in row
    assert row.count("<del>") == row.count("<ins>") == 1 and row.endswith("\u2026")


def test_the_source_shows_its_file_names():
    profile = full_profile(source={"uri": "upload://0b9d5c1e", "format": "jsonl", "files": ["tickets <may>.jsonl"]})
    html = render_html(profile)
    assert "<b>tickets &lt;may&gt;.jsonl</b> from <code>upload://0b9d5c1e</code>" in html
    assert "source: tickets <may>.jsonl from upload://0b9d5c1e (jsonl)" in render_summary(profile)


def test_report_stays_small():
    assert len(render_html(full_profile()).encode()) < 500_000


def test_rendering_is_safe_from_several_threads():
    profile = full_profile()
    expected = render_html(profile)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(render_html, [copy.deepcopy(profile) for _ in range(4)]))
    assert all(result == expected for result in results)
