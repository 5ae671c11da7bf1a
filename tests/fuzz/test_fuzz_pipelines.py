"""Every RPC of the pipelines service, fed generated hostile requests over the wire: never UNKNOWN or
INTERNAL, never a hang, always healthy, nothing half-written. A registry runs beside it (applying a
definition sets alias policies there); hostile definitions (alias bombs, deep nesting, NUL, huge files,
foreign spec fields) are refused naming the field."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from llmops.common.v1 import common_pb2
from llmops.pipelines.v1 import pipelines_pb2 as pb
from llmops.pipelines.v1 import pipelines_pb2_grpc as pb_grpc
from llmops_common.testing.fuzz import LONG_TEXT, requests, rpcs
from llmops_common.testing.fuzz_runner import FuzzTarget, fuzz_rpc

pytestmark = pytest.mark.e2e
RPCS = rpcs(pb.DESCRIPTOR.services_by_name["PipelinesService"])
#: the driver requests the seeded runs' training in the background; the bus's consumers fill the inbox
PROBE = {"count_only": frozenset({"outbox", "pipeline_runs", "audit_log", "dataset_heads", "pipeline_heads",
                                  "pipelines"}),
         "ignore": frozenset({"schema_migrations", "inbox"})}
DEFINITION = """
name: {name}
model_name: {name}-lora
trigger: {{datasets: [{name}-data]}}
train: {{base_model: "models:/tiny@latest", spec: {{hyperparameters: {{max_steps: 3}}}}}}
promote: [{{alias: staging, gates: [{{metric: bleu, threshold: 1}}]}}]
"""


@pytest.fixture(scope="module")
def pipelines(fuzz_service) -> tuple[FuzzTarget, dict[str, list[Any]]]:
    registry, _ = fuzz_service("registry", "llmops_registry.main")
    target, _ = fuzz_service("pipelines", "llmops_pipelines.main", {
        "LLMOPS_PIPELINES_REGISTRY_ENDPOINT": registry.endpoint, "LLMOPS_PIPELINES_POLL_INTERVAL_SECONDS": "0.5"},
        **PROBE)
    stub, md = pb_grpc.PipelinesServiceStub(target.channel), target.metadata
    name = f"fz-{uuid.uuid4().hex[:8]}"
    definition = DEFINITION.format(name=name)
    stub.ApplyPipeline(pb.ApplyPipelineRequest(definition_yaml=definition), metadata=md, timeout=30)
    stub.ApplyPipeline(pb.ApplyPipelineRequest(definition_yaml=DEFINITION.format(name=name + "b")), metadata=md,
                       timeout=30)
    runs = [stub.StartRun(pb.StartRunRequest(pipeline=name, dataset_version=f"{name}-data@v{i}",
                                             request_id=f"seed-{i}"), metadata=md, timeout=30) for i in range(2)]
    token = stub.ListRuns(pb.ListRunsRequest(page=common_pb2.PageRequest(page_size=1)), metadata=md).page
    assert token.next_page_token
    corpus: dict[str, list[Any]] = {
        "definition_yaml": [definition], "name": [name], "pipeline": [name], "run_id": [r.run_id for r in runs],
        "dataset_version": [f"{name}-data@v9"], "request_id": ["seed-0"], "page_token": [token.next_page_token],
    }
    return target, corpus


def explicit(rpc: str, c: dict[str, list[Any]]) -> list[Any]:
    name = c["name"][0]
    bomb = "a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(18))
    hostile = [bomb, "x: " + "[" * 5000 + "]" * 5000, "name: \x00", "y" * (70 * 1024), "!!python/object:os.system {}",
               c["definition_yaml"][0].replace("max_steps: 3", "dataset_version: x"),
               c["definition_yaml"][0].replace("threshold: 1", "threshold: .nan"),
               c["definition_yaml"][0].replace(f"name: {name}", "name: '../../etc'"), "{{ 7*7 }}", "- 1\n- 2", ""]
    examples: dict[str, list[Any]] = {
        "ApplyPipeline": [pb.ApplyPipelineRequest(definition_yaml=t) for t in hostile],
        "GetPipeline": [pb.GetPipelineRequest(name=name, version=-1), pb.GetPipelineRequest(name=name, version=2**62),
                        pb.GetPipelineRequest(name=LONG_TEXT)],
        "StartRun": [pb.StartRunRequest(pipeline=name, dataset_version="no-version"),
                     pb.StartRunRequest(pipeline=name),  # no version of its dataset seen
                     pb.StartRunRequest(pipeline=name, dataset_version=f"{name}-data@v1", request_id=LONG_TEXT)],
        "GetRun": [pb.GetRunRequest(run_id=v) for v in ("\x00", LONG_TEXT, str(uuid.uuid4()), "../x")],
        "ListRuns": [pb.ListRunsRequest(status=99), pb.ListRunsRequest(page=common_pb2.PageRequest(
            page_token=c["page_token"][0][:-1] + "A"))],
        "ReproduceRun": [pb.ReproduceRunRequest(run_id=c["run_id"][0]),  # not finished
                         pb.ReproduceRunRequest(run_id=str(uuid.uuid4()))],
        "CancelRun": [pb.CancelRunRequest(run_id=c["run_id"][1], reason="\x00"),
                      pb.CancelRunRequest(run_id=c["run_id"][1], reason=LONG_TEXT)],
    }
    assert set(examples) <= {r.name for r in RPCS}, set(examples) - {r.name for r in RPCS}
    return examples.get(rpc, [])


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_pipelines_rpc_survives_hostile_requests(pipelines, rpc):
    target, corpus = pipelines
    fuzz_rpc(target, rpc, requests(rpc, corpus), explicit=explicit(rpc.name, corpus))
