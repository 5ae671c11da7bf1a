"""Every RPC of the registry, fed generated hostile requests over the wire: never UNKNOWN or INTERNAL,
never a hang, always healthy, and nothing half-written by a call that failed."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import uuid
from typing import Any

import pytest
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from psycopg_pool import AsyncConnectionPool

from llmops.common.v1 import common_pb2
from llmops.registry.v1 import registry_pb2 as pb
from llmops.registry.v1 import registry_pb2_grpc as pb_grpc
from llmops_common.auth import PostgresApiKeyStore, Role, create_key
from llmops_common.storage import ArtifactStore
from llmops_common.testing.fuzz import INCOMPRESSIBLE_TEXT, LONG_TEXT, requests, rpcs
from llmops_common.testing.fuzz_runner import FuzzTarget, fuzz_rpc

pytestmark = pytest.mark.e2e
RPCS = rpcs(pb.DESCRIPTOR.services_by_name["RegistryService"])


async def service_key(dsn: str) -> str:
    """A key with the service role: the evaluation service's identity, whose results gates count."""
    async with AsyncConnectionPool(dsn, min_size=1, max_size=1) as pool:
        _, key = await create_key(PostgresApiKeyStore(pool), name="fuzz-evaluator", role=Role.SERVICE,
                                  created_by="fuzz")
    return key


def b64json(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.fixture(scope="module")
def registry(fuzz_service, settings_for) -> tuple[FuzzTarget, dict[str, list[Any]]]:
    """The registry with two models, versions, an alias with a release, a gated protected alias, an
    evaluation, open promotions and issued page tokens; returns the target and the real values."""
    target, _ = fuzz_service("registry", "llmops_registry.main")
    run = uuid.uuid4().hex[:8]
    model, other = f"fz-{run}-model", f"fz-{run}-other"
    artifacts = ArtifactStore.from_settings(settings_for())
    artifacts.ensure_buckets()
    uris = [f"s3://llmops-models/fz-{run}/v{i}" for i in range(1, 6)]
    for uri in uris:
        artifacts.put_bytes(f"{uri}/adapter_model.safetensors", b"w" * 512)

    stub, md = pb_grpc.RegistryServiceStub(target.channel), target.metadata
    for name in (model, other):
        stub.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name, description="seed", tags={"team": "fz"}),
                                   metadata=md)
    stub.CreateModelVersion(pb.CreateModelVersionRequest(
        model_name=model, artifact_uri=uris[0], kind=pb.MODEL_KIND_BASE, request_id="seed-1"), metadata=md)
    stub.CreateModelVersion(pb.CreateModelVersionRequest(
        model_name=model, artifact_uri=uris[1], kind=pb.MODEL_KIND_ADAPTER, base_model_version=f"models:/{model}/1",
        tags={"team": "fz"}, lineage=pb.Lineage(dataset_versions=["qa@abc"], training_run_id="run-1")), metadata=md)
    params = Struct()
    params.update({"temperature": 0.2})
    stub.SetAlias(pb.SetAliasRequest(model_name=model, alias="champion", version=1, prompt_version="support/3",
                                     sampling_parameters=params), metadata=md)
    stub.SetAlias(pb.SetAliasRequest(model_name=model, alias="champion", version=2), metadata=md)
    gate = pb.MetricGate(metric_name="bleu", threshold=30.0, greater_is_better=True)
    for alias in ("production", "staging"):
        stub.SetPolicy(pb.SetPolicyRequest(policy=pb.AliasPolicy(
            model_name=model, alias=alias, protected=True, gates=[gate], required_approvals=1,
            approver_role="approver")), metadata=md)
    completed = Timestamp()
    completed.GetCurrentTime()
    evaluator = [("authorization", f"Bearer {asyncio.run(service_key(target.probe.dsn))}")]  # trusted results
    stub.AttachEvaluation(pb.AttachEvaluationRequest(model_name=model, version=2, evaluation=pb.EvaluationResult(
        evaluation_run_id="ev-seed", metrics={"bleu": 35.0}, completed_at=completed)), metadata=evaluator)
    opened = [stub.RequestPromotion(pb.RequestPromotionRequest(model_name=model, alias=alias, version=2,
                                                               reason="seed", request_id=f"seed-{alias}"),
                                    metadata=md) for alias in ("production", "staging")]
    assert all(p.status == pb.PROMOTION_STATUS_PENDING for p in opened), opened  # approve paths get exercised
    promotions = [p.id for p in opened]
    page = common_pb2.PageRequest(page_size=1)
    tokens = [
        stub.ListRegisteredModels(pb.ListRegisteredModelsRequest(page=page), metadata=md).page.next_page_token,
        stub.SearchModelVersions(pb.SearchModelVersionsRequest(page=page), metadata=md).page.next_page_token,
        stub.ListPromotions(pb.ListPromotionsRequest(page=page), metadata=md).page.next_page_token,
        stub.ListAuditEvents(pb.ListAuditEventsRequest(page=page), metadata=md).page.next_page_token,
    ]
    assert all(tokens), tokens
    corpus: dict[str, list[Any]] = {
        "name": [model, other], "model_name": [model, other], "name_prefix": [f"fz-{run}", "fz-"],
        "alias": ["champion", "production", "staging"], "version": [1, 2, 3], "expected_version": [1, 2],
        "promotion_id": promotions, "prompt_version": ["support/3"], "base_model_version": [f"models:/{model}/1"],
        "uri": [f"models:/{model}@champion", f"models:/{model}/1", f"models:/{model}@latest"],
        "artifact_uri": uris[2:], "report_uri": ["s3://llmops-artifacts/reports/ev.html"],
        "evaluation_run_id": ["ev-seed", "ev-2"], "metric_name": ["bleu"], "metrics.key": ["bleu", "rouge"],
        "tags.key": ["team"], "tags.value": ["fz"], "action": ["alias.set", "promotion.requested"],
        "request_id": ["seed-1", "seed-production"], "sampling_parameters": ["temperature", "top_p"],
        "approver_role": ["approver"], "format": ["safetensors"], "threshold": [30.0], "page_token": tokens,
        "dataset_versions": ["qa@abc"], "training_run_id": ["run-1"], "max_depth": [1, 2, 10],
    }
    return target, corpus


def explicit(rpc: str, c: dict[str, list[Any]]) -> list[Any]:
    """The hostile inputs issue 9 names, as regression examples for ``rpc``."""
    model, promotion, token = c["model_name"][0], c["promotion_id"][0], c["page_token"][0]
    nan_gate = pb.MetricGate(metric_name="bleu", threshold=math.nan, greater_is_better=True)
    inf_gate = pb.MetricGate(metric_name="bleu", threshold=math.inf, min_relative_change=-math.inf)
    far = Timestamp(seconds=2**63 - 1)
    forged = [b64json(["abc"]), b64json([1]), b64json([1, 2, 3]), b64json([]), b64json({"a": 1}), "!!!",
              token[:-1] + "A"]
    pages = [common_pb2.PageRequest(page_token=t) for t in forged]
    examples: dict[str, list[Any]] = {
        "CreateRegisteredModel": [
            pb.CreateRegisteredModelRequest(name=f"{model}-nul", description="a\x00b"),
            pb.CreateRegisteredModelRequest(name=f"{model}-tag", tags={"k\x00": "v"}),
            pb.CreateRegisteredModelRequest(name=f"{model}-tagv", tags={"k": "v\x00"}),
            pb.CreateRegisteredModelRequest(name=f"{model}\n"),
            pb.CreateRegisteredModelRequest(name=LONG_TEXT)],
        "GetRegisteredModel": [pb.GetRegisteredModelRequest(name=LONG_TEXT), pb.GetRegisteredModelRequest(name="\x00")],
        "ListRegisteredModels": [pb.ListRegisteredModelsRequest(page=p) for p in pages]
        + [pb.ListRegisteredModelsRequest(name_prefix="\x00"), pb.ListRegisteredModelsRequest(tags={"k": "\x00"})],
        "CreateModelVersion": [
            pb.CreateModelVersionRequest(model_name=model, artifact_uri=uri, kind=pb.MODEL_KIND_BASE)
            for uri in ("s3://llmops-models/../llmops-datasets/x", "s3://127.0.0.1:9000/llmops-models/x",
                        "s3://llmops models/x", "s3://llmops-models", "s3://llmops-models/", "file:///etc/passwd")]
        + [pb.CreateModelVersionRequest(model_name=model, artifact_uri=c["artifact_uri"][0], request_id="r\x00"),
           pb.CreateModelVersionRequest(model_name=model, artifact_uri=c["artifact_uri"][0], kind=pb.MODEL_KIND_BASE,
                                        request_id=INCOMPRESSIBLE_TEXT),
           pb.CreateModelVersionRequest(model_name=model, artifact_uri=c["artifact_uri"][0], tags={"t": "\x00"}),
           pb.CreateModelVersionRequest(model_name=model, artifact_uri=c["artifact_uri"][0],
                                        lineage=pb.Lineage(code_version="\x00"))],
        "GetModelVersion": [pb.GetModelVersionRequest(model_name=LONG_TEXT, version=1),
                            pb.GetModelVersionRequest(model_name=model, version=2**63 - 1)],
        "SearchModelVersions": [pb.SearchModelVersionsRequest(page=p) for p in pages]
        + [pb.SearchModelVersionsRequest(page=common_pb2.PageRequest(page_token=b64json([model, "abc"]))),
           pb.SearchModelVersionsRequest(created=common_pb2.TimeRange(start=far)),
           pb.SearchModelVersionsRequest(created=common_pb2.TimeRange(end=Timestamp(seconds=-(2**63)))),
           pb.SearchModelVersionsRequest(created=common_pb2.TimeRange(start=Timestamp(seconds=0, nanos=-1))),
           pb.SearchModelVersionsRequest(alias="\x00"), pb.SearchModelVersionsRequest(base_model_version="\x00")],
        "SetAlias": [pb.SetAliasRequest(model_name=model, alias=a, version=1)
                     for a in ("Production", "PRODUCTION", "production\n", "LATEST", "latest\n", "champion\n")]
        + [pb.SetAliasRequest(model_name=model, alias="canary", version=1, reason="\x00"),
           pb.SetAliasRequest(model_name=model, alias="canary", version=1, prompt_version="\x00")],
        "DeleteAlias": [pb.DeleteAliasRequest(model_name=model, alias="Production"),
                        pb.DeleteAliasRequest(model_name=model, alias="champion", reason="\x00")],
        "Resolve": [pb.ResolveRequest(uri=u) for u in (f"models:/{model}@Production", f"models:/{model}@latest\n",
                                                      f"models:/{LONG_TEXT}@x", "models:/\x00/1",
                                                      f"models:/{model}/99999999999999999999")],
        "GetRelease": [pb.GetReleaseRequest(model_name=model, alias="\x00"),
                       pb.GetReleaseRequest(model_name=LONG_TEXT)],
        "SetPolicy": [pb.SetPolicyRequest(policy=pb.AliasPolicy(model_name=model, alias="canary", gates=[g]))
                      for g in (nan_gate, inf_gate)]
        + [pb.SetPolicyRequest(policy=pb.AliasPolicy(model_name=model, alias="canary"), reason="\x00"),
           pb.SetPolicyRequest(policy=pb.AliasPolicy(model_name=model, alias="Production", protected=False))],
        "GetPolicy": [pb.GetPolicyRequest(model_name=model, alias="PRODUCTION")],
        "RequestPromotion": [pb.RequestPromotionRequest(model_name=model, alias="production", version=2, reason="\x00"),
                             pb.RequestPromotionRequest(model_name=model, alias="production", version=2,
                                                        request_id="\x00"),
                             pb.RequestPromotionRequest(model_name=model, alias="production", version=2,
                                                        request_id=INCOMPRESSIBLE_TEXT)],
        "ApprovePromotion": [pb.ApprovePromotionRequest(promotion_id=promotion, comment="\x00"),
                             pb.ApprovePromotionRequest(promotion_id="not-a-uuid")],
        "RejectPromotion": [pb.RejectPromotionRequest(promotion_id=promotion, reason="\x00"),
                            pb.RejectPromotionRequest(promotion_id=LONG_TEXT)],
        "GetPromotion": [pb.GetPromotionRequest(promotion_id="\x00"), pb.GetPromotionRequest(promotion_id=LONG_TEXT)],
        "ListPromotions": [pb.ListPromotionsRequest(page=p) for p in pages]
        + [pb.ListPromotionsRequest(status=999)],
        "Rollback": [pb.RollbackRequest(model_name=model, alias="champion", reason="\x00")],
        "GetLineage": [pb.GetLineageRequest(model_name=model, version=2, max_depth=2**31 - 1),
                       pb.GetLineageRequest(model_name=model, version=-1)],
        "ListAuditEvents": [pb.ListAuditEventsRequest(page=p) for p in pages]
        + [pb.ListAuditEventsRequest(occurred=common_pb2.TimeRange(start=far)),
           pb.ListAuditEventsRequest(actor="\x00")],
        "AttachEvaluation": [
            pb.AttachEvaluationRequest(model_name=model, version=2, evaluation=pb.EvaluationResult(
                evaluation_run_id=f"ev-{i}", metrics={"bleu": v}))
            for i, v in enumerate((math.nan, math.inf, -math.inf))]
        + [pb.AttachEvaluationRequest(model_name=model, version=2, evaluation=pb.EvaluationResult(
               evaluation_run_id="ev-far", metrics={"bleu": 1.0}, completed_at=ts))
           for ts in (far, Timestamp(seconds=253402300800), Timestamp(seconds=4102444800))]
        + [pb.AttachEvaluationRequest(model_name=model, version=2, evaluation=pb.EvaluationResult(
               evaluation_run_id="ev\x00", metrics={"bleu\x00": 1.0}, report_uri="s3://llmops-models"))],
    }
    assert set(examples) <= {r.name for r in RPCS}, set(examples) - {r.name for r in RPCS}  # renamed RPCs
    return examples.get(rpc, [])


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_registry_rpc_survives_hostile_requests(registry, rpc):
    target, corpus = registry
    fuzz_rpc(target, rpc, requests(rpc, corpus), explicit=explicit(rpc.name, corpus))
