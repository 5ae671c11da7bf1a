"""Every RPC of the evaluation service, fed generated hostile requests over the wire: never UNKNOWN or
INTERNAL, never a hang, always healthy, and nothing half-written by a call that failed. The registry,
ingestion and prompt services run beside it with a real model version, dataset version and prompt, so
requests reach the checks that need them; no Ray cluster answers, so an accepted run meets the outage
once and then waits an hour for its retry."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from google.protobuf.struct_pb2 import Struct

from llmops.common.v1 import common_pb2
from llmops.evaluation.v1 import evaluation_pb2 as pb
from llmops.evaluation.v1 import evaluation_pb2_grpc as pb_grpc
from llmops_common.testing.fuzz import LONG_TEXT, requests, rpcs
from llmops_common.testing.fuzz_runner import FuzzTarget, fuzz_rpc

pytestmark = pytest.mark.e2e
RPCS = rpcs(pb.DESCRIPTOR.services_by_name["EvaluationService"])
#: tables the worker changes in the background (runs are claimed and put back to wait for a retry)
PROBE = {"count_only": frozenset({"outbox", "runs", "audit_log"}),
         "ignore": frozenset({"schema_migrations", "inbox"})}


def good_spec(refs: dict[str, str], **fields: Any) -> pb.EvaluationSpec:
    return pb.EvaluationSpec(model_version=refs["base"], dataset_version=refs["dataset"],
                             prompt_version=refs["prompt"], **fields)


def _struct(values: dict[str, Any]) -> Struct:
    s = Struct()
    s.update(values)
    return s


@pytest.fixture(scope="module")
def evaluation(fuzz_service, seeded_references) -> tuple[FuzzTarget, dict[str, list[Any]]]:
    endpoints, refs = seeded_references
    env = {f"LLMOPS_EVALUATION_{name.upper()}_ENDPOINT": endpoint for name, endpoint in endpoints.items()} | {
        "LLMOPS_EVALUATION_RAY_ADDRESS": "127.0.0.1:1", "LLMOPS_EVALUATION_RAY_CONNECT_TIMEOUT_SECONDS": "0.5",
        "LLMOPS_EVALUATION_POLL_INTERVAL_SECONDS": "0.5", "LLMOPS_EVALUATION_MAX_ATTEMPTS": "5",
        "LLMOPS_EVALUATION_RETRY_BACKOFF_SECONDS": "3600",
        # other tests' training completions stay on the shared stream: the trigger is off, so they
        # start nothing in the background while the fuzzing runs
        "LLMOPS_EVALUATION_CHAMPION_ALIAS": ""}
    target, _ = fuzz_service("evaluation", "llmops_evaluation.main", env, **PROBE)
    stub, md = pb_grpc.EvaluationServiceStub(target.channel), target.metadata
    runs = [stub.RunEvaluation(pb.RunEvaluationRequest(spec=good_spec(refs), request_id=f"seed-{i}"), metadata=md,
                               timeout=60) for i in range(2)]
    token = stub.ListEvaluationRuns(pb.ListEvaluationRunsRequest(page=common_pb2.PageRequest(page_size=1)),
                                    metadata=md).page
    assert token.next_page_token
    corpus: dict[str, list[Any]] = {
        "model_version": [refs["base"], f"{refs['base'].rsplit('/', 1)[0]}@latest"],
        "dataset_version": [refs["dataset"]], "prompt_version": [refs["prompt"]], "split": ["test", "train"],
        "run_id": [r.run_id for r in runs], "run_ids": [r.run_id for r in runs],
        "baseline_run_id": [runs[0].run_id], "request_id": ["seed-0"], "role": ["champion", "base"],
        "baseline_role": ["champion"], "name": ["bleu", "rougeL", "exact_match"],
        "metric_names": ["bleu", "rougeL"], "page_token": [token.next_page_token], "choice": ["a", "b", "tie"],
    }
    return target, corpus


def explicit(rpc: str, c: dict[str, list[Any]]) -> list[Any]:
    """The hostile inputs of issue 13 as regression examples for ``rpc``."""
    refs = {"base": c["model_version"][0], "dataset": c["dataset_version"][0], "prompt": c["prompt_version"][0]}
    bad_specs = [
        good_spec(refs, metrics=[pb.MetricSpec(name="no_such_metric")]),
        good_spec(refs, metrics=[pb.MetricSpec(name="bleu", params=_struct({"x": 1}))]),
        good_spec(refs, sampling_parameters=_struct({"temperature": math.nan})),
        good_spec(refs, sampling_parameters=_struct({"max_tokens": 1e300})),
        good_spec(refs, sampling_parameters=_struct({"stop": ["\x00"]})),
        good_spec(refs, sampling_parameters=_struct({"evil": 1})),
        good_spec(refs, confidence=math.nan), good_spec(refs, confidence=1.0), good_spec(refs, bootstrap_samples=-1),
        good_spec(refs, max_samples=-5), good_spec(refs, split="../x"),
        good_spec(refs, baselines=[pb.Baseline(role="candidate", model_version=refs["base"])]),
        good_spec(refs, baselines=[pb.Baseline(role="b", model_version="models:/nope/1")]),
        good_spec(refs, judge=pb.JudgeSpec(model="j@production", prompt_version=refs["prompt"], min_score=5,
                                           max_score=1)),
        good_spec(refs, judge=pb.JudgeSpec(model="j@production", prompt_version="nope/1")),
        pb.EvaluationSpec(model_version="models:/nope/1", dataset_version=refs["dataset"]),
        pb.EvaluationSpec(model_version=refs["base"], dataset_version="nope@1"),
        pb.EvaluationSpec(model_version=LONG_TEXT, dataset_version=refs["dataset"]),
        pb.EvaluationSpec(model_version=refs["base"], dataset_version="x@\x00"),
    ]
    examples: dict[str, list[Any]] = {
        "RunEvaluation": [pb.RunEvaluationRequest(spec=s) for s in bad_specs]
        + [pb.RunEvaluationRequest(spec=good_spec(refs), request_id=LONG_TEXT)],
        "GetEvaluationRun": [pb.GetEvaluationRunRequest(run_id=v) for v in ("\x00", LONG_TEXT, str(uuid.uuid4()))],
        "GetReport": [pb.GetReportRequest(run_id=c["run_id"][0], sample_limit=2**31 - 1),
                      pb.GetReportRequest(run_id="../x")],
        "ListEvaluationRuns": [pb.ListEvaluationRunsRequest(status=99),
                               pb.ListEvaluationRunsRequest(page=common_pb2.PageRequest(
                                   page_token=c["page_token"][0][:-1] + "A"))],
        "CompareRuns": [pb.CompareRunsRequest(run_ids=c["run_ids"] * 30),
                        pb.CompareRunsRequest(run_ids=[c["run_ids"][0]]),
                        pb.CompareRunsRequest(run_ids=c["run_ids"], baseline_run_id=str(uuid.uuid4()))],
        "ExportReview": [pb.ExportReviewRequest(run_id=c["run_id"][0], sample_size=2**31 - 1),
                         pb.ExportReviewRequest(run_id=c["run_id"][0], seed=-1)],
        "ImportReviewVerdicts": [pb.ImportReviewVerdictsRequest(review_id=str(uuid.uuid4()), verdicts=[
            pb.ReviewVerdict(item_id="x", choice="a", rater="r")])],
    }
    assert set(examples) <= {r.name for r in RPCS}, set(examples) - {r.name for r in RPCS}
    return examples.get(rpc, [])


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_evaluation_rpc_survives_hostile_requests(evaluation, rpc):
    target, corpus = evaluation
    fuzz_rpc(target, rpc, requests(rpc, corpus), explicit=explicit(rpc.name, corpus))
