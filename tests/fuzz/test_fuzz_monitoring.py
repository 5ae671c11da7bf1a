"""Every RPC of the monitoring service, fed generated hostile requests over the wire: never UNKNOWN or
INTERNAL, never a hang, always healthy, and nothing half-written by a call that failed. A registry runs
beside it (curation asks it for training data). The log holds
real inferences (published as serving publishes them) and feedback on them, so requests reach the
checks that need them."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmops.common.v1 import common_pb2
from llmops.monitoring.v1 import monitoring_pb2 as pb
from llmops.monitoring.v1 import monitoring_pb2_grpc as pb_grpc
from llmops_common.bus import Bus
from llmops_common.embedded import free_port
from llmops_common.events import Envelope
from llmops_common.events.serving import InferenceCompleted
from llmops_common.settings import CommonSettings
from llmops_common.testing.fuzz import LONG_TEXT, requests, rpcs
from llmops_common.testing.fuzz_runner import FuzzTarget, fuzz_rpc
from llmops_common.testing.processes import TEST_ADMIN_KEY
from llmops_common.testing.waiting import wait_for_sync

pytestmark = pytest.mark.e2e
RPCS = rpcs(pb.DESCRIPTOR.services_by_name["MonitoringService"])
#: tables the detectors change in the background (alerts raised on the seeded traffic)
PROBE = {"count_only": frozenset({"outbox", "alerts", "audit_log", "blocks"}),
         "ignore": frozenset({"schema_migrations", "inbox"})}


async def _publish(env: dict[str, str], ids: list[str], key_id: str) -> None:
    bus = Bus(CommonSettings.from_variables(env), producer="tests")
    await bus.start()
    try:
        for i, inference_id in enumerate(ids):
            await bus.publish(Envelope.wrap(InferenceCompleted(
                request_id=inference_id, deployment="fz@production", model_name="fz", version=1,
                release="production", api="chat", prompt=[{"role": "user", "content": f"question {i}"}],
                output=f"answer {i}", prompt_tokens=3, completion_tokens=2, latency_ms=12.5, ttft_ms=3.0,
                finish_reason="stop", key_id=key_id, user="u1", session="s1", created_at=datetime.now(UTC)),
                producer="serving"))
    finally:
        await bus.stop()


@pytest.fixture(scope="module")
def monitoring(fuzz_service, stack_env) -> tuple[FuzzTarget, dict[str, list[Any]]]:
    registry, _ = fuzz_service("registry", "llmops_registry.main")  # curation asks it for training data
    http_port = free_port()
    env = {"LLMOPS_MONITORING_HTTP_PORT": str(http_port), "LLMOPS_MONITORING_EMBEDDINGS": "false",
           "LLMOPS_MONITORING_DETECT_INTERVAL_SECONDS": "3600",
           "LLMOPS_MONITORING_REGISTRY_ENDPOINT": registry.endpoint}
    target, service = fuzz_service("monitoring", "llmops_monitoring.main", env, **PROBE)
    stub, md = pb_grpc.MonitoringServiceStub(target.channel), target.metadata
    ids, key_id = [f"chatcmpl-{uuid.uuid4().hex}" for _ in range(3)], f"fz-{uuid.uuid4().hex[:8]}"
    asyncio.run(_publish(service.env, ids, key_id))
    # the consumer takes the stream in order: once these are logged, so is every inference other tests
    # published before, and nothing arrives in the background while the fuzzing runs
    wait_for_sync(lambda: len(stub.ListInferences(pb.ListInferencesRequest(key_id=key_id),
                                                  metadata=md).inferences) >= 3, 120,
                  what="the seeded inferences in the log")
    feedback = stub.SendFeedback(pb.SendFeedbackRequest(inference_id=ids[0], rating=pb.RATING_POSITIVE,
                                                        correction="better", request_id="seed-0"), metadata=md)
    token = stub.ListInferences(pb.ListInferencesRequest(page=common_pb2.PageRequest(page_size=1)), metadata=md).page
    corpus: dict[str, list[Any]] = {
        "inference_id": ids, "model_version": ["models:/fz/1"], "release": ["production"], "key_id": [key_id],
        "user": ["u1"], "session": ["s1"], "request_id": ["seed-0"], "page_token": [token.next_page_token],
        "dataset_name": ["fz-feedback"], "feedback_id": [feedback.feedback_id], "categories": ["incorrect"],
        "http": [f"http://127.0.0.1:{http_port}"],
    }
    return target, corpus


def explicit(rpc: str, c: dict[str, list[Any]]) -> list[Any]:
    """The hostile inputs of issue 14 as regression examples for ``rpc``."""
    inference = c["inference_id"][0]
    examples: dict[str, list[Any]] = {
        "SendFeedback": [pb.SendFeedbackRequest(inference_id=inference, score=v) for v in (0, 6, math.nan, -math.inf)]
        + [pb.SendFeedbackRequest(inference_id="nope", score=3), pb.SendFeedbackRequest(inference_id=inference),
           pb.SendFeedbackRequest(inference_id=inference, rating=7),
           pb.SendFeedbackRequest(inference_id=inference, comment="<script>alert(1)</script>\x00"),
           pb.SendFeedbackRequest(inference_id=inference, correction=LONG_TEXT),
           pb.SendFeedbackRequest(inference_id=inference, score=3, categories=["x"] * 50)],
        "ListInferences": [pb.ListInferencesRequest(min_injection_score=math.nan),
                           pb.ListInferencesRequest(user="\x00"), pb.ListInferencesRequest(
                               page=common_pb2.PageRequest(page_token=c["page_token"][0][:-1] + "A"))],
        "AckAlert": [pb.AlertActionRequest(alert_id=v) for v in ("\x00", LONG_TEXT, str(uuid.uuid4()))],
        "ResolveAlert": [pb.AlertActionRequest(alert_id=str(uuid.uuid4()), note=LONG_TEXT)],
        "ExportFeedbackDataset": [pb.ExportFeedbackDatasetRequest(dataset_name=""),
                                  pb.ExportFeedbackDatasetRequest(dataset_name="x", max_records=-1),
                                  pb.ExportFeedbackDatasetRequest(dataset_name="x", min_score=math.nan),
                                  pb.ExportFeedbackDatasetRequest(dataset_name="\x00")],
        "GetModelReport": [pb.GetModelReportRequest(model_version=v) for v in ("", "models:/x", "../x", LONG_TEXT)]
        + [pb.GetModelReportRequest(model_version="models:/fz/1", days=-1)],
    }
    assert set(examples) <= {r.name for r in RPCS}, set(examples) - {r.name for r in RPCS}
    return examples.get(rpc, [])


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_monitoring_rpc_survives_hostile_requests(monitoring, rpc):
    target, corpus = monitoring
    fuzz_rpc(target, rpc, requests(rpc, corpus), explicit=explicit(rpc.name, corpus))


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.text(max_size=40), st.sampled_from(["up", "down", "positive", "\x00", "<script>x</script>"]))
FIELDS = st.sampled_from(["inference_id", "rating", "score", "comment", "correction", "categories", "user", "tags",
                          "request_id", "evil"])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.dictionaries(FIELDS, VALUES, max_size=6), VALUES), real_id=st.booleans())
def test_feedback_rest_answers_hostile_bodies_with_4xx(monitoring, body, real_id) -> None:
    """Generated bodies against the real ``POST /v1/feedback``: 201 or a JSON 4xx naming what was wrong,
    never a 5xx or a hang, and the service stays healthy."""
    _, corpus = monitoring
    if real_id and isinstance(body, dict):
        body = {"inference_id": corpus["inference_id"][1], **body}
    data = json.dumps(body, allow_nan=True).encode()
    reply = httpx2.post(corpus["http"][0] + "/v1/feedback", content=data, timeout=30,
                        headers={"authorization": f"Bearer {TEST_ADMIN_KEY}", "content-type": "application/json"})
    assert reply.status_code in (201, 400, 404, 413, 429), (reply.status_code, reply.text[:300], data[:300])
    if reply.status_code != 201:
        assert reply.json()["error"]["message"], reply.text[:300]
    assert httpx2.get(corpus["http"][0] + "/health", timeout=10).status_code == 200
