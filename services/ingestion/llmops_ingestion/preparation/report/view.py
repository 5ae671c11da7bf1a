"""A profile read defensively: every value checked and coerced, numbers and text shaped for people.

The profile is JSON written by the profiler, but the report must render whatever it is given (an old
profile, a hand-edited one): a missing or mistyped value reads as its default, never as an error.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any


def field(mapping: Any, key: str, default: Any) -> Any:
    """``mapping[key]``, or ``default`` when the mapping is not one, lacks the key or holds None."""
    if not isinstance(mapping, Mapping):
        return default
    value = mapping.get(key)
    return default if value is None else value


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str | bytes) else []


def as_dict(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def num(value: Any) -> float:
    """A finite float, or NaN for anything that is not a number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def as_int(value: Any) -> int:
    number = num(value)
    return int(number) if math.isfinite(number) else 0


def fmt(value: Any, *, sep: bool = False) -> str:
    """A number for people: integers as such, other values with at most two decimals."""
    number = num(value)
    if not math.isfinite(number):
        return "n/a"
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}" if sep else str(int(number))
    return f"{number:,.2f}" if sep else f"{number:.2f}"


def pct(fraction: Any) -> str:
    number = num(fraction)
    return "n/a" if not math.isfinite(number) else f"{number * 100:.1f}%"


def truncate(text: Any, limit: int) -> str:
    text = text if isinstance(text, str) else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def one_line(text: Any) -> str:
    text = text if isinstance(text, str) else str(text)
    return " ".join(text.split())


def sorted_counts(counts: Mapping[str, Any]) -> list[tuple[str, float]]:
    pairs = [(str(k), num(v)) for k, v in counts.items()]
    pairs = [(k, v) for k, v in pairs if math.isfinite(v)]
    return sorted(pairs, key=lambda kv: (-kv[1], kv[0]))


def step_rows(profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for raw in as_list(field(profile, "steps", [])):
        records_in, records_kept = as_int(field(raw, "records_in", 0)), as_int(field(raw, "records_kept", 0))
        reasons = [(k, int(v)) for k, v in sorted_counts(as_dict(field(raw, "dropped_by_reason", {})))]
        steps.append({
            "step": str(field(raw, "step", "?")),
            "records_in": records_in,
            "records_kept": records_kept,
            "modified": as_int(field(raw, "records_modified", 0)),
            "dropped": max(records_in - records_kept, 0),
            "reasons": reasons,
        })
    return steps


def cluster_rows(profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The clusters, largest first; ``examples[0]`` is the kept record, ``similarities`` each example's
    Jaccard to it (NaN where the profile has none)."""
    clusters = []
    for raw in as_list(field(profile, "duplicate_clusters", [])):
        examples = [e if isinstance(e, str) else str(e) for e in as_list(field(raw, "examples", []))]
        similarities = [num(v) for v in as_list(field(raw, "similarities", []))]
        similarities += [math.nan] * (len(examples) - len(similarities))
        clusters.append({"kind": str(field(raw, "kind", "?")), "size": as_int(field(raw, "size", 0)),
                         "examples": examples, "similarities": similarities[:len(examples)]})
    clusters.sort(key=lambda c: -c["size"])  # stable: equal sizes keep the profile's order
    return clusters


def duplicate_totals(profile: Mapping[str, Any], clusters: list[dict[str, Any]]) -> dict[str, int]:
    """Records dropped as exact and near duplicates (the step table's reasons) and the number of
    clusters of each kind (the profile's counts, else the clusters it lists)."""
    reasons: dict[str, int] = {}
    for step in step_rows(profile):
        for reason, count in step["reasons"]:
            reasons[reason] = reasons.get(reason, 0) + count
    counts = as_dict(field(profile, "duplicate_cluster_counts", {}))
    return {"exact_dropped": reasons.get("exact_duplicate", 0), "near_dropped": reasons.get("near_duplicate", 0),
            **{f"{kind}_clusters": as_int(counts[kind]) if kind in counts
               else sum(1 for c in clusters if c["kind"] == kind) for kind in ("exact", "near")}}


def word_diff(kept: str, other: str) -> list[tuple[str, str]]:
    """``other`` against ``kept`` as (op, text) runs of words: op is "same", "del" (only in the kept
    record) or "ins" (only in ``other``). When both were cut (they end with "\u2026"), what differs after
    their last common words is where the cuts fell, not the records, so it shows as "\u2026"."""
    a, b = kept.split(), other.split()
    runs = _word_runs(a, b)
    if kept.endswith("\u2026") and other.endswith("\u2026"):
        while runs and runs[-1][0] != "same":
            runs.pop()
        if not runs or not runs[-1][1].endswith("\u2026"):
            runs.append(("same", "\u2026"))
    return runs


def _word_runs(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    runs: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            runs.append(("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("del", " ".join(a[i1:i2])))
        if j2 > j1:
            runs.append(("ins", " ".join(b[j1:j2])))
    return runs


def ngram_counts(profile: Mapping[str, Any]) -> list[tuple[str, int]]:
    items = [(str(field(raw, "ngram", "")), as_int(field(raw, "count", 0)))
             for raw in as_list(field(profile, "top_ngrams", []))]
    return sorted(items, key=lambda kv: -kv[1])


def length_stats(stats: Any) -> dict[str, str]:
    return {key: fmt(field(stats, key, math.nan), sep=True) for key in ("min", "mean", "p50", "p90", "p99", "max")}


def fraction_or_one(value: Any) -> float:
    number = num(value)
    return number if math.isfinite(number) else 1.0
