"""A run's loss curves: built from its progress updates, compared step by step (``llmops train
reproduce``), drawn as plain characters in the terminal and, on request, as a matplotlib PNG.

The terminal plot is a few lines of our own: plotting libraries for the terminal (plotext, asciichartpy)
would be a new dependency for one small chart, and rich draws no charts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from llmops.training.v1 import training_pb2 as pb

SERIES = ("loss", "val_loss")
MARKERS = {"loss": "*", "val_loss": "o"}
OVERLAP = "#"

Curve = dict[int, float]  # step -> value
Curves = dict[str, Curve]  # series name (loss, val_loss) -> curve


def curves_from_updates(updates: Iterable[pb.StreamProgressResponse]) -> Curves:
    """Loss and validation loss by step. A step below one already seen means the run resumed from a
    checkpoint: what was reported from that step on is replaced by what follows."""
    curves: Curves = {name: {} for name in SERIES}
    last = 0
    for update in updates:
        step = update.progress.step
        metrics = update.progress.metrics
        if step <= 0 or not any(name in metrics for name in SERIES):
            continue
        if step < last:
            for curve in curves.values():
                for stale in [s for s in curve if s >= step]:
                    del curve[stale]
        last = step
        for name in SERIES:
            if name in metrics and math.isfinite(metrics[name]):
                curves[name][step] = metrics[name]
    return curves


@dataclass(frozen=True)
class Comparison:
    """Two runs' curves at the steps both reported."""

    steps_compared: int
    max_abs_diff: float | None  # None when no step was reported by both
    worst: tuple[str, int] | None  # (series, step) of the largest difference
    tolerance: float

    @property
    def matches(self) -> bool:
        return self.max_abs_diff is not None and self.max_abs_diff <= self.tolerance


def compare(original: Curves, other: Curves, tolerance: float) -> Comparison:
    """The largest absolute difference between the two runs' values at each step both reported, over
    every series; no common step is no match."""
    diffs = [(abs(original[name][step] - other[name][step]), name, step)
             for name in SERIES if name in original and name in other
             for step in sorted(original[name].keys() & other[name].keys())]
    if not diffs:
        return Comparison(0, None, None, tolerance)
    worst = max(diffs, key=lambda d: d[0])
    return Comparison(len(diffs), worst[0], (worst[1], worst[2]), tolerance)


def _label(value: float) -> str:
    return f"{value:.4g}"


def text_plot(curves: Curves, *, width: int = 60, height: int = 12) -> str:
    """The curves on one grid of plain characters: ``*`` loss, ``o`` validation loss, ``#`` both;
    value on the left axis, step along the bottom, then a legend."""
    points = {name: sorted(curve.items()) for name, curve in curves.items() if curve}
    if not points:
        return "(no loss reported yet)"
    width, height = max(width, 10), max(height, 3)
    steps = [s for pts in points.values() for s, _ in pts]
    values = [v for pts in points.values() for _, v in pts]
    x0, x1 = min(steps), max(steps)
    y0, y1 = min(values), max(values)
    grid = [[" "] * width for _ in range(height)]
    for name, pts in points.items():
        marker = MARKERS.get(name, "+")
        for step, value in pts:
            col = round((step - x0) / (x1 - x0) * (width - 1)) if x1 > x0 else 0
            row = height - 1 - (round((value - y0) / (y1 - y0) * (height - 1)) if y1 > y0 else 0)
            cell = grid[row][col]
            grid[row][col] = marker if cell in (" ", marker) else OVERLAP
    top, bottom = _label(y1), _label(y0)
    pad = max(len(top), len(bottom))
    lines = []
    for i, row in enumerate(grid):
        label = top if i == 0 else bottom if i == height - 1 else ""
        lines.append(f"{label:>{pad}} |{''.join(row).rstrip()}")
    lines.append(f"{'':>{pad}} +{'-' * width}")
    first, last = f"step {x0}", str(x1)
    lines.append(f"{'':>{pad}}  {first}{last:>{max(width - len(first), len(last) + 1)}}")
    legend = "   ".join(f"{MARKERS.get(name, '+')} {name}" for name in points)
    lines.append(f"{'':>{pad}}  {legend}" + (f"   {OVERLAP} both" if len(points) > 1 else ""))
    return "\n".join(lines)


def save_plot(curves: Curves, path: Path, title: str) -> Path:
    """The curves as a PNG (matplotlib, imported here: only ``--plot`` needs it)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    try:
        for name, curve in curves.items():
            if curve:
                steps = sorted(curve)
                ax.plot(steps, [curve[s] for s in steps], marker="o" if name == "val_loss" else None,
                        label=name.replace("_", " "))
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(title)
        if any(curves.values()):
            ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
    return path
