"""Between the protobuf messages and the domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmops.monitoring.v1 import monitoring_pb2 as pb
from llmops_common import proto_convert
from llmops_monitoring.domain.records import Alert, AlertStatus, BlockEntry, Feedback, Inference

RATINGS = {pb.RATING_POSITIVE: "positive", pb.RATING_NEGATIVE: "negative"}
RATING_PB = {v: k for k, v in RATINGS.items()}
KINDS = {pb.ALERT_KIND_DRIFT: "drift", pb.ALERT_KIND_ABUSE: "abuse", pb.ALERT_KIND_QUALITY: "quality",
         pb.ALERT_KIND_LATENCY: "latency", pb.ALERT_KIND_ERROR_RATE: "error_rate"}
KIND_PB = {v: k for k, v in KINDS.items()}
SEVERITIES = {pb.SEVERITY_INFO: "info", pb.SEVERITY_WARNING: "warning", pb.SEVERITY_CRITICAL: "critical"}
SEVERITY_PB = {v: k for k, v in SEVERITIES.items()}
STATUSES = {pb.ALERT_STATUS_OPEN: AlertStatus.OPEN, pb.ALERT_STATUS_ACKNOWLEDGED: AlertStatus.ACKNOWLEDGED,
            pb.ALERT_STATUS_RESOLVED: AlertStatus.RESOLVED}
STATUS_PB = {v: k for k, v in STATUSES.items()}


def _stamp(message: Any, name: str, value: datetime | None) -> None:
    stamp = proto_convert.timestamp(value)
    if stamp is not None:
        getattr(message, name).CopyFrom(stamp)


def feedback_from_pb(request: pb.SendFeedbackRequest) -> Feedback:
    return Feedback(feedback_id="", inference_id=request.inference_id,
                    rating=RATINGS.get(request.rating, "" if request.rating == 0 else "?"),
                    score=request.score if request.HasField("score") else None,
                    categories=tuple(request.categories), comment=request.comment, correction=request.correction,
                    user=request.user, tags=dict(request.tags), request_id=request.request_id)


def feedback(value: Feedback) -> pb.Feedback:
    message = pb.Feedback(feedback_id=value.feedback_id, inference_id=value.inference_id,
                          rating=RATING_PB.get(value.rating, pb.RATING_UNSPECIFIED), comment=value.comment,
                          correction=value.correction, categories=list(value.categories), user=value.user,
                          tags=value.tags)
    if value.score is not None:
        message.score = value.score
    _stamp(message, "created_at", value.created_at)
    return message


def alert(value: Alert) -> pb.Alert:
    c = value.candidate
    message = pb.Alert(
        alert_id=value.alert_id, detector=c.detector, kind=KIND_PB.get(c.kind, pb.ALERT_KIND_UNSPECIFIED),
        severity=SEVERITY_PB.get(c.severity.value, pb.SEVERITY_UNSPECIFIED), status=STATUS_PB[value.status],
        model_version=c.model_version, message=c.message, values={c.statistic: c.value},
        thresholds={c.statistic: c.threshold}, details=proto_convert.struct(dict(c.details)),
        subject_kind=c.subject_kind, subject=c.subject, examples=list(c.examples),
        acknowledged_by=value.acknowledged_by, occurrences=value.occurrences)
    for name in ("raised_at", "resolved_at", "acknowledged_at"):
        _stamp(message, name, getattr(value, name))
    _stamp(message, "window_start", c.window_start)
    _stamp(message, "window_end", c.window_end)
    return message


def inference(value: Inference) -> pb.InferenceRecord:
    message = pb.InferenceRecord(
        inference_id=value.inference_id, model_version=value.model_version, release=value.release,
        key_id=value.key_id, user=value.user, session=value.session, prompt=value.prompt, output=value.output,
        prompt_tokens=value.prompt_tokens, completion_tokens=value.completion_tokens, latency_ms=value.latency_ms,
        ttft_ms=value.ttft_ms, finish_reason=value.finish_reason, scores=value.scores)
    _stamp(message, "created_at", value.created_at)
    return message


def block(value: BlockEntry) -> pb.BlockEntry:
    message = pb.BlockEntry(subject_kind=value.subject_kind, subject=value.subject, alert_id=value.alert_id,
                            reason=value.reason)
    _stamp(message, "created_at", value.created_at)
    return message
