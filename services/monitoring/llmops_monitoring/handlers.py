"""The monitoring service's use cases: log inferences, take feedback, list and act on alerts, the block
list, and curated feedback exported into ingestion. Transports translate into these; ``detection``
runs the detectors."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.auth import Principal
from llmops_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from llmops_common.events import Envelope
from llmops_common.events.ingestion import DatasetRequested
from llmops_common.events.monitoring import AlertResolved, FeedbackReceived
from llmops_common.pagination import Page
from llmops_common.ratelimit import RateLimiter
from llmops_common.storage import ArtifactStore
from llmops_common.validation import check_request_id, check_text, parse_uuid, quote
from llmops_monitoring.curation import curate
from llmops_monitoring.detectors.injection import match_pattern
from llmops_monitoring.domain.records import Alert, AlertStatus, BlockEntry, Feedback
from llmops_monitoring.inference_log import inference_from_event, injection_scores, user_text
from llmops_monitoring.store import AlertQuery, FeedbackQuery, InferenceQuery, UnitOfWorkFactory

INFERENCE_CONSUMER = "monitoring-inference-log"
RATINGS = ("", "positive", "negative")
MAX_CATEGORIES, MAX_TAGS = 10, 20
NAME_CHARS = 64
MAX_COMMENT, MAX_CORRECTION, MAX_USER = 10_000, 100_000, 200
MAX_EXPORT = 100_000
DATASET_NAME_FIELD = "dataset_name"


# -- the inference log ---------------------------------------------------------------------------------

async def record_inference(uow: UnitOfWorkFactory, detector: Any | None, envelope: Envelope[Any]) -> bool:
    """Log one ``serving.inference.completed`` once (inbox), with its injection scores (``detector``'s,
    or the patterns' alone without one)."""
    payload = envelope.payload
    text = user_text(payload.prompt)
    if detector is not None:
        [score] = await asyncio.to_thread(detector.score, [text])
        scores = injection_scores(score)
    else:  # embeddings off: the patterns alone
        matched = 1.0 if match_pattern(text) else 0.0
        scores = {"injection": matched, "injection_pattern": matched}
    inference = inference_from_event(payload, scores)
    async with uow() as tx:
        if not await tx.claim_event(INFERENCE_CONSUMER, envelope.event_id):
            return False
        await tx.add_inferences([inference])
        await tx.commit()
    return True


async def list_inferences(uow: UnitOfWorkFactory, query: InferenceQuery, page: Page) -> tuple[list, tuple | None]:
    for name in ("model_version", "release", "key_id", "user", "session"):
        check_text(getattr(query, name), name, max_len=1024)
    if not (math.isfinite(query.min_injection_score) and 0 <= query.min_injection_score <= 1):
        raise InvalidArgument("must be a number in [0, 1]", field="min_injection_score")
    async with uow(readonly=True) as tx:
        rows = await tx.list_inferences(query, page)
    return rows, page.next_key(rows, lambda r: (r.created_at, r.inference_id))


# -- feedback ------------------------------------------------------------------------------------------

def check_feedback(feedback: Feedback) -> Feedback:
    """Every field bounded and typed; a score is 1..5, a rating positive, negative or none."""
    check_text(feedback.inference_id, "inference_id", max_len=200)
    if not feedback.inference_id:
        raise InvalidArgument("name the inference the feedback is about", field="inference_id")
    if feedback.rating not in RATINGS:
        raise InvalidArgument("rating is positive, negative or unset", field="rating")
    if feedback.score is not None and not (math.isfinite(feedback.score) and 1 <= feedback.score <= 5):
        raise InvalidArgument(f"score must be a number from 1 to 5, not {quote(feedback.score)}", field="score")
    if not feedback.rating and feedback.score is None and not feedback.correction and not feedback.comment \
            and not feedback.categories:
        raise InvalidArgument("feedback needs a rating, a score, a comment, a category or a correction",
                              field="rating")
    if len(feedback.categories) > MAX_CATEGORIES:
        raise InvalidArgument(f"at most {MAX_CATEGORIES} categories", field="categories")
    for index, category in enumerate(feedback.categories):
        check_text(category, f"categories[{index}]", max_len=NAME_CHARS)
        if not category.strip():
            raise InvalidArgument("a category cannot be empty", field=f"categories[{index}]")
    check_text(feedback.comment, "comment", max_len=MAX_COMMENT)
    check_text(feedback.correction, "correction", max_len=MAX_CORRECTION)
    check_text(feedback.user, "user", max_len=MAX_USER)
    if len(feedback.tags) > MAX_TAGS:
        raise InvalidArgument(f"at most {MAX_TAGS} tags", field="tags")
    for key, value in feedback.tags.items():
        check_text(key, "tags", max_len=NAME_CHARS)
        check_text(value, f"tags.{key[:NAME_CHARS]}", max_len=1000)
    if feedback.request_id:
        check_request_id(feedback.request_id)
    return feedback


def _score_of(feedback: Feedback) -> float:
    if feedback.score is not None:
        return feedback.score
    return {"positive": 5.0, "negative": 1.0}.get(feedback.rating, 0.0)


async def send_feedback(uow: UnitOfWorkFactory, limiter: RateLimiter, feedback: Feedback, *,
                        actor: Principal, correlation_id: str | None = None) -> Feedback:
    """Store feedback on a logged inference and emit ``feedback.received``; the same ``request_id``
    returns what it stored. An unknown inference is NOT_FOUND; a flood from one key is rate limited."""
    check_feedback(feedback)
    limiter.admit(actor.key_id)
    async with uow() as tx:
        if feedback.request_id:
            found = await tx.find_feedback_by_request(feedback.request_id)
            if found is not None:
                return found
        inference = await tx.get_inference(feedback.inference_id)
        if inference is None:
            raise NotFound(f"inference {quote(feedback.inference_id)} is not in the log", field="inference_id")
        stored_input = replace(feedback, feedback_id=str(uuid.uuid4()), given_by=actor.name,
                               model_version=inference.model_version)
        try:
            stored = await tx.add_feedback(stored_input)
        except AlreadyExists:
            await tx.rollback()
            async with uow(readonly=True) as again:
                found = await again.find_feedback_by_request(feedback.request_id)
            if found is None:
                raise
            return found
        tx.record(AuditEntry(actor.name, "feedback.received", stored.feedback_id, correlation_id=correlation_id,
                             detail={"inference_id": stored.inference_id}),
                  FeedbackReceived(request_id=stored.inference_id, score=_score_of(stored),
                                   comment=stored.comment or None, feedback_id=stored.feedback_id,
                                   rating=stored.rating, categories=list(stored.categories),
                                   has_correction=bool(stored.correction), model_version=stored.model_version,
                                   user=stored.user))
        await tx.commit()
    return stored


# -- alerts and the block list -------------------------------------------------------------------------

async def list_alerts(uow: UnitOfWorkFactory, query: AlertQuery, page: Page) -> tuple[list[Alert], tuple | None]:
    check_text(query.model_version, "model_version", max_len=1024)
    check_text(query.kind, "kind", max_len=64)
    async with uow(readonly=True) as tx:
        rows = await tx.list_alerts(query, page)
    return rows, page.next_key(rows, lambda a: (a.raised_at, uuid.UUID(a.alert_id)))


async def act_on_alert(uow: UnitOfWorkFactory, alert_id: str, action: str, note: str, *,
                       actor: Principal) -> Alert:
    """``ack`` an open alert, or ``resolve`` one (its blocks end, ``alert.resolved`` is emitted). Acting
    twice is a no-op; acknowledging a resolved alert is FAILED_PRECONDITION."""
    key = parse_uuid(alert_id, "alert_id", "alert")
    check_text(note, "note", max_len=2000)
    now = datetime.now(UTC)
    async with uow() as tx:
        alert = await tx.get_alert(key, lock=True)
        if alert is None:
            raise NotFound(f"alert {quote(alert_id)} not found", field="alert_id")
        if action == "ack":
            if alert.status is AlertStatus.RESOLVED:
                raise FailedPrecondition("the alert is resolved already", field="alert_id")
            if alert.status is AlertStatus.OPEN:
                alert.status, alert.acknowledged_at, alert.acknowledged_by = AlertStatus.ACKNOWLEDGED, now, actor.name
                tx.audits.append(AuditEntry(actor.name, "alert.acknowledged", key, reason=note))
        elif alert.status is not AlertStatus.RESOLVED:
            alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.RESOLVED, now, actor.name
            await tx.remove_blocks(key)
            tx.record(AuditEntry(actor.name, "alert.resolved", key, reason=note),
                      AlertResolved(alert_id=key, detector=alert.candidate.detector, resolved_by=actor.name, note=note))
        await tx.save_alert(alert)
        await tx.commit()
    return alert


async def blocklist(uow: UnitOfWorkFactory) -> list[BlockEntry]:
    async with uow(readonly=True) as tx:
        return await tx.blocks()


# -- curated feedback into ingestion -------------------------------------------------------------------

@dataclass(frozen=True)
class ExportRequest:
    dataset_name: str
    query: FeedbackQuery
    max_records: int = 0
    request_ingestion: bool = True
    request_id: str = ""


@dataclass(frozen=True)
class Exported:
    export_id: str
    uri: str
    record_count: int
    skipped: dict[str, int]
    ingestion_event_id: str


async def export_feedback(uow: UnitOfWorkFactory, artifacts: ArtifactStore, publish: Callable[..., Any],
                          training_hashes: Callable[[str], Any], bucket: str, prefix: str, request: ExportRequest,
                          *, actor: Principal, correlation_id: str | None = None) -> Exported:
    """Curate feedback (corrections, well-rated outputs; deduplicated within the batch and against the
    model version's training data) into instruction/response records, write them and a lineage manifest
    (feedback ids, inference ids, model versions) to S3, and request their ingestion
    (``ingestion.dataset.requested``; ingestion redacts PII and versions the data). The same
    ``request_id`` writes the same files and the same event id (JetStream drops the repeat)."""
    check_text(request.dataset_name, DATASET_NAME_FIELD, max_len=128)
    if not request.dataset_name:
        raise InvalidArgument("name the dataset to create", field=DATASET_NAME_FIELD)
    if not 0 <= request.max_records <= MAX_EXPORT:
        raise InvalidArgument(f"max_records must be 0..{MAX_EXPORT:,}", field="max_records")
    if request.request_id:
        check_request_id(request.request_id)
    check_text(request.query.model_version, "model_version", max_len=1024)
    if request.query.min_score is not None and not (math.isfinite(request.query.min_score)
                                                    and 1 <= request.query.min_score <= 5):
        raise InvalidArgument("min_score must be a number from 1 to 5", field="min_score")
    export_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"monitoring-export:{request.request_id}")) \
        if request.request_id else str(uuid.uuid4())
    async with uow(readonly=True) as tx:
        rows = await tx.feedback_rows(request.query, request.max_records or MAX_EXPORT)
    known: set[str] = set()
    for version in sorted({row.inference.model_version for row in rows}):
        known |= set(await training_hashes(version))
    curated = curate(rows, known_hashes=known)
    if not curated.records:
        raise FailedPrecondition(f"no feedback to export: {json.dumps(curated.skipped)}", field="model_version")
    folder = f"s3://{bucket}/{prefix}/{export_id}"
    data = "".join(json.dumps({"instruction": r["instruction"], "output": r["output"]}, ensure_ascii=False) + "\n"
                   for r in curated.records).encode()
    lineage = {"export_id": export_id, "dataset_name": request.dataset_name, "created_by": actor.name,
               "records": [{k: r[k] for k in ("feedback_id", "inference_id", "model_version")}
                           for r in curated.records], "skipped": curated.skipped}
    await asyncio.to_thread(artifacts.put_bytes, f"{folder}/lineage.json", json.dumps(lineage).encode(),
                            content_type="application/json")
    uri = f"{folder}/feedback.jsonl"
    await asyncio.to_thread(artifacts.put_bytes, uri, data, content_type="application/jsonl")
    event_id = ""
    if request.request_ingestion:
        envelope = Envelope.wrap(DatasetRequested(dataset_name=request.dataset_name, source_uri=uri, format="jsonl",
                                                  config={"shape": "instruction"}),
                                 producer="monitoring", correlation_id=correlation_id or export_id,
                                 event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"monitoring-export-event:{export_id}"))
        await publish(envelope)
        event_id = str(envelope.event_id)
    return Exported(export_id, uri, len(curated.records), dict(curated.skipped), event_id)
