"""The HTML report of one model version: its inference log, feedback and alerts over the last days,
written to S3."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from llmops_common.errors import InvalidArgument, NotFound
from llmops_common.pagination import Page
from llmops_common.storage import ArtifactStore
from llmops_common.validation import quote
from llmops_monitoring.report.build import build_summary
from llmops_monitoring.report.html import render_model_report
from llmops_monitoring.settings import MonitoringSettings
from llmops_monitoring.store import AlertQuery, FeedbackQuery, UnitOfWorkFactory

MODEL_VERSION = re.compile(r"models:/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,254})/(?P<version>[1-9][0-9]{0,17})")
MAX_ROWS = 50_000


async def model_report(uow: UnitOfWorkFactory, artifacts: ArtifactStore, settings: MonitoringSettings,
                       model_version: str, days: int) -> tuple[str, dict]:
    match = MODEL_VERSION.fullmatch(model_version or "")
    if match is None:
        raise InvalidArgument(f"{quote(model_version)} is not models:/<name>/<version>", field="model_version")
    if not 1 <= days <= 366:
        raise InvalidArgument("days must be 1..366", field="days")
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    async with uow(readonly=True) as tx:
        inferences = await tx.window(since, now, model_version=model_version, limit=MAX_ROWS)
        feedback = await tx.feedback_rows(FeedbackQuery(model_version, since, now), MAX_ROWS)
        alerts = await tx.list_alerts(AlertQuery(model_version=model_version, raised_after=since),
                                      Page(size=1000, after=None))
    if not inferences and not feedback and not alerts:
        raise NotFound(f"nothing was logged for {quote(model_version)} in the last {days} days",
                       field="model_version")
    summary = build_summary(inferences, [r.feedback for r in feedback], alerts,
                            [a for a in alerts if a.candidate.kind == "drift"])
    summary |= {"model_version": model_version, "since": since.isoformat(), "until": now.isoformat()}
    html = render_model_report(summary)
    uri = (f"s3://{settings.s3_bucket_artifacts}/{settings.report_prefix}/{match['name']}/{match['version']}/"
           f"{now.strftime('%Y%m%dT%H%M%SZ')}.html")
    await asyncio.to_thread(artifacts.put_bytes, uri, html.encode(), content_type="text/html")
    return uri, summary
