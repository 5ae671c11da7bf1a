"""The model report's plots as SVG documents: requests per hour, latency p50/p95 per hour, and each
drift method's statistic against its threshold over time. Drawn with matplotlib's object API on the Agg
canvas (no pyplot: no global figure registry or GUI backend), imported on first use.

Labels come from data, so they are reduced to a safe alphabet and drawn without mathtext.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Any

#: points drawn per series (the newest are kept)
MAX_POINTS = 2000
MAX_METHODS = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@/ -]")


def _label(text: Any) -> str:
    return _UNSAFE.sub("?", str(text))[:32] or "?"


def _svg(fig: Any) -> str:
    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "llmops-monitoring", "svg.fonttype": "path", "text.usetex": False}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _axes(width: float = 10.0, height: float = 2.6) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _finite(points: Sequence[tuple[Any, float]]) -> list[tuple[Any, float]]:
    return [(x, y) for x, y in points[-MAX_POINTS:] if isinstance(y, int | float) and math.isfinite(y)]


def traffic(points: Sequence[tuple[Any, float]]) -> str | None:
    """Requests per hour: ``(hour as datetime, count)``."""
    points = _finite(points)
    if not points:
        return None
    fig, ax = _axes()
    ax.bar([x for x, _ in points], [y for _, y in points], width=1 / 24 * 0.9, color="#4C72B0")
    ax.set_ylabel("requests / hour")
    fig.autofmt_xdate()
    return _svg(fig)


def latency(p50: Sequence[tuple[Any, float]], p95: Sequence[tuple[Any, float]]) -> str | None:
    """Latency percentiles per hour in milliseconds."""
    p50, p95 = _finite(p50), _finite(p95)
    if not p50 and not p95:
        return None
    fig, ax = _axes()
    for name, points, color in (("p50", p50, "#4C72B0"), ("p95", p95, "#C44E52")):
        if points:
            ax.plot([x for x, _ in points], [y for _, y in points], marker=".", color=color, label=name)
    ax.set_ylabel("latency (ms)")
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    return _svg(fig)


def drift(methods: Sequence[tuple[str, Sequence[tuple[Any, float]], Sequence[tuple[Any, float]]]]) -> str | None:
    """One panel per method: its statistic over time (points) and its threshold (dashed)."""
    panels = [(name, _finite(values), _finite(thresholds)) for name, values, thresholds in methods[:MAX_METHODS]]
    panels = [panel for panel in panels if panel[1]]
    if not panels:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 2.2 * len(panels)), layout="constrained")
    FigureCanvasAgg(fig)
    for slot, (name, values, thresholds) in enumerate(panels):
        ax = fig.add_subplot(len(panels), 1, slot + 1)
        ax.plot([x for x, _ in values], [y for _, y in values], marker="o", color="#4C72B0", label="statistic")
        if thresholds:
            ax.plot([x for x, _ in thresholds], [y for _, y in thresholds], linestyle="--", color="#C44E52",
                    label="threshold")
        ax.set_title(_label(name), fontsize=9)
        ax.legend(loc="upper left", fontsize=7)
    fig.autofmt_xdate()
    return _svg(fig)
