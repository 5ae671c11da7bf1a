"""An in-memory fake of the monitoring unit of work, for unit tests (production code never imports it).
Staged tables are shallow copies, so stored records are replaced, never changed in place."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.errors import AlreadyExists, FailedPrecondition
from llmops_common.events import Envelope
from llmops_common.pagination import Page
from llmops_common.unit_of_work import InMemoryUnitOfWork as InMemoryTransaction
from llmops_common.validation import canonical_id
from llmops_monitoring.domain.records import Alert, AlertCandidate, AlertStatus, BlockEntry, Feedback, Inference
from llmops_monitoring.store import AlertQuery, FeedbackQuery, FeedbackRow, InferenceQuery, MonitoringUnitOfWork
from llmops_monitoring.store.codec import details_stored, severities_at_least


class InMemoryMonitoring:
    """The committed state the fake units of work share."""

    def __init__(self) -> None:
        self.inferences: dict[str, Inference] = {}
        self.feedback: dict[str, Feedback] = {}
        self.alerts: dict[str, Alert] = {}
        self.block_list: dict[tuple[str, str], BlockEntry] = {}
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.audit: list[AuditEntry] = []
        self.outbox: list[Envelope[Any]] = []

    def unit_of_work(self, *, readonly: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _newest_first(rows: list[Inference]) -> list[Inference]:
    return sorted(rows, key=lambda i: (i.created_at, i.inference_id), reverse=True)


class InMemoryUnitOfWork(InMemoryTransaction, MonitoringUnitOfWork):
    """Stages changes on copies and publishes them to the shared state only on commit."""

    tables = ("inferences", "feedback", "alerts", "block_list", "inbox")

    # the inference log

    async def add_inferences(self, inferences: list[Inference]) -> int:
        added = 0
        for inference in inferences:
            if inference.inference_id not in self.inferences:
                self.inferences[inference.inference_id] = copy.deepcopy(inference)
                added += 1
        return added

    async def get_inference(self, inference_id: str) -> Inference | None:
        return copy.deepcopy(self.inferences.get(inference_id))

    async def list_inferences(self, query: InferenceQuery, page: Page) -> list[Inference]:
        def matches(i: Inference) -> bool:
            return (all(not want or got == want for got, want in (
                (i.model_version, query.model_version), (i.release, query.release), (i.key_id, query.key_id),
                (i.user, query.user), (i.session, query.session)))
                and (query.created_after is None or i.created_at >= query.created_after)
                and (query.created_before is None or i.created_at < query.created_before)
                and (query.min_injection_score <= 0 or i.scores.get("injection", -1.0) >= query.min_injection_score)
                and (not page.after or (i.created_at, i.inference_id) < tuple(page.after)))
        rows = _newest_first([i for i in self.inferences.values() if matches(i)])
        return copy.deepcopy(rows[: page.size])

    async def window(self, start: datetime, end: datetime, *, model_version: str = "",
                     limit: int = 10_000) -> list[Inference]:
        rows = _newest_first([i for i in self.inferences.values() if start <= i.created_at < end
                              and (not model_version or i.model_version == model_version)])
        return copy.deepcopy(rows[:limit][::-1])

    async def model_versions_since(self, since: datetime) -> list[str]:
        return sorted({i.model_version for i in self.inferences.values() if i.created_at >= since})

    async def drop_days_before(self, day: date) -> int:
        old = {d for d in map(_day, (i.created_at for i in self.inferences.values())) if d < day}
        self.inferences = {k: i for k, i in self.inferences.items() if _day(i.created_at) not in old}
        return len(old)

    # feedback

    async def add_feedback(self, feedback: Feedback) -> Feedback:
        if feedback.request_id and await self.find_feedback_by_request(feedback.request_id):
            raise AlreadyExists("feedback with this request_id exists", field="request_id")
        if feedback.feedback_id in self.feedback:
            raise AlreadyExists("feedback with this id exists", field="feedback_id")
        self.feedback[feedback.feedback_id] = replace(copy.deepcopy(feedback), created_at=datetime.now(UTC))
        return copy.deepcopy(self.feedback[feedback.feedback_id])

    async def find_feedback_by_request(self, request_id: str) -> Feedback | None:
        return next((copy.deepcopy(f) for f in self.feedback.values() if request_id and f.request_id == request_id),
                    None)

    async def feedback_rows(self, query: FeedbackQuery, limit: int) -> list[FeedbackRow]:
        def matches(f: Feedback) -> bool:
            return ((not query.model_version or f.model_version == query.model_version)
                    and (query.created_after is None or f.created_at >= query.created_after)
                    and (query.created_before is None or f.created_at < query.created_before)
                    and (not query.rating or f.rating == query.rating)
                    and (query.min_score is None or (f.score is not None and f.score >= query.min_score))
                    and (not query.corrections_only or f.correction != "")
                    and f.inference_id in self.inferences)
        rows = sorted((f for f in self.feedback.values() if matches(f)), key=lambda f: (f.created_at, f.feedback_id))
        return [FeedbackRow(copy.deepcopy(f), copy.deepcopy(self.inferences[f.inference_id])) for f in rows[:limit]]

    # alerts

    async def raise_alert(self, alert_id: str, candidate: AlertCandidate, now: datetime) -> tuple[Alert, bool]:
        open_ = next((a for a in self.alerts.values()
                      if a.status is not AlertStatus.RESOLVED and a.candidate.dedup_key == candidate.dedup_key), None)
        if open_ is not None:
            self.alerts[open_.alert_id] = replace(open_, occurrences=open_.occurrences + 1)
            return copy.deepcopy(self.alerts[open_.alert_id]), False
        stored = replace(copy.deepcopy(candidate), examples=tuple(candidate.examples),
                         details=details_stored(candidate.details))
        key = canonical_id(alert_id) or alert_id
        self.alerts[key] = Alert(key, stored, raised_at=now)
        return copy.deepcopy(self.alerts[key]), True

    async def get_alert(self, alert_id: str, *, lock: bool = False) -> Alert | None:
        return copy.deepcopy(self.alerts.get(canonical_id(alert_id) or ""))

    async def save_alert(self, alert: Alert) -> None:
        stored = self.alerts.get(alert.alert_id)
        if stored is None:
            return  # like an UPDATE that matches no row
        if AlertStatus(alert.status) is not AlertStatus.RESOLVED and any(
                a.alert_id != alert.alert_id and a.status is not AlertStatus.RESOLVED
                and a.candidate.dedup_key == stored.candidate.dedup_key for a in self.alerts.values()):
            raise FailedPrecondition("another alert with this dedup key is unresolved", field="status")
        self.alerts[alert.alert_id] = replace(
            stored, status=AlertStatus(alert.status), occurrences=alert.occurrences,
            acknowledged_at=alert.acknowledged_at, acknowledged_by=alert.acknowledged_by,
            resolved_at=alert.resolved_at, resolved_by=alert.resolved_by)

    async def list_alerts(self, query: AlertQuery, page: Page) -> list[Alert]:
        severities = severities_at_least(query.min_severity) if query.min_severity else None

        def matches(a: Alert) -> bool:
            c = a.candidate
            return ((not query.statuses or a.status in query.statuses)
                    and (severities is None or c.severity in severities)
                    and (not query.kind or c.kind == query.kind)
                    and (not query.model_version or c.model_version == query.model_version)
                    and (query.raised_after is None or a.raised_at >= query.raised_after)
                    and (query.raised_before is None or a.raised_at < query.raised_before)
                    and (not page.after or (a.raised_at, a.alert_id) < (page.after[0], str(page.after[1]))))
        rows = sorted((a for a in self.alerts.values() if matches(a)), key=lambda a: (a.raised_at, a.alert_id),
                      reverse=True)
        return copy.deepcopy(rows[: page.size])

    # the block list

    async def add_block(self, entry: BlockEntry) -> None:
        key = (entry.subject_kind, entry.subject)
        if key not in self.block_list:
            self.block_list[key] = replace(entry, created_at=datetime.now(UTC))

    async def remove_blocks(self, alert_id: str) -> int:
        ended = [k for k, b in self.block_list.items() if b.alert_id == alert_id]
        for key in ended:
            del self.block_list[key]
        return len(ended)

    async def blocks(self) -> list[BlockEntry]:
        return [self.block_list[k] for k in sorted(self.block_list)]
