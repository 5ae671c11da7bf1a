"""Alert sinks: the log, and the signed webhook against a real local HTTP server (uvicorn)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from llmops_monitoring.alerts import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    LogSink,
    WebhookSink,
    alert_json,
    sign,
    verify_signature,
)
from llmops_monitoring.domain.records import Alert, AlertCandidate, Severity

SECRET = "s3cret"
T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _alert() -> Alert:
    candidate = AlertCandidate(detector="malicious_user", kind="abuse", severity=Severity.CRITICAL,
                               message="key k1: 9 injection attempts <script>", statistic="attack_share", value=0.9,
                               threshold=0.5, window_start=T0, window_end=T0, subject_kind="key", subject="k1",
                               examples=("i1", "i2"), details={"requests": 10})
    return Alert(alert_id="a1", candidate=candidate, raised_at=T0)


@dataclass
class Receiver:
    statuses: list[int] = field(default_factory=list)  # replies in order; 200 once they run out
    requests: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    async def hook(request: Request) -> JSONResponse:
        receiver.requests.append((await request.body(), dict(request.headers)))
        status = receiver.statuses.pop(0) if receiver.statuses else 200
        return JSONResponse({}, status_code=status)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if uv.started:
            break
        time.sleep(0.01)
    assert uv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()


async def test_the_webhook_posts_the_alert_json_signed_over_timestamp_and_body() -> None:
    receiver = Receiver()
    with receiving(receiver) as url:
        await WebhookSink(url, SECRET, timeout=5).send(_alert())
    (body, headers), = receiver.requests
    assert json.loads(body) == json.loads(json.dumps(alert_json(_alert())))
    assert json.loads(body)["examples"] == ["i1", "i2"] and headers["content-type"] == "application/json"
    signature, timestamp = headers[SIGNATURE_HEADER.lower()], headers[TIMESTAMP_HEADER.lower()]
    assert signature.startswith("sha256=") and abs(int(timestamp) - time.time()) < 60
    assert verify_signature(SECRET, body, signature, timestamp, 300)
    assert not verify_signature("other", body, signature, timestamp, 300)
    assert not verify_signature(SECRET, body.replace(b"k1", b"k2"), signature, timestamp, 300)


async def test_the_webhook_retries_twice_on_server_errors_then_gives_up_without_raising(
        caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(statuses=[503, 500, 503, 503])
    with receiving(receiver) as url, caplog.at_level(logging.WARNING):
        await WebhookSink(url, SECRET, retries=2, backoff_s=0).send(_alert())
    assert len(receiver.requests) == 3
    assert "gave up after 3 attempts" in caplog.text


async def test_the_webhook_succeeds_on_a_retry_and_stops_at_a_client_error() -> None:
    receiver = Receiver(statuses=[429, 200])
    with receiving(receiver) as url:
        await WebhookSink(url, SECRET, backoff_s=0).send(_alert())
        assert len(receiver.requests) == 2
        receiver.statuses = [400]
        await WebhookSink(url, SECRET, backoff_s=0).send(_alert())
    assert len(receiver.requests) == 3  # a 400 will not succeed later


async def test_an_unreachable_webhook_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here
    with caplog.at_level(logging.WARNING):
        await WebhookSink(f"http://127.0.0.1:{port}/hook", SECRET, timeout=1, backoff_s=0).send(_alert())
    assert caplog.text.count("ConnectError") == 3 and "gave up" in caplog.text


async def test_the_log_sink_logs_a_warning_with_the_alert(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        await LogSink().send(_alert())
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and "malicious_user" in record.getMessage()
    assert record.alert["alert_id"] == "a1" and record.alert["subject"] == "k1"  # type: ignore[attr-defined]


def test_stale_future_and_malformed_timestamps_are_rejected() -> None:
    body, now = b'{"a": 1}', 1_800_000_000
    header = sign(SECRET, body, str(now))
    assert verify_signature(SECRET, body, header, str(now), 300, now=now + 299)
    assert not verify_signature(SECRET, body, header, str(now), 300, now=now + 301)
    assert not verify_signature(SECRET, body, header, str(now), 300, now=now - 301)
    assert not verify_signature(SECRET, body, sign(SECRET, body, str(now + 1)), str(now), 300, now=now)
    for timestamp in ("", "abc", "1e9", None):
        assert not verify_signature(SECRET, body, header, timestamp, 300, now=now)  # type: ignore[arg-type]


@given(st.binary(max_size=256), st.text(max_size=80))
def test_any_body_verifies_only_with_its_own_signature(body: bytes, forged: str) -> None:
    now = 1_800_000_000
    header = sign(SECRET, body, str(now))
    assert verify_signature(SECRET, body, header, str(now), 300, now=now)
    assert verify_signature(SECRET, body, forged, str(now), 300, now=now) is (forged == header)
