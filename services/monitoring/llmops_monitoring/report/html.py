"""The model report as one self-contained HTML page, rendered from ``report.html`` by Jinja2 with
autoescape: every string from the data (comments above all, but also prompts' subjects, model names,
alert messages) is hostile and shows as text. The page's Content-Security-Policy allows no script at
all. Plots are SVG documents embedded as ``data:`` images: an SVG shown as an image runs no script and
cannot break out of the page's markup.

The input is a ``build_summary`` dict, possibly read back from storage, so every field is read
defensively: a missing or mistyped field shows as "n/a", never as an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from llmops_common.html_pages import as_dict as _dict
from llmops_common.html_pages import as_list as _list
from llmops_common.html_pages import data_uri, fmt, page, text
from llmops_common.html_pages import number as _number
from llmops_monitoring.report import plots

#: characters of one comment, message or name shown in a table cell
CELL_CHARS = 2000

_PAGE = page(__package__, "report.html")






def _percent(value: Any) -> str:
    number = _number(value)
    return f"{100 * number:.1f}%" if math.isfinite(number) else "n/a"


def _text(value: Any, limit: int = CELL_CHARS) -> str:
    return text(value, limit)


def _time(value: Any) -> datetime | None:
    try:
        at = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)  # plots cannot mix the two


def _series(rows: list[Any], x: str, y: str) -> list[tuple[datetime, float]]:
    points = [(_time(_dict(row).get(x)), _number(_dict(row).get(y))) for row in rows]
    return [(at, value) for at, value in points if at is not None]



def _drift_plot(points: list[Any]) -> str | None:
    methods: dict[str, list[Any]] = {}
    for point in points:
        methods.setdefault(_text(_dict(point).get("method"), 100), []).append(point)
    return data_uri(plots.drift([(name, _series(rows, "at", "statistic"), _series(rows, "at", "threshold"))
                                  for name, rows in methods.items()]))


def render_model_report(summary: Mapping[str, Any]) -> str:
    """The report as one HTML page (inline CSS, plots as embedded SVG images, no scripts)."""
    totals = _dict(summary.get("totals"))
    traffic = _list(summary.get("traffic"))
    drift = _list(summary.get("drift"))
    feedback = _dict(summary.get("feedback"))
    return _PAGE.render(
        model_version=_text(summary.get("model_version"), 500),
        window=(_text(summary.get("window_start"), 100), _text(summary.get("window_end"), 100)),
        totals=[(label, fmt(totals.get(key))) for label, key in (
            ("Requests", "requests"), ("Prompt tokens", "prompt_tokens"), ("Completion tokens", "completion_tokens"),
            ("Latency p50 (ms)", "latency_p50_ms"), ("Latency p95 (ms)", "latency_p95_ms"),
            ("Time to first token p50 (ms)", "ttft_p50_ms"))],
        traffic_plot=data_uri(plots.traffic(_series(traffic, "hour", "requests"))),
        latency_plot=data_uri(plots.latency(_series(traffic, "hour", "latency_p50_ms"),
                                             _series(traffic, "hour", "latency_p95_ms"))),
        drift_plot=_drift_plot(drift),
        drift=[{"at": _text(_dict(p).get("at"), 100), "method": _text(_dict(p).get("method"), 100),
                "statistic": fmt(_dict(p).get("statistic")), "threshold": fmt(_dict(p).get("threshold")),
                "p_value": fmt(_dict(p).get("p_value")), "drifted": _dict(p).get("drifted") is True}
               for p in drift],
        alerts=[{key: _text(_dict(a).get(key), 500) for key in (
            "alert_id", "status", "severity", "kind", "detector", "message", "statistic", "subject_kind", "subject",
            "raised_at")} | {"value": fmt(_dict(a).get("value")), "threshold": fmt(_dict(a).get("threshold")),
                             "occurrences": fmt(_dict(a).get("occurrences"))}
                for a in _list(summary.get("alerts"))],
        feedback=[(label, fmt(feedback.get(key))) for label, key in (
            ("Feedback", "total"), ("Thumbs up", "positive"), ("Thumbs down", "negative"), ("Scored", "scored"),
            ("Mean score (1-5)", "mean_score"), ("Corrections", "corrections"))],
        positive_rate=_percent(feedback.get("positive_rate")),
        categories=[(_text(name, 100), fmt(count)) for name, count in _dict(feedback.get("categories")).items()],
        comments=[{"created_at": _text(_dict(c).get("created_at"), 100), "rating": _text(_dict(c).get("rating"), 20),
                   "score": fmt(_dict(c).get("score")), "user": _text(_dict(c).get("user"), 200),
                   "inference_id": _text(_dict(c).get("inference_id"), 200), "comment": _text(_dict(c).get("comment"))}
                  for c in _list(feedback.get("comments"))],
    )
