"""The pipelines service as its own process with the registry, on the embedded stack: a run started by a
new dataset version survives the service being killed twice mid-run. The answers training and evaluation
would send arrive while it is down; after each restart it goes on from where its run's row says, asks
for nothing twice, has the registry's gates promote to ``staging``, waits for a second user's approval
of ``production``, and ends with the alias moved. Then the run is reproduced with its exact inputs."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid

import grpc
import nats.errors
import pytest

from llmops.registry.v1 import registry_pb2 as rpb
from llmops.registry.v1 import registry_pb2_grpc as rpb_grpc
from llmops_common.bus import Bus
from llmops_common.embedded import free_port
from llmops_common.events import Envelope, parse_envelope
from llmops_common.events.evaluation import EvaluationRunCompleted
from llmops_common.events.ingestion import DatasetIngested
from llmops_common.events.training import TrainingRunCompleted
from llmops_common.settings import CommonSettings
from llmops_common.storage import ArtifactStore
from llmops_common.testing.cli import Cli
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess
from llmops_common.testing.tiny_lm import build_adapter, build_base
from llmops_common.testing.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
ADMIN = [("authorization", f"Bearer {TEST_ADMIN_KEY}")]

DEFINITION = """
name: {name}
model_name: {model}
trigger:
  datasets: [{dataset}]
train:
  base_model: models:/{base}@latest
  spec: {{hyperparameters: {{max_steps: 3, seed: 11}}}}
evaluate:
  metrics: [bleu]
  compare_with: [champion, base]
promote:
  - alias: staging
    gates: [{{metric: bleu, threshold: 20}}, {{metric: bleu_delta_base_ci_low, threshold: 0}}]
  - {{alias: production, approvals: 1}}
"""


@pytest.fixture
async def platform(embedded_stack, stack_env, tmp_path):
    admin = Cli(embedded_stack.home, TEST_ADMIN_KEY)
    for name in ("registry", "pipelines"):
        admin.ok("migrate", name)
    registry = ServiceProcess("registry", "llmops_registry.main", stack_env, tmp_path / "registry.log").start()
    env = stack_env | {"LLMOPS_PIPELINES_REGISTRY_ENDPOINT": registry.endpoint,
                       "LLMOPS_PIPELINES_POLL_INTERVAL_SECONDS": "0.5",
                       "LLMOPS_PIPELINES_PROMOTION_RECHECK_SECONDS": "1"}
    # a fixed port: every restart listens where the first start did
    pipelines = ServiceProcess("pipelines", "llmops_pipelines.main", env, tmp_path / "pipelines.log", port=free_port())
    bus = Bus(CommonSettings.from_variables(stack_env), producer="tests")
    await bus.start()
    try:
        await registry.wait_serving()
        yield {"registry": registry, "pipelines": pipelines, "bus": bus, "env": stack_env, "tmp": tmp_path,
               "home": embedded_stack.home}
    finally:
        await bus.stop()
        if pipelines.proc is not None:
            pipelines.stop()
        registry.stop()


async def _start(pipelines: ServiceProcess) -> ServiceProcess:
    pipelines.start()
    await pipelines.wait_serving(timeout=60)
    return pipelines


def _kill(pipelines: ServiceProcess) -> None:
    pipelines.proc.send_signal(signal.SIGKILL)
    pipelines.proc.wait(10)


async def _requests(bus: Bus, subject: str, correlation_id: str) -> list[Envelope]:
    """Every event stored on ``subject`` in the run's correlation."""
    sub = await bus.js.subscribe(subject, ordered_consumer=True)
    found = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=1)
            except nats.errors.TimeoutError:
                return found
            envelope = parse_envelope(msg.data)
            if envelope.correlation_id == correlation_id:
                found.append(envelope)
    finally:
        await sub.unsubscribe()


async def _register(platform, model: str, folder, kind: int, base_version: str = "") -> int:
    settings = CommonSettings.from_variables(platform["env"])
    uri = f"s3://{settings.s3_bucket_models}/e2e-pipelines/{model}/{uuid.uuid4().hex}"
    await asyncio.to_thread(ArtifactStore.from_settings(settings).put_folder, uri, folder)
    async with grpc.aio.insecure_channel(platform["registry"].endpoint) as channel:
        registry = rpb_grpc.RegistryServiceStub(channel)
        try:
            await registry.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name=model), metadata=ADMIN)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() is grpc.StatusCode.ALREADY_EXISTS
        reply = await registry.CreateModelVersion(rpb.CreateModelVersionRequest(
            model_name=model, artifact_uri=uri, kind=kind, base_model_version=base_version,
            request_id=uuid.uuid4().hex), metadata=ADMIN)
    return reply.version


async def test_a_run_survives_restarts_of_the_pipelines_service(platform):
    uid = uuid.uuid4().hex[:8]
    name, model, dataset, base = f"qa-{uid}", f"qa-lora-{uid}", f"qa-data-{uid}", f"tiny-{uid}"
    tmp, bus, pipelines = platform["tmp"], platform["bus"], platform["pipelines"]
    cli = Cli(platform["home"], TEST_ADMIN_KEY, LLMOPS_PIPELINES_ENDPOINT=pipelines.endpoint,
              LLMOPS_REGISTRY_ENDPOINT=platform["registry"].endpoint)
    base_folder = build_base(tmp / "base", context=128)
    base_version = await _register(platform, base, base_folder, rpb.MODEL_KIND_BASE)
    await _start(pipelines)
    (tmp / "pipeline.yaml").write_text(DEFINITION.format(name=name, model=model, dataset=dataset, base=base))
    applied = cli.json("pipelines", "apply", str(tmp / "pipeline.yaml"))
    assert applied["version"] == "1"
    assert cli.json("pipelines", "apply", str(tmp / "pipeline.yaml"))["version"] == "1"  # same content

    await bus.publish(Envelope.wrap(DatasetIngested(dataset_name=dataset, version="v1", uri="s3://x/y"),
                                    producer="ingestion"))

    async def one_run():
        runs = cli.json("pipelines", "list", "--runs", "--pipeline", name)["runs"]
        return runs[0] if runs and runs[0]["steps"][0]["status"] == "requested" else None

    run = await wait_for(one_run, 30, what="the dataset to start a run that requests training")
    run_id = run["run_id"]
    assert run["trigger"] == "dataset" and run["inputs"]["dataset_version"] == f"{dataset}@v1"

    # killed while training runs; training finishes and registers while the service is down
    _kill(pipelines)
    adapter = await _register(platform, model, build_adapter(base_folder, tmp / "adapter", seed=3),
                              rpb.MODEL_KIND_ADAPTER, f"models:/{base}/{base_version}")
    await bus.publish(Envelope.wrap(TrainingRunCompleted(
        run_id=str(uuid.uuid4()), adapter_uri="s3://x/adapter", model_version=f"models:/{model}/{adapter}",
        base_model_version=f"models:/{base}/{base_version}", dataset_version=f"{dataset}@v1",
        metrics={"train_loss": 1.25}), producer="training", correlation_id=run_id))
    await _start(pipelines)

    async def evaluation_requested():
        return await _requests(bus, "llmops.evaluation.run.requested", run_id) or None

    [evaluation] = await wait_for(evaluation_requested, 30, what="the restarted service to request evaluation")
    assert evaluation.payload.model_uri == f"models:/{model}/{adapter}"
    assert evaluation.payload.spec["baselines"] == [{"role": "base", "model_version": f"models:/{base}/{base_version}"}]

    # killed again while evaluating; the results arrive, the registry attaches them
    _kill(pipelines)
    await bus.publish(Envelope.wrap(EvaluationRunCompleted(
        evaluation_run_id=str(uuid.uuid4()), model_name=model, model_version=adapter,
        metrics={"bleu": 31.5, "bleu_ci_low": 28.0, "bleu_ci_high": 35.0, "bleu_delta_base_ci_low": 12.0}),
        producer="evaluation", correlation_id=run_id))
    await _start(pipelines)

    async def waiting_for_approval():
        status = cli.json("pipelines", "status", run_id)
        return status if status["status"] == "RUN_STATUS_WAITING_APPROVAL" else None

    status = await wait_for(waiting_for_approval, 60, what="staging promoted and production waiting for approval")
    steps = {s["name"]: s for s in status["steps"]}
    assert steps["promote-staging"]["status"] == "succeeded"
    promotion = steps["promote-production"]["outputs"]["promotion_id"]
    resolved = cli.json("models", "resolve", f"models:/{model}@staging")
    assert resolved["model_version"]["version"] == str(adapter)

    bob = json.loads(cli.ok("keys", "create", f"bob-{uid}", "--role", "approver", "--json"))
    cli.ok("models", "approve", promotion, "--comment", "looks good", key=bob["key"])

    async def succeeded():
        status = cli.json("pipelines", "status", run_id)
        return status if status["status"] == "RUN_STATUS_SUCCEEDED" else None

    done = await wait_for(succeeded, 30, what="the approval to finish the run")
    assert [s["attempt"] for s in done["steps"]] == [1, 1, 1, 1]
    assert cli.json("models", "resolve", f"models:/{model}@production")["model_version"]["version"] == str(adapter)
    # nothing was asked twice across the restarts
    assert len(await _requests(bus, "llmops.training.run.requested", run_id)) == 1
    assert len(await _requests(bus, "llmops.evaluation.run.requested", run_id)) == 1
    [completed] = await _requests(bus, "llmops.pipelines.run.completed", run_id)
    assert completed.payload.promoted == ["staging", "production"]

    # reproduce: the exact base version the run trained from, its dataset and seed, no promotion
    copy = cli.json("pipelines", "reproduce", done["run_id"])
    assert [s["name"] for s in copy["steps"]] == ["train", "evaluate"]

    async def reproduction_requested():
        return await _requests(bus, "llmops.training.run.requested", copy["run_id"]) or None

    [request] = await wait_for(reproduction_requested, 30, what="the reproduction to request training")
    assert request.payload.base_model_uri == f"models:/{base}/{base_version}"
    assert request.payload.dataset_version == f"{dataset}@v1"
    assert request.payload.spec["hyperparameters"]["seed"] == 11
    assert "pipelines" in cli.ok("events", "tail", "llmops.pipelines.>", "--last", "3", "--count", "3")
