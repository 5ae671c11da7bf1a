"""Every RPC of the training service, fed generated hostile requests over the wire: never UNKNOWN or
INTERNAL, never a hang, always healthy, and nothing half-written by a call that failed. The registry,
ingestion and prompt services run beside it (their own processes and databases), holding a real base
model, dataset version and prompt, so requests reach the checks that need them; no Ray cluster runs,
so accepted runs wait QUEUED."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from google.protobuf.struct_pb2 import ListValue

from llmops.common.v1 import common_pb2
from llmops.training.v1 import training_pb2 as pb
from llmops.training.v1 import training_pb2_grpc as pb_grpc
from llmops_common.testing.fuzz import LONG_TEXT, requests, rpcs
from llmops_common.testing.fuzz_runner import FuzzTarget, fuzz_rpc

pytestmark = pytest.mark.e2e
RPCS = rpcs(pb.DESCRIPTOR.services_by_name["TrainingService"])
#: tables the tracker changes in the background (runs move to QUEUED and gain status points)
PROBE = {"count_only": frozenset({"outbox", "runs", "sweeps"}),
         "ignore": frozenset({"schema_migrations", "inbox", "progress_points"})}


def good_spec(refs: dict[str, str], **hyper: Any) -> pb.TrainingSpec:
    return pb.TrainingSpec(base_model=refs["base"], dataset_version=refs["dataset"], prompt_version=refs["prompt"],
                           hyperparameters=pb.Hyperparameters(**{"max_steps": 5, "max_seq_length": 64, **hyper}))


@pytest.fixture(scope="module")
def training(fuzz_service, seeded_references) -> tuple[FuzzTarget, dict[str, list[Any]]]:
    """The training service with ended runs (a stream of an ended run ends), a queued one, a sweep and
    issued page tokens; returns the target and the real values."""
    endpoints, refs = seeded_references
    env = {"LLMOPS_TRAINING_REGISTRY_ENDPOINT": endpoints["registry"],
           "LLMOPS_TRAINING_INGESTION_ENDPOINT": endpoints["ingestion"],
           "LLMOPS_TRAINING_PROMPTS_ENDPOINT": endpoints["prompts"],
           "LLMOPS_TRAINING_RAY_ADDRESS": "127.0.0.1:1",  # nothing answers: runs stay QUEUED
           "LLMOPS_TRAINING_RAY_CONNECT_TIMEOUT_SECONDS": "0.5",
           "LLMOPS_TRAINING_QUEUE_TIMEOUT_SECONDS": "3600"}
    target, _ = fuzz_service("training", "llmops_training.main", env, **PROBE)
    stub, md = pb_grpc.TrainingServiceStub(target.channel), target.metadata
    runs = [stub.SubmitRun(pb.SubmitRunRequest(name=f"seed-{i}", spec=good_spec(refs), request_id=f"seed-{i}"),
                           metadata=md, timeout=60) for i in range(3)]
    for run in runs[:2]:
        stub.CancelRun(pb.CancelRunRequest(run_id=run.run_id, reason="seed"), metadata=md)
    r = ListValue()
    r.extend([4, 8])
    sweep = stub.SubmitSweep(pb.SubmitSweepRequest(name="seed", spec=pb.SweepSpec(
        base=good_spec(refs), parameters=[pb.ParameterSpace(path="lora.r", choices=r)], max_trials=2)), metadata=md)
    token = stub.ListRuns(pb.ListRunsRequest(page=common_pb2.PageRequest(page_size=1)), metadata=md).page
    assert token.next_page_token
    corpus: dict[str, list[Any]] = {
        "base_model": [refs["base"], f"{refs['base'].rsplit('/', 1)[0]}@latest"], "dataset_version": [refs["dataset"]],
        "prompt_version": [refs["prompt"]], "run_id": [r.run_id for r in runs[:2]], "sweep_id": [sweep.sweep_id],
        "request_id": ["seed-0", "seed-1"], "target_modules": ["q_proj", "v_proj", "all-linear"],
        "lr_scheduler": ["cosine", "linear"], "mixed_precision": ["fp32", "no"], "path": ["lora.r",
                                                                                       "hyperparameters.learning_rate"],
        "objective_metric": ["val_loss"], "early_stopping": ["asha", ""], "page_token": [token.next_page_token],
        "output_model_name": ["fz-out"], "code_version": ["abc123"],
    }
    return target, corpus


def explicit(rpc: str, c: dict[str, list[Any]]) -> list[Any]:
    """The hostile inputs of issue 11 as regression examples for ``rpc``."""
    refs = {"base": c["base_model"][0], "dataset": c["dataset_version"][0], "prompt": c["prompt_version"][0]}
    spec = good_spec(refs)
    bad_specs = [
        *(good_spec(refs, learning_rate=v) for v in (0.0, -1.0, math.nan, math.inf)),
        good_spec(refs, max_steps=2**62), good_spec(refs, num_epochs=math.nan),
        good_spec(refs, seed=-1), good_spec(refs, per_device_batch_size=2**31 - 1),
        pb.TrainingSpec(base_model="models:/nope/1", dataset_version=refs["dataset"], prompt_version=refs["prompt"]),
        pb.TrainingSpec(base_model="s3://llmops-models/../x", dataset_version=refs["dataset"]),
        pb.TrainingSpec(base_model=LONG_TEXT, dataset_version=refs["dataset"]),
        pb.TrainingSpec(base_model=refs["base"], dataset_version="x@\x00", prompt_version=refs["prompt"]),
    ]
    for field, value in (("r", 0), ("r", -3), ("dropout", math.nan), ("alpha", -1.0)):
        s = pb.TrainingSpec()
        s.CopyFrom(spec)
        setattr(s.lora, field, value)
        bad_specs.append(s)
    s = pb.TrainingSpec()
    s.CopyFrom(spec)
    s.lora.target_modules.extend(["query_key_value"])
    bad_specs.append(s)
    s = pb.TrainingSpec()
    s.CopyFrom(spec)
    s.distributed.num_workers, s.distributed.deepspeed_stage = 10**6, 9
    bad_specs.append(s)
    examples: dict[str, list[Any]] = {
        "SubmitRun": [pb.SubmitRunRequest(spec=s) for s in bad_specs]
        + [pb.SubmitRunRequest(spec=spec, name="\x00"), pb.SubmitRunRequest(spec=spec, request_id=LONG_TEXT)],
        "GetRun": [pb.GetRunRequest(run_id=v) for v in ("\x00", LONG_TEXT, "not-a-uuid", str(uuid.uuid4()))],
        "CancelRun": [pb.CancelRunRequest(run_id=c["run_id"][0], reason=LONG_TEXT),
                      pb.CancelRunRequest(run_id="../x")],
        "StreamProgress": [pb.StreamProgressRequest(run_id=v, from_start=True) for v in (*c["run_id"], "\x00")],
        "ListRuns": [pb.ListRunsRequest(statuses=[99]), pb.ListRunsRequest(sweep_id="nope"),
                     pb.ListRunsRequest(page=common_pb2.PageRequest(page_token=c["page_token"][0][:-1] + "A"))],
        "SubmitSweep": [pb.SubmitSweepRequest(spec=pb.SweepSpec(base=spec, parameters=[
            pb.ParameterSpace(path="lora.r", range=pb.Range(min=math.nan, max=4))])),
            pb.SubmitSweepRequest(spec=pb.SweepSpec(base=spec, parameters=[
                pb.ParameterSpace(path="distributed.num_workers", range=pb.Range(min=1, max=4))])),
            pb.SubmitSweepRequest(spec=pb.SweepSpec(base=spec, max_trials=2**31 - 1, parameters=[
                pb.ParameterSpace(path="hyperparameters.learning_rate", range=pb.Range(min=1e-5, max=1e-3))]))],
        "GetSweep": [pb.GetSweepRequest(sweep_id=LONG_TEXT)],
    }
    assert set(examples) <= {r.name for r in RPCS}, set(examples) - {r.name for r in RPCS}
    return examples.get(rpc, [])


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_training_rpc_survives_hostile_requests(training, rpc):
    target, corpus = training
    fuzz_rpc(target, rpc, requests(rpc, corpus), explicit=explicit(rpc.name, corpus))
