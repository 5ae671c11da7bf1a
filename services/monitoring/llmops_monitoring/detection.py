"""The detectors' loop: every ``detect_interval_seconds``, over the last window of the inference log,
per model version: embedding drift of the prompts and simple drift (lengths, scripts, refusals,
latency) against the window before it, and the negative-feedback rate; across every model: malicious
API keys, users and sessions. A finding opens an alert (or counts again on the open one), emits
``monitoring.alert.raised`` with it, goes to the sinks, and for a malicious key or user with the block
list on, blocks it. Each pass also drops the log's days past retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from llmops_common.audit import AuditEntry
from llmops_common.events.monitoring import AlertRaised
from llmops_monitoring.abuse import malicious_subjects
from llmops_monitoring.detectors.drift import DriftResult, embedding_drift, simple_drift
from llmops_monitoring.detectors.quality import feedback_drift
from llmops_monitoring.domain.records import Alert, AlertCandidate, BlockEntry, Inference, Severity
from llmops_monitoring.settings import MonitoringSettings
from llmops_monitoring.store import FeedbackQuery, UnitOfWorkFactory

log = logging.getLogger(__name__)
MAX_WINDOW = 10_000
EXAMPLES = 5


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def drift_candidates(results: Sequence[DriftResult], detector: str, model_version: str, start: datetime,
                     end: datetime, examples: Sequence[str]) -> list[AlertCandidate]:
    return [AlertCandidate(
        detector=f"{detector}.{r.method}", kind="drift", severity=Severity.WARNING,
        message=f"{r.method} on {model_version}: statistic {r.statistic:.4g}, p={r.p_value:.3g} "
                f"(threshold {r.threshold:.3g})",
        statistic=r.method, value=float(r.statistic), threshold=float(r.threshold), window_start=start,
        window_end=end, model_version=model_version, examples=tuple(examples[:EXAMPLES]),
        details={"p_value": float(r.p_value)}) for r in results if r.drifted]


class Detection:
    def __init__(self, uow: UnitOfWorkFactory, settings: MonitoringSettings, embedder: Any | None,
                 sinks: Sequence[Any] = ()) -> None:
        self.uow, self.settings, self.embedder, self.sinks = uow, settings, embedder, list(sinks)
        self._dropped_before: date | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """A pass every ``detect_interval_seconds``, the first one interval after the start (the log's
        consumer catches up on what arrived while the service was down first)."""
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.detect_interval_seconds)
            if stop.is_set():
                return
            try:
                await self.detect_once(datetime.now(UTC))
            except Exception:
                log.exception("monitoring detection pass failed")

    async def detect_once(self, now: datetime) -> list[Alert]:
        s = self.settings
        window = timedelta(minutes=s.window_minutes)
        start, reference_start = now - window, now - window - timedelta(minutes=s.reference_window_minutes)
        await self._retention(now)
        async with self.uow(readonly=True) as tx:
            current_all = await tx.window(start, now, limit=MAX_WINDOW)
            versions = await tx.model_versions_since(start)
        candidates = malicious_subjects(current_all, injection_threshold=s.injection_threshold,
                                        min_attacks=s.min_attacks, share_threshold=s.attack_share,
                                        spike_factor=s.spike_factor, window_start=start, window_end=now)
        for version in versions:
            candidates += await self._drift(version, reference_start, start, now)
        raised = []
        for candidate in candidates:
            alert = await self._raise(candidate, now)
            if alert is not None:
                raised.append(alert)
        return raised

    async def _drift(self, version: str, reference_start: datetime, start: datetime,
                     now: datetime) -> list[AlertCandidate]:
        s = self.settings
        async with self.uow(readonly=True) as tx:
            reference = await tx.window(reference_start, start, model_version=version, limit=MAX_WINDOW)
            current = await tx.window(start, now, model_version=version, limit=MAX_WINDOW)
            before = await tx.feedback_rows(FeedbackQuery(version, reference_start, start), MAX_WINDOW)
            recent = await tx.feedback_rows(FeedbackQuery(version, start, now), MAX_WINDOW)
        found: list[AlertCandidate] = []
        if len(reference) >= s.min_window and len(current) >= s.min_window:
            examples = [i.inference_id for i in current]
            results = list(await asyncio.to_thread(simple_drift, reference, current))
            if self.embedder is not None:
                results += await asyncio.to_thread(self._embedding_drift, reference, current)
            found += drift_candidates(results, "drift", version, start, now, examples)
        result = feedback_drift(_not_negative(before), _not_negative(recent))
        if result is not None:
            found += [replace(c, kind="quality") for c in drift_candidates(
                [result], "feedback", version, start, now,
                [r.inference.inference_id for r in recent if _negative(r.feedback)])]
        return found

    def _embedding_drift(self, reference: list[Inference], current: list[Inference]) -> list[DriftResult]:
        ref = np.asarray(self.embedder.encode([i.prompt for i in reference]))
        cur = np.asarray(self.embedder.encode([i.prompt for i in current]))
        return embedding_drift(ref, cur)

    async def _raise(self, candidate: AlertCandidate, now: datetime) -> Alert | None:
        """Open (or count again) the alert; a new one is emitted, blocked on and sent to the sinks."""
        async with self.uow() as tx:
            alert, created = await tx.raise_alert(str(uuid.uuid4()), candidate, now)
            if created:
                c = alert.candidate
                tx.record(AuditEntry("monitoring", "alert.raised", alert.alert_id, reason=c.message),
                          AlertRaised(detector=c.detector, severity=c.severity.value, message=c.message,
                                      alert_id=alert.alert_id, kind=c.kind, model_version=c.model_version,
                                      subject_kind=c.subject_kind, subject=c.subject, statistic=c.statistic,
                                      value=c.value, threshold=c.threshold, window_start=_iso(c.window_start),
                                      window_end=_iso(c.window_end), examples=list(c.examples)))
                # only an injection campaign (critical) blocks: a spike or a few refusals alert a person,
                # they do not lock out a heavy but honest user
                if self.settings.enforce_blocklist and c.kind == "abuse" and c.severity is Severity.CRITICAL \
                        and c.subject_kind in ("key", "user"):
                    await tx.add_block(BlockEntry(c.subject_kind, c.subject, alert.alert_id, c.message, now))
            await tx.commit()
        if not created:
            return None
        for sink in self.sinks:
            await sink.send(alert)
        return alert

    async def _retention(self, now: datetime) -> None:
        keep_from = (now - timedelta(days=self.settings.retention_days)).date()
        if self._dropped_before == keep_from:
            return
        async with self.uow() as tx:
            dropped = await tx.drop_days_before(keep_from)
            await tx.commit()
        if dropped:
            log.info("dropped %d days of the inference log (retention %d days)", dropped, self.settings.retention_days)
        self._dropped_before = keep_from


def _negative(feedback: Any) -> bool:
    return feedback.rating == "negative" or (feedback.score is not None and feedback.score <= 2)


def _not_negative(rows: Sequence[Any]) -> tuple[int, int]:
    return sum(not _negative(r.feedback) for r in rows), len(rows)
