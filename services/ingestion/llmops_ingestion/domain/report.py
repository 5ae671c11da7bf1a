"""Reports on a dataset version's exploratory-data-analysis profile.

``render_html`` turns a profile (the JSON-compatible dict built by the profiler) into one
self-contained HTML file: CSS in a ``<style>`` block, every plot an inline base64 PNG, no scripts
and nothing fetched from elsewhere, so it opens anywhere, offline. ``render_summary`` gives the
same profile as a few dozen lines of plain text for the CLI.

All text taken from the data (dataset names, examples, n-grams, field names, problems) goes
through Jinja2 with autoescape on, so a record holding ``<script>`` shows as text. Plots are drawn
with ``matplotlib.figure.Figure`` on the Agg canvas, never through ``pyplot``: no global figure
registry, safe to call from several threads at once. A plot whose data is empty or all zero is
left out and the section says "none", so an empty profile (no records) renders without error.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any

from jinja2 import Environment, StrictUndefined
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["render_html", "render_summary"]

HTML_EXAMPLE_CHARS = 300
SUMMARY_EXAMPLE_CHARS = 80
PLOT_LABEL_CHARS = 40
MAX_CLUSTERS_HTML = 25
MAX_EXAMPLES_PER_CLUSTER = 3
MAX_BAD_SAMPLES_HTML = 50
MAX_NGRAMS_PLOT = 25
MAX_BARS = 40
PLOT_WIDTH_IN = 6.0
PLOT_HEIGHT_IN = 3.0
PLOT_DPI = 80

_BLUE = "#4C72B0"
_RED = "#C44E52"
_GREEN = "#55A868"
_PERCENTILE_STYLE = (("p50", "#DD8452", "--"), ("p90", "#C44E52", "-."), ("p99", "#8172B3", ":"))


# --------------------------------------------------------------------------- small helpers


def _get(mapping: Any, key: str, default: Any) -> Any:
    """``mapping[key]``, or ``default`` when the mapping is not one, lacks the key or holds None."""
    if not isinstance(mapping, Mapping):
        return default
    value = mapping.get(key)
    return default if value is None else value


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str | bytes) else []


def _as_dict(value: Any) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def _num(value: Any) -> float:
    """A finite float, or NaN for anything that is not a number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _int(value: Any) -> int:
    number = _num(value)
    return int(number) if math.isfinite(number) else 0


def _fmt(value: Any, *, sep: bool = False) -> str:
    """A number for people: integers as such, other values with at most two decimals."""
    number = _num(value)
    if not math.isfinite(number):
        return "n/a"
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}" if sep else str(int(number))
    return f"{number:,.2f}" if sep else f"{number:.2f}"


def _pct(fraction: Any) -> str:
    number = _num(fraction)
    return "n/a" if not math.isfinite(number) else f"{number * 100:.1f}%"


def _truncate(text: Any, limit: int) -> str:
    text = text if isinstance(text, str) else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _one_line(text: Any) -> str:
    text = text if isinstance(text, str) else str(text)
    return " ".join(text.split())


def _sorted_counts(counts: Mapping[str, Any]) -> list[tuple[str, float]]:
    pairs = [(str(k), _num(v)) for k, v in counts.items()]
    pairs = [(k, v) for k, v in pairs if math.isfinite(v)]
    return sorted(pairs, key=lambda kv: (-kv[1], kv[0]))


# --------------------------------------------------------------------------- plotting


@lru_cache(maxsize=1)
def _font_charmap() -> frozenset[int]:
    """Code points the default plot font can draw (others would become boxes and warnings)."""
    try:
        from matplotlib import font_manager

        path = font_manager.findfont(font_manager.FontProperties(), fallback_to_default=True)
        return frozenset(font_manager.get_font(path).get_charmap())
    except Exception:  # noqa: BLE001 - any trouble: only plain ASCII is assumed drawable
        return frozenset(range(32, 127))


def _plot_label(text: Any) -> str:
    """Text fit for a plot label: one line, short, drawable glyphs only (``?`` for the rest)."""
    charmap = _font_charmap()
    label = _truncate(_one_line(text), PLOT_LABEL_CHARS)
    return "".join(ch if ord(ch) in charmap else "?" for ch in label) or "(empty)"


def _new_figure(height: float = PLOT_HEIGHT_IN) -> tuple[Figure, Any]:
    fig = Figure(figsize=(PLOT_WIDTH_IN, height), dpi=PLOT_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def _png_base64(fig: Figure) -> str:
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=PLOT_DPI, metadata={"Software": None})
    finally:
        fig.clear()
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _no_math(texts: Iterable[Any]) -> None:
    """Data labels are literal: a ``$`` in an n-gram must not start mathtext."""
    for text in texts:
        text.set_parse_math(False)


def _plot_funnel(steps: list[dict[str, Any]]) -> str | None:
    if not steps or not any(s["records_in"] or s["records_kept"] for s in steps):
        return None
    names = ["input", *(_plot_label(s["step"]) for s in steps)]
    kept = [steps[0]["records_in"], *(s["records_kept"] for s in steps)]
    dropped = [0, *(s["dropped"] for s in steps)]
    fig, ax = _new_figure()
    positions = range(len(names))
    ax.bar(positions, kept, color=[_GREEN] + [_BLUE] * len(steps), width=0.65)
    top = max(kept) or 1
    ax.set_ylim(0, top * 1.3)
    for x, (count, lost) in enumerate(zip(kept, dropped, strict=True)):
        ax.annotate(f"{count:,}", (x, count), xytext=(0, 2), textcoords="offset points", ha="center",
                    va="bottom", fontsize=7)
        if lost > 0:
            ax.annotate(f"\u2212{lost:,}", (x, count), xytext=(0, 11), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color=_RED, fontweight="bold")
    ax.set_xticks(list(positions), names, rotation=30, ha="right")
    _no_math(ax.get_xticklabels())
    ax.set_ylabel("records kept", fontsize=8)
    ax.set_title("Records kept after each step (red: dropped)", fontsize=9)
    return _png_base64(fig)


def _histogram_data(stats: Mapping[str, Any]) -> tuple[list[float], list[float]] | None:
    bounds = [_num(b) for b in _as_list(_get(stats, "bucket_bounds", []))]
    counts = [max(_num(c), 0.0) for c in _as_list(_get(stats, "bucket_counts", []))]
    size = min(len(bounds), len(counts))
    bounds, counts = bounds[:size], [c if math.isfinite(c) else 0.0 for c in counts[:size]]
    if not size or not any(counts) or not all(math.isfinite(b) for b in bounds):
        return None
    return bounds, counts


def _plot_histogram(stats: Mapping[str, Any], what: str, unit: str) -> str | None:
    data = _histogram_data(stats)
    if data is None:
        return None
    bounds, counts = data
    fig, ax = _new_figure()
    increasing = all(b > a for a, b in pairwise(bounds))
    if increasing:
        # Bucket i holds values in (bounds[i-1], bounds[i]]; the first one starts at the minimum seen,
        # or one bucket-width below its bound when the minimum is missing or not below it.
        low = _num(_get(stats, "min", math.nan))
        if not (math.isfinite(low) and low < bounds[0]):
            width = bounds[1] - bounds[0] if len(bounds) > 1 else max(abs(bounds[0]), 1.0)
            low = bounds[0] - width
            if bounds[0] > 0:
                low = max(low, 0.0)
        edges = [low, *bounds]
        ax.stairs(counts, edges, fill=True, color=_BLUE, alpha=0.85)
        if edges[0] > 0 and edges[-1] / edges[0] >= 100:
            ax.set_xscale("log")
        for key, color, style in _PERCENTILE_STYLE:
            value = _num(_get(stats, key, math.nan))
            if math.isfinite(value) and (edges[0] > 0 or ax.get_xscale() == "linear"):
                ax.axvline(value, color=color, linestyle=style, linewidth=1.4, label=f"{key} = {_fmt(value)}")
        ax.set_xlim(left=edges[0])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, frameon=False)
        ax.set_xlabel(unit, fontsize=8)
    else:  # bounds out of order: one bar per bucket, labelled by its bound
        positions = list(range(len(counts)))
        ax.bar(positions, counts, color=_BLUE)
        step = max(1, len(positions) // 12)
        ax.set_xticks(positions[::step], [_fmt(b) for b in bounds[::step]], rotation=30)
        ax.set_xlabel(f"{unit} (bucket upper bound)", fontsize=8)
    ax.set_ylabel("records", fontsize=8)
    ax.set_title(f"{what} distribution", fontsize=9)
    return _png_base64(fig)


def _plot_hbars(pairs: list[tuple[str, float]], title: str, *, fractions: bool = False) -> str | None:
    """Horizontal bars, largest at the top; None when there is nothing non-zero to show."""
    pairs = [(k, v) for k, v in pairs if math.isfinite(v)][:MAX_BARS]
    if not pairs or not any(v for _, v in pairs):
        return None
    fig, ax = _new_figure(min(7.0, max(PLOT_HEIGHT_IN * 0.75, 0.24 * len(pairs) + 0.9)))
    labels = [_plot_label(k) for k, _ in pairs][::-1]
    values = [v for _, v in pairs][::-1]
    positions = list(range(len(pairs)))
    bars = ax.barh(positions, values, color=_BLUE, height=0.7)
    ax.set_yticks(positions, labels)
    _no_math(ax.get_yticklabels())
    texts = [_pct(v) if fractions else _fmt(v, sep=True) for v in values]
    ax.bar_label(bars, texts, padding=2, fontsize=7)
    if fractions:
        ax.set_xlim(0, max(1.0, max(values)) * 1.15)
    else:
        ax.set_xlim(0, max(values) * 1.18)
    ax.tick_params(axis="y", labelsize=7 if len(pairs) > 15 else 8)
    ax.set_title(title, fontsize=9)
    return _png_base64(fig)


# --------------------------------------------------------------------------- profile normalisation


def _steps(profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for raw in _as_list(_get(profile, "steps", [])):
        records_in, records_kept = _int(_get(raw, "records_in", 0)), _int(_get(raw, "records_kept", 0))
        reasons = [(k, int(v)) for k, v in _sorted_counts(_as_dict(_get(raw, "dropped_by_reason", {})))]
        steps.append({
            "step": str(_get(raw, "step", "?")),
            "records_in": records_in,
            "records_kept": records_kept,
            "dropped": max(records_in - records_kept, 0),
            "reasons": reasons,
        })
    return steps


def _clusters(profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    clusters = []
    for raw in _as_list(_get(profile, "duplicate_clusters", [])):
        examples = [e if isinstance(e, str) else str(e) for e in _as_list(_get(raw, "examples", []))]
        clusters.append({"kind": str(_get(raw, "kind", "?")), "size": _int(_get(raw, "size", 0)), "examples": examples})
    clusters.sort(key=lambda c: -c["size"])  # stable: equal sizes keep the profile's order
    return clusters


def _ngrams(profile: Mapping[str, Any]) -> list[tuple[str, int]]:
    items = [(str(_get(raw, "ngram", "")), _int(_get(raw, "count", 0)))
             for raw in _as_list(_get(profile, "top_ngrams", []))]
    return sorted(items, key=lambda kv: -kv[1])


def _length_stats(stats: Any) -> dict[str, str]:
    return {key: _fmt(_get(stats, key, math.nan), sep=True) for key in ("min", "mean", "p50", "p90", "p99", "max")}


def _fraction_or_one(value: Any) -> float:
    number = _num(value)
    return number if math.isfinite(number) else 1.0


# --------------------------------------------------------------------------- HTML

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ name }}@{{ version }} \u2014 dataset profile</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1rem 1.5rem 3rem; color: #222; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.meta { color: #555; font-size: .9rem; } .meta span { margin-right: 1.2rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.example { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .8rem; white-space: pre-wrap;
           word-break: break-word; max-width: 700px; }
.example + .example { border-top: 1px dashed #ccc; margin-top: .2rem; padding-top: .2rem; }
.none { color: #888; font-style: italic; } .note { color: #555; font-size: .85rem; }
.grid { display: flex; flex-wrap: wrap; gap: 1rem 2rem; } .grid > div { flex: 1 1 480px; }
img.plot { max-width: 100%; height: auto; display: block; }
.drop { color: #C44E52; font-weight: 600; }
pre.config { background: #f7f7f7; padding: .6rem; font-size: .8rem; overflow-x: auto; }
</style>
</head>
<body>
<header>
<h1>{{ name }}@{{ version }}</h1>
<div class="meta">
<span>shape: <b>{{ shape }}</b></span>
<span>records: <b>{{ records }}</b></span>
<span>created: {{ created }}</span>
<span>source: <code>{{ source_uri }}</code>{% if source_format %} ({{ source_format }}){% endif %}</span>
<span>tokenizer: {{ tokenizer }}</span>
</div>
</header>

<h2>Splits</h2>
{% if splits %}
<table><tr><th>split</th><th class="num">records</th><th class="num">share</th></tr>
{% for s in splits %}<tr><td>{{ s.name }}</td><td class="num">{{ s.count }}</td><td class="num">{{ s.share }}</td></tr>
{% endfor %}</table>
{% else %}<p class="none">none</p>{% endif %}

<h2>Preparation steps</h2>
{% if plots.funnel %}<img class="plot" alt="{{ alts.funnel }}" src="data:image/png;base64,{{ plots.funnel }}">
{% else %}<p class="none">Step funnel: none</p>{% endif %}
{% if steps %}
<table><tr><th>step</th><th class="num">in</th><th class="num">kept</th><th class="num">dropped</th>
<th>drop reasons (counts)</th></tr>
{% for s in steps %}<tr><td>{{ s.step }}</td><td class="num">{{ "{:,}".format(s.records_in) }}</td>
<td class="num">{{ "{:,}".format(s.records_kept) }}</td>
<td class="num">{% if s.dropped %}<span class="drop">{{ "{:,}".format(s.dropped) }}</span>{% else %}0{% endif %}</td>
<td>{% for reason, count in s.reasons %}{{ reason }}: {{ "{:,}".format(count) }}{% if not loop.last %}; {% endif %}
{% else %}\u2014{% endfor %}</td></tr>
{% endfor %}</table>
{% else %}<p class="none">No steps recorded: none</p>{% endif %}

<h2>Lengths</h2>
<table><tr><th></th>{% for k in length_keys %}<th class="num">{{ k }}</th>{% endfor %}</tr>
<tr><td>characters</td>{% for k in length_keys %}<td class="num">{{ char_stats[k] }}</td>{% endfor %}</tr>
<tr><td>tokens ({{ tokenizer }})</td>{% for k in length_keys %}<td class="num">{{ token_stats[k] }}</td>{% endfor %}</tr>
</table>
<div class="grid">
<div><h3>Character length</h3>
{% if plots.chars %}<img class="plot" alt="{{ alts.chars }}" src="data:image/png;base64,{{ plots.chars }}">
{% else %}<p class="none">none</p>{% endif %}</div>
<div><h3>Token length</h3>
{% if plots.tokens %}<img class="plot" alt="{{ alts.tokens }}" src="data:image/png;base64,{{ plots.tokens }}">
{% else %}<p class="none">none</p>{% endif %}</div>
</div>

<div class="grid">
<div><h2>PII redactions</h2>
{% if plots.pii %}<img class="plot" alt="{{ alts.pii }}" src="data:image/png;base64,{{ plots.pii }}">
{% else %}<p class="none">none</p>{% endif %}
{% if pii %}<p class="note">{% for kind, count in pii %}{{ kind }}: {{ count }}{% if not loop.last %}; {% endif %}{% endfor %}</p>{% endif %}
</div>
<div><h2>Top {{ ngram_n }}-grams</h2>
{% if ngram_sampled %}<p class="note">Computed on a {{ ngram_sample }} sample of the records.</p>{% endif %}
{% if plots.ngrams %}<img class="plot" alt="{{ alts.ngrams }}" src="data:image/png;base64,{{ plots.ngrams }}">
<details><summary class="note">exact n-gram text</summary>
<table><tr><th>n-gram</th><th class="num">count</th></tr>
{% for gram, count in ngrams %}<tr><td class="example">{{ gram }}</td><td class="num">{{ "{:,}".format(count) }}</td></tr>
{% endfor %}</table></details>
{% else %}<p class="none">none</p>{% endif %}
</div>
</div>

<div class="grid">
<div><h2>Field completeness</h2>
{% if plots.completeness %}<img class="plot" alt="{{ alts.completeness }}" src="data:image/png;base64,{{ plots.completeness }}">
{% else %}<p class="none">none</p>{% endif %}</div>
<div><h2>Script mix</h2>
{% if plots.scripts %}<img class="plot" alt="{{ alts.scripts }}" src="data:image/png;base64,{{ plots.scripts }}">
{% else %}<p class="none">none</p>{% endif %}</div>
</div>

<h2>Duplicate clusters</h2>
{% if clusters %}
<p class="note">{{ cluster_total }} cluster(s): {{ exact_clusters }} exact, {{ near_clusters }} near;
{{ duplicate_records }} records in clusters.{% if cluster_total > clusters|length %}
Showing the {{ clusters|length }} largest.{% endif %}</p>
<table><tr><th>kind</th><th class="num">size</th><th>examples</th></tr>
{% for c in clusters %}<tr><td>{{ c.kind }}</td><td class="num">{{ "{:,}".format(c.size) }}</td>
<td>{% for e in c.examples %}<div class="example">{{ e }}</div>{% else %}\u2014{% endfor %}</td></tr>
{% endfor %}</table>
{% else %}<p class="none">none</p>{% endif %}

<h2>Bad records</h2>
<p>{{ bad_count }} record(s) could not be read.</p>
{% if bad_samples %}
<table><tr><th>file</th><th class="num">line</th><th>problem</th></tr>
{% for b in bad_samples %}<tr><td class="example">{{ b.file }}</td><td class="num">{{ b.line }}</td>
<td class="example">{{ b.problem }}</td></tr>
{% endfor %}</table>
{% if bad_more %}<p class="note">{{ bad_more }} more sample(s) not shown.</p>{% endif %}
{% else %}<p class="none">none</p>{% endif %}

<h2>Preparation config</h2>
<details><summary class="note">show</summary><pre class="config">{{ config }}</pre></details>
</body>
</html>
"""

_ENV = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_HTML = _ENV.from_string(_TEMPLATE)


def _alt(title: str, pairs: Iterable[tuple[str, Any]], *, fractions: bool = False, limit: int = 12) -> str:
    pairs = list(pairs)
    shown = "; ".join(f"{_truncate(_one_line(k), 40)} {_pct(v) if fractions else _fmt(v)}" for k, v in pairs[:limit])
    more = f"; {len(pairs) - limit} more" if len(pairs) > limit else ""
    return f"{title}: {shown}{more}"


def render_html(profile: Mapping[str, Any]) -> str:
    """The profile as one self-contained HTML page (inline CSS, inline base64 PNG plots, no scripts)."""
    record_count = _int(_get(profile, "record_count", 0))
    steps = _steps(profile)
    char_stats_raw = _as_dict(_get(profile, "char_lengths", {}))
    token_stats_raw = _as_dict(_get(profile, "token_lengths", {}))
    pii = _sorted_counts(_as_dict(_get(profile, "pii_counts", {})))
    ngrams = _ngrams(profile)
    completeness = _sorted_counts(_as_dict(_get(profile, "field_completeness", {})))
    scripts = _sorted_counts(_as_dict(_get(profile, "script_mix", {})))
    clusters = _clusters(profile)
    sample_fraction = _fraction_or_one(_get(profile, "ngram_sample_fraction", 1.0))
    ngram_n = _int(_get(profile, "ngram_n", 0))
    source = _as_dict(_get(profile, "source", {}))

    split_counts = _as_dict(_get(profile, "split_counts", {}))
    split_total = sum(_int(v) for v in split_counts.values())
    splits = [{"name": name, "count": f"{_int(count):,}",
               "share": _pct(_int(count) / split_total) if split_total else "n/a"}
              for name, count in split_counts.items()]

    ngram_pairs = [(g, float(c)) for g, c in ngrams[:MAX_NGRAMS_PLOT]]
    plots = {
        "funnel": _plot_funnel(steps),
        "chars": _plot_histogram(char_stats_raw, "Character length", "characters"),
        "tokens": _plot_histogram(token_stats_raw, "Token length", "tokens"),
        "pii": _plot_hbars(pii, "PII redactions by kind"),
        "ngrams": _plot_hbars(ngram_pairs, f"Top {ngram_n}-grams" + (" (sampled)" if sample_fraction < 1 else "")),
        "completeness": _plot_hbars(completeness, "Share of records with the field present", fractions=True),
        "scripts": _plot_hbars(scripts, "Share of characters by script", fractions=True),
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

    bad_samples_raw = _as_list(_get(profile, "bad_record_samples", []))
    bad_samples = [{"file": _truncate(_get(b, "file", ""), HTML_EXAMPLE_CHARS),
                    "line": _fmt(_get(b, "line", math.nan)),
                    "problem": _truncate(_get(b, "problem", ""), HTML_EXAMPLE_CHARS)}
                   for b in bad_samples_raw[:MAX_BAD_SAMPLES_HTML]]
    shown_clusters = [{"kind": c["kind"], "size": c["size"],
                       "examples": [_truncate(e, HTML_EXAMPLE_CHARS) for e in c["examples"][:MAX_EXAMPLES_PER_CLUSTER]]}
                      for c in clusters[:MAX_CLUSTERS_HTML]]
    try:
        config = json.dumps(_get(profile, "config", {}), indent=2, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        config = repr(_get(profile, "config", {}))

    return _HTML.render(
        name=str(_get(profile, "dataset_name", "?")),
        version=str(_get(profile, "version", "?")),
        shape=str(_get(profile, "shape", "?")),
        records=f"{record_count:,}",
        created=str(_get(profile, "created_at", "?")),
        source_uri=str(_get(source, "uri", "?")),
        source_format=str(_get(source, "format", "")),
        tokenizer=str(_get(profile, "tokenizer", "?")),
        splits=splits,
        steps=steps,
        length_keys=("min", "mean", "p50", "p90", "p99", "max"),
        char_stats=_length_stats(char_stats_raw),
        token_stats=_length_stats(token_stats_raw),
        pii=[(k, _fmt(v, sep=True)) for k, v in pii],
        ngram_n=ngram_n or "n",
        ngram_sampled=sample_fraction < 1,
        ngram_sample=_pct(sample_fraction),
        ngrams=ngrams[:MAX_NGRAMS_PLOT],
        clusters=shown_clusters,
        cluster_total=len(clusters),
        exact_clusters=sum(1 for c in clusters if c["kind"] == "exact"),
        near_clusters=sum(1 for c in clusters if c["kind"] == "near"),
        duplicate_records=f"{sum(c['size'] for c in clusters):,}",
        bad_count=f"{_int(_get(profile, 'bad_record_count', 0)):,}",
        bad_samples=bad_samples,
        bad_more=max(len(bad_samples_raw) - MAX_BAD_SAMPLES_HTML, 0),
        config=config,
        plots=plots,
        alts=alts,
    )


# --------------------------------------------------------------------------- plain text


def render_summary(profile: Mapping[str, Any]) -> str:
    """The profile as a few dozen lines of plain text, for the CLI."""
    lines: list[str] = []
    name, version = _get(profile, "dataset_name", "?"), _get(profile, "version", "?")
    source = _as_dict(_get(profile, "source", {}))
    lines.append(f"{_one_line(name)}@{_one_line(version)}")
    lines.append(f"  shape: {_get(profile, 'shape', '?')}   records: {_int(_get(profile, 'record_count', 0))}"
                 f"   created: {_get(profile, 'created_at', '?')}")
    lines.append(f"  source: {_one_line(_get(source, 'uri', '?'))} ({_get(source, 'format', '?')})")
    splits = _as_dict(_get(profile, "split_counts", {}))
    lines.append("  splits: " + (", ".join(f"{k} {_int(v)}" for k, v in splits.items()) or "none"))

    steps = _steps(profile)
    lines.append("")
    lines.append("Steps:")
    if steps:
        width = max(len("step"), *(len(s["step"]) for s in steps))
        lines.append(f"  {'step':<{width}}  {'in':>9}  {'kept':>9}  {'dropped':>9}  reasons")
        for s in steps:
            reasons = ", ".join(f"{k}={v}" for k, v in s["reasons"]) or "-"
            lines.append(f"  {s['step']:<{width}}  {s['records_in']:>9}  {s['records_kept']:>9}"
                         f"  {s['dropped']:>9}  {reasons}")
    else:
        lines.append("  none")

    lines.append("")
    lines.append("Lengths:      p50        p90        p99")
    for label, key in (("chars", "char_lengths"), ("tokens", "token_lengths")):
        stats = _get(profile, key, {})
        lines.append(f"  {label:<8}" + "".join(f"{_fmt(_get(stats, p, math.nan)):>11}" for p in ("p50", "p90", "p99")))
    lines.append(f"  tokenizer: {_get(profile, 'tokenizer', '?')}")

    pii = _sorted_counts(_as_dict(_get(profile, "pii_counts", {})))
    lines.append("")
    lines.append("PII redactions: " + (", ".join(f"{k}={_fmt(v)}" for k, v in pii) or "none"))

    ngrams = _ngrams(profile)[:10]
    fraction = _fraction_or_one(_get(profile, "ngram_sample_fraction", 1.0))
    sampled = f", on a {_pct(fraction)} sample" if fraction < 1 else ""
    lines.append("")
    lines.append(f"Top {_int(_get(profile, 'ngram_n', 0)) or 'n'}-grams{sampled}:" + ("" if ngrams else " none"))
    for gram, count in ngrams:
        lines.append(f"  {count:>9}  {_truncate(_one_line(gram), SUMMARY_EXAMPLE_CHARS)}")

    clusters = _clusters(profile)
    lines.append("")
    lines.append(f"Duplicate clusters: {len(clusters)}" + ("" if clusters else " (none)"))
    for c in clusters[:5]:
        example = _truncate(_one_line(c["examples"][0]), SUMMARY_EXAMPLE_CHARS) if c["examples"] else "-"
        lines.append(f"  {c['kind']:<5} size {c['size']:>6}  {example}")

    lines.append("")
    lines.append(f"Bad records: {_int(_get(profile, 'bad_record_count', 0))}")
    return "\n".join(lines) + "\n"
