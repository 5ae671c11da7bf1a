"""Events owned by the monitoring context."""

from __future__ import annotations

from llmops_common.events.envelope import EventPayload


class FeedbackReceived(EventPayload, event_type="llmops.monitoring.feedback.received"):
    request_id: str  # the inference the feedback is about (serving's request id)
    score: float  # the 1-5 score; a thumbs rating as 5 (up) or 1 (down); 0 when neither
    comment: str | None = None
    feedback_id: str = ""
    rating: str = ""  # "positive", "negative" or ""
    categories: list[str] = []
    has_correction: bool = False
    model_version: str = ""
    user: str = ""


class AlertRaised(EventPayload, event_type="llmops.monitoring.alert.raised"):
    detector: str
    severity: str  # info | warning | critical
    message: str
    alert_id: str = ""
    kind: str = ""  # drift | abuse | quality | latency | error_rate
    model_version: str = ""
    subject_kind: str = ""  # key | user | session, for malicious-user alerts
    subject: str = ""
    statistic: str = ""
    value: float = 0.0
    threshold: float = 0.0
    window_start: str = ""  # ISO 8601
    window_end: str = ""
    examples: list[str] = []  # inference ids


class AlertResolved(EventPayload, event_type="llmops.monitoring.alert.resolved"):
    alert_id: str
    detector: str
    resolved_by: str = ""
    note: str = ""
