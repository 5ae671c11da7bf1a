"""The model report: the summary's figures, and a page where hostile strings render inert."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_monitoring.domain.records import Alert, AlertCandidate, AlertStatus, Feedback, Inference, Severity
from llmops_monitoring.report import DriftPoint, build_summary, render_model_report

T0 = datetime(2026, 11, 30, 10, tzinfo=UTC)
PAYLOAD = '</pre></td><script>alert(1)</script><img src=x onerror="alert(2)">'


def _inferences() -> list[Inference]:
    rows = [Inference(inference_id=f"a{n}", model_version="models:/m/2", created_at=T0 + timedelta(minutes=n),
                      latency_ms=float(n + 1), ttft_ms=5.0, prompt_tokens=3, completion_tokens=7) for n in range(40)]
    rows += [Inference(inference_id=f"b{n}", model_version="models:/m/2", created_at=T0 + timedelta(hours=1, minutes=n),
                       latency_ms=100.0) for n in range(10)]
    return rows


def _feedback() -> list[Feedback]:
    return [Feedback(feedback_id="f1", inference_id="a1", rating="positive", categories=("helpful",)),
            Feedback(feedback_id="f2", inference_id="a2", rating="negative", score=1, comment=PAYLOAD,
                     categories=("wrong", "helpful"), created_at=T0 + timedelta(minutes=5)),
            Feedback(feedback_id="f3", inference_id="a3", rating="positive", score=4, correction="better",
                     comment="older", created_at=T0)]


def _alerts() -> list[Alert]:
    candidate = AlertCandidate(detector="embedding_drift.mmd", kind="drift", severity=Severity.WARNING,
                               message=PAYLOAD, statistic="mmd2", value=0.12, threshold=0.05, window_start=T0,
                               window_end=T0 + timedelta(hours=1), model_version="models:/m/2")
    return [Alert(alert_id="al1", candidate=candidate, status=AlertStatus.ACKNOWLEDGED, occurrences=3, raised_at=T0)]


def _drift() -> list[DriftPoint]:
    return [DriftPoint(at=T0 + timedelta(hours=1), method="mmd", statistic=0.12, threshold=0.05, p_value=0.001,
                       drifted=True),
            DriftPoint(at=T0, method="mmd", statistic=0.01, threshold=0.05, p_value=0.6),
            DriftPoint(at=T0, method="domain_classifier", statistic=0.51, threshold=0.6, p_value=0.4)]


def test_the_summary_has_traffic_and_latency_per_hour_feedback_rates_drift_and_alerts() -> None:
    summary = build_summary(_inferences(), _feedback(), _alerts(), _drift())
    assert summary["model_version"] == "models:/m/2"
    assert [(t["hour"], t["requests"]) for t in summary["traffic"]] == [
        (T0.isoformat(), 40), ((T0 + timedelta(hours=1)).isoformat(), 10)]
    assert summary["traffic"][0]["latency_p50_ms"] == 20.5 and summary["traffic"][1]["latency_p95_ms"] == 100.0
    totals = summary["totals"]
    assert (totals["requests"], totals["prompt_tokens"], totals["completion_tokens"], totals["ttft_p50_ms"]) == (
        50, 120, 280, 5.0)
    feedback = summary["feedback"]
    assert (feedback["total"], feedback["positive"], feedback["negative"], feedback["corrections"]) == (3, 2, 1, 1)
    assert feedback["positive_rate"] == 2 / 3 and feedback["mean_score"] == 2.5
    assert feedback["categories"] == {"helpful": 2, "wrong": 1}
    assert [c["feedback_id"] for c in feedback["comments"]] == ["f2", "f3"]  # newest first, commented only
    assert [(p["at"], p["method"]) for p in summary["drift"]][0] == (T0.isoformat(), "mmd")
    assert summary["alerts"][0]["status"] == "acknowledged" and summary["alerts"][0]["occurrences"] == 3
    json.dumps(summary)  # JSON-ready


def test_drift_alerts_stand_in_for_drift_points() -> None:
    (alert,) = _alerts()
    alert.candidate.details["p_value"] = 0.002
    summary = build_summary([], [], [alert], [alert])
    assert summary["drift"] == [{"at": (T0 + timedelta(hours=1)).isoformat(), "method": "embedding_drift.mmd",
                                 "statistic": 0.12, "threshold": 0.05, "p_value": 0.002, "drifted": True}]


def test_the_page_escapes_comments_and_messages_and_runs_no_script() -> None:
    page = render_model_report(build_summary(_inferences(), _feedback(), _alerts(), _drift()))
    assert "<script" not in page and "onerror=\"" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and page.count("&lt;/pre&gt;") == 2  # comment, alert
    assert "default-src 'none'" in page and "script-src" not in page
    images = re.findall(r'<img alt="([^"]+)" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)
    assert [alt for alt, _ in images] == ["Requests per hour", "Latency p50 and p95 per hour",
                                          "Drift statistics over time"]
    for _, data in images:
        svg = base64.b64decode(data).decode("utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<script" not in svg
    for text in ("models:/m/2", "embedding_drift.mmd", "domain_classifier", "66.7%", "acknowledged", "older"):
        assert text in page


def test_an_empty_summary_renders_without_plots() -> None:
    page = render_model_report(build_summary([], [], [], []))
    assert "No alerts." in page and "No drift checks" in page and "<img" not in page and "n/a" in page


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                     lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children,
                                                                                        max_size=4), max_leaves=20)
_keys = st.sampled_from(["model_version", "totals", "traffic", "drift", "alerts", "feedback", "window_start"])


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, _json, max_size=7))
def test_any_mistyped_summary_renders_instead_of_failing(summary: dict) -> None:
    assert render_model_report(summary).startswith("<!DOCTYPE html>")
