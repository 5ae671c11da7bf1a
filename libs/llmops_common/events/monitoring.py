"""Events owned by the monitoring context."""

from __future__ import annotations

from llmops_common.events.envelope import EventPayload


class FeedbackReceived(EventPayload, event_type="llmops.monitoring.feedback.received"):
    request_id: str
    score: float
    comment: str | None = None


class AlertRaised(EventPayload, event_type="llmops.monitoring.alert.raised"):
    detector: str
    severity: str
    message: str
