"""The model report's data: one model version's traffic and latency per hour, drift statistics over
time, its alerts and its feedback, as a JSON-ready dict that ``html.render_model_report`` renders."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from llmops_monitoring.domain.records import Alert, Feedback, Inference

#: newest comments listed in the report
MAX_COMMENTS = 200


@dataclass(frozen=True)
class DriftPoint:
    """One drift check of one method at one time (a detector's result with when it ran)."""

    at: datetime
    method: str
    statistic: float
    threshold: float
    p_value: float | None = None
    drifted: bool = False

    @classmethod
    def from_alert(cls, alert: Alert) -> DriftPoint:
        """A drift alert as the point that raised it (at its window's end; it drifted)."""
        c = alert.candidate
        p_value = c.details.get("p_value")
        return cls(at=c.window_end, method=c.detector, statistic=c.value, threshold=c.threshold,
                   p_value=float(p_value) if isinstance(p_value, int | float) else None, drifted=True)


def _percentiles(values: Sequence[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    p50, p95 = np.percentile(np.asarray(values, dtype=float), [50, 95])
    return float(p50), float(p95)


def _hour(at: datetime) -> str:
    return at.replace(minute=0, second=0, microsecond=0).isoformat()


def _traffic(inferences: Sequence[Inference]) -> list[dict[str, Any]]:
    latencies: dict[str, list[float]] = defaultdict(list)
    for inference in inferences:
        latencies[_hour(inference.created_at)].append(inference.latency_ms)
    rows = []
    for hour in sorted(latencies):
        p50, p95 = _percentiles(latencies[hour])
        rows.append({"hour": hour, "requests": len(latencies[hour]), "latency_p50_ms": p50, "latency_p95_ms": p95})
    return rows


def _feedback(feedback: Sequence[Feedback]) -> dict[str, Any]:
    positive = sum(f.rating == "positive" for f in feedback)
    negative = sum(f.rating == "negative" for f in feedback)
    rated = positive + negative
    scores = [f.score for f in feedback if f.score is not None]
    categories = Counter(c for f in feedback for c in f.categories)
    commented = sorted((f for f in feedback if f.comment), key=lambda f: (f.created_at is not None, f.created_at),
                       reverse=True)
    return {"total": len(feedback), "positive": positive, "negative": negative,
            "positive_rate": positive / rated if rated else None,
            "mean_score": float(np.mean(scores)) if scores else None, "scored": len(scores),
            "corrections": sum(bool(f.correction) for f in feedback),
            "categories": dict(categories.most_common()),
            "comments": [{"feedback_id": f.feedback_id, "inference_id": f.inference_id, "rating": f.rating,
                          "score": f.score, "comment": f.comment, "user": f.user,
                          "created_at": f.created_at.isoformat() if f.created_at else ""}
                         for f in commented[:MAX_COMMENTS]]}


def _alert(alert: Alert) -> dict[str, Any]:
    c = alert.candidate
    return {"alert_id": alert.alert_id, "status": str(alert.status), "severity": str(c.severity), "kind": c.kind,
            "detector": c.detector, "message": c.message, "statistic": c.statistic, "value": c.value,
            "threshold": c.threshold, "subject_kind": c.subject_kind, "subject": c.subject,
            "occurrences": alert.occurrences, "raised_at": alert.raised_at.isoformat() if alert.raised_at else "",
            "window_start": c.window_start.isoformat(), "window_end": c.window_end.isoformat()}


def build_summary(inferences: Sequence[Inference], feedback: Sequence[Feedback], alerts: Sequence[Alert],
                  drift_points: Sequence[DriftPoint | Alert], *, model_version: str = "") -> dict[str, Any]:
    """The report's data for ``model_version`` (default: the inferences' most common version). Drift
    points are detector results, or drift alerts when only those were kept (``DriftPoint.from_alert``)."""
    points = [DriftPoint.from_alert(p) if isinstance(p, Alert) else p for p in drift_points]
    if not model_version and inferences:
        model_version = Counter(i.model_version for i in inferences).most_common(1)[0][0]
    latency_p50, latency_p95 = _percentiles([i.latency_ms for i in inferences])
    ttft_p50, _ = _percentiles([i.ttft_ms for i in inferences if i.ttft_ms > 0])
    times = [i.created_at for i in inferences]
    return {
        "model_version": model_version,
        "window_start": min(times).isoformat() if times else "",
        "window_end": max(times).isoformat() if times else "",
        "totals": {"requests": len(inferences), "prompt_tokens": sum(i.prompt_tokens for i in inferences),
                   "completion_tokens": sum(i.completion_tokens for i in inferences),
                   "latency_p50_ms": latency_p50, "latency_p95_ms": latency_p95, "ttft_p50_ms": ttft_p50},
        "traffic": _traffic(inferences),
        "drift": [{"at": p.at.isoformat(), "method": p.method, "statistic": p.statistic, "threshold": p.threshold,
                   "p_value": p.p_value, "drifted": p.drifted} for p in sorted(points, key=lambda p: p.at)],
        "alerts": [_alert(a) for a in sorted(alerts, key=lambda a: a.candidate.window_end, reverse=True)],
        "feedback": _feedback(feedback),
    }
