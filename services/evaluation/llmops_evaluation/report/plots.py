"""The report's plots as SVG documents: metric bars with intervals per role, and the histogram of
per-example differences. Drawn with matplotlib's object API on the Agg canvas (no pyplot: no global
figure registry or GUI backend), imported on first use so importing the report costs nothing.

Labels come from data, so they are reduced to a safe alphabet and drawn without mathtext.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Any

MAX_METRICS = 24
MAX_BINS = 200
COLUMNS = 4
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@/ -]")
_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974")


def _label(text: Any) -> str:
    return _UNSAFE.sub("?", str(text))[:32] or "?"


def _svg(fig: Any) -> str:
    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "llmops-evaluation", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def metric_bars(metrics: Sequence[tuple[str, Sequence[tuple[str, float, float | None, float | None]]]]) -> str | None:
    """One small panel per metric: a bar per (role, value, low, high), whiskers for the interval."""
    panels = [(name, [bar for bar in bars if math.isfinite(bar[1])]) for name, bars in metrics[:MAX_METRICS]]
    panels = [(name, bars) for name, bars in panels if bars]
    if not panels:
        return None
    roles = list(dict.fromkeys(role for _, bars in panels for role, *_ in bars))  # one color per role throughout
    rows = math.ceil(len(panels) / COLUMNS)
    fig = _figure(10.0, 2.0 * rows)
    for slot, (name, bars) in enumerate(panels):
        ax = fig.add_subplot(rows, COLUMNS, slot + 1)
        values = [value for _, value, _, _ in bars]
        below = [value - low if low is not None and math.isfinite(low) else 0.0 for _, value, low, _ in bars]
        above = [high - value if high is not None and math.isfinite(high) else 0.0 for _, value, _, high in bars]
        ax.bar(range(len(bars)), values, color=[_COLORS[roles.index(role) % len(_COLORS)] for role, *_ in bars],
               yerr=[[max(b, 0.0) for b in below], [max(a, 0.0) for a in above]], capsize=3)
        ax.set_xticks(range(len(bars)), [_label(role) for role, *_ in bars], fontsize=7)
        for tick in ax.get_xticklabels():
            tick.set_parse_math(False)
        ax.set_title(_label(name), fontsize=8, parse_math=False)
        ax.tick_params(axis="y", labelsize=7)
    return _svg(fig)


def difference_histogram(counts: Sequence[float], edges: Sequence[float], metric: str, baseline: str) -> str | None:
    """The distribution of candidate - baseline on one metric, with 0 marked."""
    if (not 0 < len(counts) <= MAX_BINS or len(edges) != len(counts) + 1 or not all(map(math.isfinite, edges))
            or not all(math.isfinite(c) and c >= 0 for c in counts)):
        return None
    fig = _figure(6.0, 2.6)
    ax = fig.add_subplot()
    ax.stairs(counts, edges, fill=True, color=_COLORS[0])
    ax.axvline(0.0, color=_COLORS[3], linestyle="--", linewidth=1)
    ax.set_xlabel(f"candidate - {_label(baseline)} ({_label(metric)}) per example", fontsize=8, parse_math=False)
    ax.set_ylabel("examples", fontsize=8)
    ax.tick_params(labelsize=7)
    return _svg(fig)
