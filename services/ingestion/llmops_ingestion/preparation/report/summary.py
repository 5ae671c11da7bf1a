"""The report as a few dozen lines of plain text, for the CLI (no plotting library needed)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from llmops_ingestion.preparation.report.view import (
    as_dict,
    as_int,
    as_list,
    cluster_rows,
    duplicate_totals,
    field,
    fmt,
    fraction_or_one,
    ngram_counts,
    one_line,
    pct,
    sorted_counts,
    step_rows,
    truncate,
)

__all__ = ["render_summary"]

SUMMARY_EXAMPLE_CHARS = 80


def render_summary(profile: Mapping[str, Any]) -> str:
    """The profile as a few dozen lines of plain text, for the CLI."""
    lines: list[str] = []
    name, version = field(profile, "dataset_name", "?"), field(profile, "version", "?")
    source = as_dict(field(profile, "source", {}))
    lines.append(f"{one_line(name)}@{one_line(version)}")
    lines.append(f"  shape: {field(profile, 'shape', '?')}   records: {as_int(field(profile, 'record_count', 0))}"
                 f"   created: {field(profile, 'created_at', '?')}")
    names = ", ".join(one_line(f) for f in as_list(field(source, "files", [])))
    lines.append(f"  source: {names + ' from ' if names else ''}{one_line(field(source, 'uri', '?'))}"
                 f" ({field(source, 'format', '?')})")
    splits = as_dict(field(profile, "split_counts", {}))
    lines.append("  splits: " + (", ".join(f"{k} {as_int(v)}" for k, v in splits.items()) or "none"))

    steps = step_rows(profile)
    lines.append("")
    lines.append("Steps:")
    if steps:
        width = max(len("step"), *(len(s["step"]) for s in steps))
        lines.append(f"  {'step':<{width}}  {'in':>9}  {'kept':>9}  {'modified':>9}  {'dropped':>9}  reasons")
        for s in steps:
            reasons = ", ".join(f"{k}={v}" for k, v in s["reasons"]) or "-"
            lines.append(f"  {s['step']:<{width}}  {s['records_in']:>9}  {s['records_kept']:>9}"
                         f"  {s['modified']:>9}  {s['dropped']:>9}  {reasons}")
    else:
        lines.append("  none")

    lines.append("")
    lines.append("Lengths:      p50        p90        p99")
    for label, key in (("chars", "char_lengths"), ("tokens", "token_lengths")):
        stats = field(profile, key, {})
        lines.append(f"  {label:<8}" + "".join(f"{fmt(field(stats, p, math.nan)):>11}" for p in ("p50", "p90", "p99")))
    lines.append(f"  tokenizer: {field(profile, 'tokenizer', '?')}")

    pii = sorted_counts(as_dict(field(profile, "pii_counts", {})))
    lines.append("")
    lines.append("PII redactions: " + (", ".join(f"{k}={fmt(v)}" for k, v in pii) or "none"))

    ngrams = ngram_counts(profile)[:10]
    fraction = fraction_or_one(field(profile, "ngram_sample_fraction", 1.0))
    sampled = f", on a {pct(fraction)} sample" if fraction < 1 else ""
    lines.append("")
    lines.append(f"Top {as_int(field(profile, 'ngram_n', 0)) or 'n'}-grams{sampled}:" + ("" if ngrams else " none"))
    for gram, count in ngrams:
        lines.append(f"  {count:>9}  {truncate(one_line(gram), SUMMARY_EXAMPLE_CHARS)}")

    clusters = cluster_rows(profile)
    totals = duplicate_totals(profile, clusters)
    lines.append("")
    lines.append(f"Duplicates dropped: exact {totals['exact_dropped']} in {totals['exact_clusters']} cluster(s), "
                 f"near {totals['near_dropped']} in {totals['near_clusters']} cluster(s)")
    for c in clusters[:5]:
        example = truncate(one_line(c["examples"][0]), SUMMARY_EXAMPLE_CHARS) if c["examples"] else "-"
        lines.append(f"  {c['kind']:<5} size {c['size']:>6}  kept: {example}")

    lines.append("")
    lines.append(f"Bad records: {as_int(field(profile, 'bad_record_count', 0))}")
    return "\n".join(lines) + "\n"
