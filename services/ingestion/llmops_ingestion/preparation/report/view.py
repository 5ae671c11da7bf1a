"""A profile read defensively: every value checked and coerced, numbers and text shaped for people.

The profile is JSON written by the profiler, but the report must render whatever it is given (an old
profile, a hand-edited one): a missing or mistyped value reads as its default, never as an error.
"""

from __future__ import annotations

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
            "dropped": max(records_in - records_kept, 0),
            "reasons": reasons,
        })
    return steps


def cluster_rows(profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    clusters = []
    for raw in as_list(field(profile, "duplicate_clusters", [])):
        examples = [e if isinstance(e, str) else str(e) for e in as_list(field(raw, "examples", []))]
        clusters.append({"kind": str(field(raw, "kind", "?")), "size": as_int(field(raw, "size", 0)),
                         "examples": examples})
    clusters.sort(key=lambda c: -c["size"])  # stable: equal sizes keep the profile's order
    return clusters


def ngram_counts(profile: Mapping[str, Any]) -> list[tuple[str, int]]:
    items = [(str(field(raw, "ngram", "")), as_int(field(raw, "count", 0)))
             for raw in as_list(field(profile, "top_ngrams", []))]
    return sorted(items, key=lambda kv: -kv[1])


def length_stats(stats: Any) -> dict[str, str]:
    return {key: fmt(field(stats, key, math.nan), sep=True) for key in ("min", "mean", "p50", "p90", "p99", "max")}


def fraction_or_one(value: Any) -> float:
    number = num(value)
    return number if math.isfinite(number) else 1.0
