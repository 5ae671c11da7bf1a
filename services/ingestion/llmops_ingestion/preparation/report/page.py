"""The report as one self-contained HTML page, rendered from the ``profile.html`` Jinja2 template.

All text taken from the data (dataset names, examples, n-grams, field names, problems) goes through
Jinja2 with autoescape on, so a record holding ``<script>`` shows as text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from importlib.resources import files
from typing import Any

from jinja2 import Environment, StrictUndefined

from llmops_ingestion.preparation.report import plots
from llmops_ingestion.preparation.report.view import (
    as_dict,
    as_int,
    as_list,
    cluster_rows,
    duplicate_totals,
    field,
    fmt,
    fraction_or_one,
    length_stats,
    ngram_counts,
    one_line,
    pct,
    sorted_counts,
    step_rows,
    truncate,
    word_diff,
)

__all__ = ["render_html"]

HTML_EXAMPLE_CHARS = 300
MAX_CLUSTERS_HTML = 25
MAX_EXAMPLES_PER_CLUSTER = 3
MAX_BAD_SAMPLES_HTML = 50
MAX_NGRAMS_PLOT = 25

_ENV = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_HTML = _ENV.from_string(files(__package__).joinpath("profile.html").read_text(encoding="utf-8"))


def _alt(title: str, pairs: Iterable[tuple[str, Any]], *, fractions: bool = False, limit: int = 12) -> str:
    pairs = list(pairs)
    shown = "; ".join(f"{truncate(one_line(k), 40)} {pct(v) if fractions else fmt(v)}" for k, v in pairs[:limit])
    more = f"; {len(pairs) - limit} more" if len(pairs) > limit else ""
    return f"{title}: {shown}{more}"


def _cluster(cluster: dict[str, Any]) -> dict[str, Any]:
    """A cluster for the page: its kept record, then the others as word diffs against it."""
    examples = [truncate(e, HTML_EXAMPLE_CHARS) for e in cluster["examples"][:MAX_EXAMPLES_PER_CLUSTER + 1]]
    members = []
    for index, (text, similarity) in enumerate(zip(examples, cluster["similarities"], strict=False)):
        kept = index == 0
        shown = "" if kept or not math.isfinite(similarity) else f"{similarity:.2f}"
        members.append({"kept": kept, "similarity": shown,
                        "runs": [("same", text)] if kept else word_diff(examples[0], text)})
    return {"kind": cluster["kind"], "size": cluster["size"], "members": members}


def render_html(profile: Mapping[str, Any]) -> str:
    """The profile as one self-contained HTML page (inline CSS, inline base64 PNG plots, no scripts)."""
    record_count = as_int(field(profile, "record_count", 0))
    steps = step_rows(profile)
    char_stats_raw = as_dict(field(profile, "char_lengths", {}))
    token_stats_raw = as_dict(field(profile, "token_lengths", {}))
    pii = sorted_counts(as_dict(field(profile, "pii_counts", {})))
    ngrams = ngram_counts(profile)
    completeness = sorted_counts(as_dict(field(profile, "field_completeness", {})))
    scripts = sorted_counts(as_dict(field(profile, "script_mix", {})))
    clusters = cluster_rows(profile)
    sample_fraction = fraction_or_one(field(profile, "ngram_sample_fraction", 1.0))
    ngram_n = as_int(field(profile, "ngram_n", 0))
    source = as_dict(field(profile, "source", {}))

    split_counts = as_dict(field(profile, "split_counts", {}))
    split_total = sum(as_int(v) for v in split_counts.values())
    splits = [{"name": name, "count": f"{as_int(count):,}",
               "share": pct(as_int(count) / split_total) if split_total else "n/a"}
              for name, count in split_counts.items()]

    ngram_pairs = [(g, float(c)) for g, c in ngrams[:MAX_NGRAMS_PLOT]]
    images = {
        "funnel": plots.funnel(steps),
        "chars": plots.histogram(char_stats_raw, "Character length", "characters"),
        "tokens": plots.histogram(token_stats_raw, "Token length", "tokens"),
        "pii": plots.hbars(pii, "PII redactions by kind"),
        "ngrams": plots.hbars(ngram_pairs, f"Top {ngram_n}-grams" + (" (sampled)" if sample_fraction < 1 else "")),
        "completeness": plots.hbars(completeness, "Share of records with the field present", fractions=True),
        "scripts": plots.hbars(scripts, "Share of characters by script", fractions=True),
    }
    alts = {
        "funnel": _alt("Records kept after each step", [(s["step"], s["records_kept"]) for s in steps]),
        "chars": "Character length histogram with p50, p90 and p99 marked",
        "tokens": "Token length histogram with p50, p90 and p99 marked",
        "pii": _alt("PII redactions", pii),
        "ngrams": _alt("Top n-grams", ngram_pairs),
        "completeness": _alt("Field completeness", completeness, fractions=True),
        "scripts": _alt("Script mix", scripts, fractions=True),
    }

    bad_samples_raw = as_list(field(profile, "bad_record_samples", []))
    bad_samples = [{"file": truncate(field(b, "file", ""), HTML_EXAMPLE_CHARS),
                    "line": fmt(field(b, "line", math.nan)),
                    "problem": truncate(field(b, "problem", ""), HTML_EXAMPLE_CHARS)}
                   for b in bad_samples_raw[:MAX_BAD_SAMPLES_HTML]]
    shown_clusters = [_cluster(c) for c in clusters[:MAX_CLUSTERS_HTML]]
    try:
        config = json.dumps(field(profile, "config", {}), indent=2, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        config = repr(field(profile, "config", {}))

    return _HTML.render(
        name=str(field(profile, "dataset_name", "?")),
        version=str(field(profile, "version", "?")),
        shape=str(field(profile, "shape", "?")),
        records=f"{record_count:,}",
        created=str(field(profile, "created_at", "?")),
        source_uri=str(field(source, "uri", "?")),
        source_files=[str(f) for f in as_list(field(source, "files", []))],
        source_format=str(field(source, "format", "")),
        tokenizer=str(field(profile, "tokenizer", "?")),
        splits=splits,
        steps=steps,
        length_keys=("min", "mean", "p50", "p90", "p99", "max"),
        char_stats=length_stats(char_stats_raw),
        token_stats=length_stats(token_stats_raw),
        pii=[(k, fmt(v, sep=True)) for k, v in pii],
        ngram_n=ngram_n or "n",
        ngram_sampled=sample_fraction < 1,
        ngram_sample=pct(sample_fraction),
        ngrams=ngrams[:MAX_NGRAMS_PLOT],
        clusters=shown_clusters,
        cluster_total=len(clusters),
        duplicates={k: f"{v:,}" for k, v in duplicate_totals(profile, clusters).items()},
        bad_count=f"{as_int(field(profile, 'bad_record_count', 0)):,}",
        bad_samples=bad_samples,
        bad_more=max(len(bad_samples_raw) - MAX_BAD_SAMPLES_HTML, 0),
        config=config,
        plots=images,
        alts=alts,
    )
