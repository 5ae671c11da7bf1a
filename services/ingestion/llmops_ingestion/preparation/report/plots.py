"""The report's plots: Agg-canvas ``matplotlib.figure.Figure`` objects rendered to base64 PNG.

Never through ``pyplot``: no global figure registry, so plots may be drawn from several threads at
once. A plot whose data is empty or all zero is None, and the page shows "none" in its place.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from itertools import pairwise
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from llmops_ingestion.preparation.report.view import as_list, field, fmt, num, one_line, pct, truncate

PLOT_LABEL_CHARS = 40
MAX_BARS = 40
PLOT_WIDTH_IN = 6.0
PLOT_HEIGHT_IN = 3.0
PLOT_DPI = 80

_BLUE = "#4C72B0"
_RED = "#C44E52"
_GREEN = "#55A868"
_PERCENTILE_STYLE = (("p50", "#DD8452", "--"), ("p90", "#C44E52", "-."), ("p99", "#8172B3", ":"))


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
    label = truncate(one_line(text), PLOT_LABEL_CHARS)
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


def funnel(steps: list[dict[str, Any]]) -> str | None:
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
    bounds = [num(b) for b in as_list(field(stats, "bucket_bounds", []))]
    counts = [max(num(c), 0.0) for c in as_list(field(stats, "bucket_counts", []))]
    size = min(len(bounds), len(counts))
    bounds, counts = bounds[:size], [c if math.isfinite(c) else 0.0 for c in counts[:size]]
    if not size or not any(counts) or not all(math.isfinite(b) for b in bounds):
        return None
    return bounds, counts


def histogram(stats: Mapping[str, Any], what: str, unit: str) -> str | None:
    data = _histogram_data(stats)
    if data is None:
        return None
    bounds, counts = data
    fig, ax = _new_figure()
    increasing = all(b > a for a, b in pairwise(bounds))
    if increasing:
        # Bucket i holds values in (bounds[i-1], bounds[i]]; the first one starts at the minimum seen,
        # or one bucket-width below its bound when the minimum is missing or not below it.
        low = num(field(stats, "min", math.nan))
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
            value = num(field(stats, key, math.nan))
            if math.isfinite(value) and (edges[0] > 0 or ax.get_xscale() == "linear"):
                ax.axvline(value, color=color, linestyle=style, linewidth=1.4, label=f"{key} = {fmt(value)}")
        ax.set_xlim(left=edges[0])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, frameon=False)
        ax.set_xlabel(unit, fontsize=8)
    else:  # bounds out of order: one bar per bucket, labelled by its bound
        positions = list(range(len(counts)))
        ax.bar(positions, counts, color=_BLUE)
        step = max(1, len(positions) // 12)
        ax.set_xticks(positions[::step], [fmt(b) for b in bounds[::step]], rotation=30)
        ax.set_xlabel(f"{unit} (bucket upper bound)", fontsize=8)
    ax.set_ylabel("records", fontsize=8)
    ax.set_title(f"{what} distribution", fontsize=9)
    return _png_base64(fig)


def hbars(pairs: list[tuple[str, float]], title: str, *, fractions: bool = False) -> str | None:
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
    texts = [pct(v) if fractions else fmt(v, sep=True) for v in values]
    ax.bar_label(bars, texts, padding=2, fontsize=7)
    if fractions:
        ax.set_xlim(0, max(1.0, max(values)) * 1.15)
    else:
        ax.set_xlim(0, max(values) * 1.18)
    ax.tick_params(axis="y", labelsize=7 if len(pairs) > 15 else 8)
    ax.set_title(title, fontsize=9)
    return _png_base64(fig)
