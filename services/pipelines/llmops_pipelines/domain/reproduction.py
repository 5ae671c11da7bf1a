"""How a reproduction compares with the run it reproduces: each evaluation metric side by side, and
whether the reproduced value lies within the original's interval (``<metric>_ci_low`` and
``<metric>_ci_high`` in the evaluation's flat metrics), or equals it to 1e-9 when it has none.
A difference too large for a float is ``None``."""

from __future__ import annotations

import math
from typing import Any

_DERIVED = ("_ci_low", "_ci_high", "_champion", "_base", "_delta_")


def compare(original: dict[str, float], reproduced: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for metric in sorted(original):
        if metric not in reproduced or any(part in metric for part in _DERIVED):
            continue
        a, b = original[metric], reproduced[metric]
        low, high = original.get(f"{metric}_ci_low"), original.get(f"{metric}_ci_high")
        within = low - 1e-9 <= b <= high + 1e-9 if low is not None and high is not None \
            else math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        delta = b - a  # overflows to infinity for extreme finite values, which JSON cannot hold
        rows.append({"metric": metric, "original": a, "reproduced": b, "delta": delta if math.isfinite(delta) else None,
                     "within_interval": within})
    return rows
