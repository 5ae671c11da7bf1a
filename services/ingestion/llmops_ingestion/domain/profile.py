"""Exploratory data analysis: accumulators fed during preparation, turned into the profile dict.

The profile is plain JSON (the schema ``report.render_html`` documents); it is stored next to the
shards and rendered to a self-contained HTML report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmops_ingestion.domain.text import script_of

NGRAM_N = 3
NGRAM_SAMPLE_TARGET = 50_000  # records whose n-grams are counted; larger datasets are sampled by hash
NGRAM_TABLE_LIMIT = 200_000  # distinct n-grams kept; past it, the rarest are pruned (space-saving style)
TOP_NGRAMS = 30
TOP_CLUSTERS = 10
EXAMPLES_PER_CLUSTER = 3
EXAMPLE_CHARS = 500
BAD_RECORD_SAMPLES = 20
SOURCE_FILES = 20  # file names shown in the profile; the manifest lists every one
_HISTOGRAM_BUCKETS = 30


def distribution(values: np.ndarray) -> dict[str, Any]:
    """Summary statistics and a histogram with ``_HISTOGRAM_BUCKETS`` equal-width buckets."""
    if values.size == 0:
        return {"min": 0.0, "max": 0.0, "mean": 0.0, "p50": 0.0, "p90": 0.0, "p99": 0.0,
                "bucket_bounds": [], "bucket_counts": []}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    low, high = float(values.min()), float(values.max())
    edges = np.linspace(low, high if high > low else low + 1, _HISTOGRAM_BUCKETS + 1)
    counts, _ = np.histogram(values, bins=edges)
    return {"min": low, "max": high, "mean": float(values.mean()), "p50": float(p50), "p90": float(p90),
            "p99": float(p99), "bucket_bounds": [float(e) for e in edges[1:]],
            "bucket_counts": [int(c) for c in counts]}


@dataclass
class StepCounts:
    step: str
    records_in: int = 0
    records_kept: int = 0
    records_modified: int = 0
    dropped_by_reason: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "records_in": self.records_in, "records_kept": self.records_kept,
                "records_modified": self.records_modified, "dropped_by_reason": dict(self.dropped_by_reason)}


@dataclass
class ProfileAccumulator:
    """What the final dataset looks like; fed record by record while the shards are written."""

    ngram_fraction: float
    scripts: Counter[str] = field(default_factory=Counter)
    ngrams: Counter[str] = field(default_factory=Counter)
    near_kept: dict[int, str] = field(default_factory=dict)
    near_examples: dict[int, list[tuple[str, float]]] = field(default_factory=dict)

    def add_text(self, text: str, sample_position: float) -> None:
        self.scripts[script_of(text)] += 1
        if sample_position < self.ngram_fraction:
            words = text.lower().split()
            self.ngrams.update(" ".join(words[i:i + NGRAM_N]) for i in range(len(words) - NGRAM_N + 1))
            if len(self.ngrams) > NGRAM_TABLE_LIMIT:
                self._prune_ngrams()

    def _prune_ngrams(self) -> None:
        """Keep the most common quarter of the table: memory stays bounded on text whose n-grams are
        nearly all distinct, and an n-gram common enough to make the top list survives every pruning."""
        self.ngrams = Counter(dict(self.ngrams.most_common(NGRAM_TABLE_LIMIT // 4)))

    def add_near_example(self, keeper: int, text: str, similarity: float, *, is_keeper: bool) -> None:
        """One member of a near-duplicate cluster: its kept record, or one it stands for (at ``similarity``)."""
        if is_keeper:
            self.near_kept[keeper] = text[:EXAMPLE_CHARS]
            return
        dropped = self.near_examples.setdefault(keeper, [])
        if len(dropped) < EXAMPLES_PER_CLUSTER:
            dropped.append((text[:EXAMPLE_CHARS], round(similarity, 4)))


def ngram_fraction(record_count: int) -> float:
    return min(1.0, NGRAM_SAMPLE_TARGET / record_count) if record_count else 1.0


def fractions(counts: Counter[str], total: int) -> dict[str, float]:
    return {key: round(value / total, 6) for key, value in counts.most_common()} if total else {}


def top_clusters(exact: dict[bytes, list[Any]], near_sizes: dict[int, int], near_kept: dict[int, str],
                 near_examples: dict[int, list[tuple[str, float]]]) -> list[dict[str, Any]]:
    """The largest clusters of each kind, biggest first. ``exact`` maps a hash to [size, example].

    ``examples[0]`` is the kept record; ``similarities`` holds each example's Jaccard to it.
    """
    clusters = [{"kind": "exact", "size": size, "examples": [example[:EXAMPLE_CHARS]], "similarities": [1.0]}
                for size, example in sorted(exact.values(), key=lambda c: -c[0])[:TOP_CLUSTERS]]
    for keeper in sorted(near_sizes, key=lambda k: -near_sizes[k])[:TOP_CLUSTERS]:
        examples = [(near_kept.get(keeper, ""), 1.0), *near_examples.get(keeper, [])]
        clusters.append({"kind": "near", "size": near_sizes[keeper], "examples": [text for text, _ in examples],
                         "similarities": [similarity for _, similarity in examples]})
    return sorted(clusters, key=lambda c: -c["size"])
