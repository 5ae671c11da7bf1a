"""Where a raised alert goes besides the bus: the log, and a signed webhook.

The webhook POSTs the alert as JSON with ``X-LLMOps-Timestamp`` (Unix seconds) and
``X-LLMOps-Signature: sha256=<hex>``, the HMAC-SHA256 under the shared secret of ``"<timestamp>." + body``
(the Stripe/Slack scheme: signing the timestamp with the body stops a captured request from being
replayed later under a fresh timestamp). Receivers check it with ``verify_signature``. A sink never
raises: a receiver that is down must not stop alerting; failures are logged.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime
from typing import Any

import httpx2

from llmops_monitoring.domain.records import Alert

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-LLMOps-Signature"
TIMESTAMP_HEADER = "X-LLMOps-Timestamp"
_PREFIX = "sha256="


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def alert_json(alert: Alert) -> dict[str, Any]:
    """The alert as a JSON object (the fields of ``AlertRaised`` plus status and occurrences)."""
    c = alert.candidate
    return {"alert_id": alert.alert_id, "status": str(alert.status), "occurrences": alert.occurrences,
            "raised_at": _iso(alert.raised_at), "detector": c.detector, "kind": c.kind,
            "severity": str(c.severity), "message": c.message, "model_version": c.model_version,
            "subject_kind": c.subject_kind, "subject": c.subject, "statistic": c.statistic, "value": c.value,
            "threshold": c.threshold, "window_start": _iso(c.window_start), "window_end": _iso(c.window_end),
            "examples": list(c.examples), "details": c.details}


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return _PREFIX + digest.hexdigest()


def verify_signature(secret: str, body: bytes, header: str, timestamp: str, tolerance_s: float = 300.0,
                     *, now: float | None = None) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` under ``secret`` and the timestamp is within
    ``tolerance_s`` of now (constant-time comparison)."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, str(sent)).encode("ascii"), header.encode("utf-8", "replace"))


class AlertSink(abc.ABC):
    @abc.abstractmethod
    async def send(self, alert: Alert) -> None:
        """Deliver ``alert``; never raises."""


class LogSink(AlertSink):
    """One WARNING record per raised alert, the alert's JSON in ``extra["alert"]``."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or log

    async def send(self, alert: Alert) -> None:
        c = alert.candidate
        self._log.warning("alert %s [%s] %s: %s", alert.alert_id, c.severity, c.detector, c.message,
                          extra={"alert": alert_json(alert)})


class WebhookSink(AlertSink):
    """POSTs the signed alert JSON to ``url``; retries ``retries`` times (with a short backoff) on a
    transport error, a 429 or a 5xx; gives up at once on another 4xx."""

    def __init__(self, url: str, secret: str, timeout: float = 5.0, *, retries: int = 2,
                 backoff_s: float = 0.5) -> None:
        self._url, self._secret, self._timeout = url, secret, timeout
        self._retries, self._backoff_s = retries, backoff_s

    async def send(self, alert: Alert) -> None:
        body = json.dumps(alert_json(alert), ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
        try:
            await self._post(alert.alert_id, body)
        except Exception:  # a sink must never stop alerting
            log.exception("webhook for alert %s failed", alert.alert_id)

    async def _post(self, alert_id: str, body: bytes) -> None:
        async with httpx2.AsyncClient(timeout=self._timeout, follow_redirects=False, trust_env=False) as client:
            for attempt in range(self._retries + 1):
                if attempt:
                    await asyncio.sleep(self._backoff_s * attempt)
                timestamp = str(int(time.time()))
                headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                           SIGNATURE_HEADER: sign(self._secret, body, timestamp)}
                try:
                    reply = await client.post(self._url, content=body, headers=headers)
                except httpx2.HTTPError as exc:
                    log.warning("webhook for alert %s: attempt %d: %s", alert_id, attempt + 1, type(exc).__name__)
                    continue
                if reply.is_success:
                    return
                log.warning("webhook for alert %s: attempt %d: HTTP %d", alert_id, attempt + 1, reply.status_code)
                if reply.status_code != 429 and reply.status_code < 500:
                    return
        log.error("webhook for alert %s: gave up after %d attempts", alert_id, self._retries + 1)
