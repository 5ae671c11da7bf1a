"""The JSON forms the monitoring stores keep: detector scores and an alert's details. JSON has no NaN
or infinity (PostgreSQL's jsonb refuses them), so a non-finite float is kept as its name ("NaN",
"Infinity", "-Infinity"): scores read back as the floats, details (free-form) keep the names. Also
the severity order the alert filter uses."""

from __future__ import annotations

import json
import math
from typing import Any

from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote
from llmops_monitoring.domain.records import Severity

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _finite(value: float) -> float | str:
    if math.isfinite(value):
        return float(value)
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def scores_to_dict(scores: dict[str, float]) -> dict[str, float | str]:
    return {k: _finite(v) for k, v in scores.items()}


def scores_from_dict(data: dict[str, float | str]) -> dict[str, float]:
    return {k: _NON_FINITE[v] if isinstance(v, str) else float(v) for k, v in data.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def details_json(details: dict[str, object]) -> str:
    """``details`` as JSON text (tuples become lists, non-finite floats their names)."""
    return json.dumps(_plain(details), allow_nan=False, default=str)


def details_stored(details: dict[str, object]) -> dict[str, Any]:
    """What ``details`` reads back as once stored (the in-memory fake keeps this form too)."""
    return json.loads(details_json(details))


def severities_at_least(minimum: str) -> list[str]:
    """The severities at or above ``minimum`` (info < warning < critical)."""
    order = list(Severity)
    try:
        return [s.value for s in order[order.index(Severity(minimum)):]]
    except ValueError:
        raise InvalidArgument(f"unknown severity {quote(minimum)}", field="min_severity") from None
