"""The training service as a user drives it: registry, ingestion, prompts and training as processes on
the embedded stack with its Ray head, and the ``llmops`` command line. A base is bootstrapped offline
through the service, a dataset and a prompt are made, and a LoRA run on two workers with DeepSpeed
ZeRO-2 ends registered with its lineage; then it is reproduced. A run requested by event completes
with an event; a sweep prices its trials; and with Ray unreachable a run fails after its queue
timeout while the service stays healthy."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from llmops.registry.v1 import registry_pb2 as registry_pb
from llmops.registry.v1 import registry_pb2_grpc as registry_grpc
from llmops_common.bus import Bus
from llmops_common.events.envelope import Envelope
from llmops_common.events.training import TrainingRunCompleted, TrainingRunRequested
from llmops_common.settings import CommonSettings
from llmops_common.testing.cli import Cli
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess, health
from llmops_common.testing.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # real training runs on a shared 2-core machine
METADATA = (("authorization", f"Bearer {TEST_ADMIN_KEY}"),)
SERVICES = {"registry": "llmops_registry.main", "ingestion": "llmops_ingestion.main",
            "prompts": "llmops_prompts.main", "training": "llmops_training.main"}


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
async def platform(embedded_stack, ray_env, tmp_path_factory):
    logs = tmp_path_factory.mktemp("platform-logs")
    admin = Cli(embedded_stack.home, TEST_ADMIN_KEY)
    for name in SERVICES:
        admin.ok("migrate", name)
    started: dict[str, ServiceProcess] = {}
    for name, module in SERVICES.items():
        started[name] = ServiceProcess(name, module, ray_env, logs / f"{name}.log").start()
    endpoints = {f"LLMOPS_{name.upper()}_ENDPOINT": s.endpoint for name, s in started.items()}
    started["training"].stop()
    started["training"] = ServiceProcess("training", SERVICES["training"], ray_env | {
        "LLMOPS_TRAINING_REGISTRY_ENDPOINT": started["registry"].endpoint,
        "LLMOPS_TRAINING_INGESTION_ENDPOINT": started["ingestion"].endpoint,
        "LLMOPS_TRAINING_PROMPTS_ENDPOINT": started["prompts"].endpoint,
        "LLMOPS_TRAINING_POLL_INTERVAL_SECONDS": "0.5"}, logs / "training.log").start()
    endpoints["LLMOPS_TRAINING_ENDPOINT"] = started["training"].endpoint
    try:
        for service in started.values():
            await service.wait_serving(timeout=90)
        yield {"cli": Cli(embedded_stack.home, TEST_ADMIN_KEY, **endpoints), "services": started, "env": ray_env,
               "logs": logs}
    finally:
        for service in started.values():
            service.stop()


@pytest.fixture(scope="module")
def assets(platform, tmp_path_factory):
    """A bootstrapped base, an instruction dataset and a prompt, made with the command line."""
    cli, suffix = platform["cli"], uuid.uuid4().hex[:8]
    folder = tmp_path_factory.mktemp("assets")
    base = f"tiny-base-{suffix}"
    booted = _last_json(cli.ok("models", "bootstrap-base", base, "--steps", "40", "--json", timeout=600))
    rows = [{"instruction": f"What colour is box {i}?", "output": f"Box {i} is {['red', 'blue', 'green'][i % 3]}."}
            for i in range(240)]
    (folder / "boxes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    dataset = f"boxes-{suffix}"
    ingested = cli.json("datasets", "ingest", dataset, str(folder / "boxes.jsonl"))
    prompt = f"boxes-{suffix}"
    cli.ok("prompts", "create", prompt)
    (folder / "prompt.txt").write_text("Question: {{ instruction }}\nAnswer:")
    cli.ok("prompts", "version", prompt, "--file", str(folder / "prompt.txt"), "--var", "instruction:string")
    return {"base": base, "booted": booted, "dataset": f"{dataset}@{ingested['version']['version']}",
            "prompt": prompt}


async def _registry_version(platform, model_version: str) -> registry_pb.ModelVersion:
    name, number = model_version.removeprefix("models:/").split("/")
    async with grpc.aio.insecure_channel(platform["services"]["registry"].endpoint) as channel:
        return await registry_grpc.RegistryServiceStub(channel).GetModelVersion(
            registry_pb.GetModelVersionRequest(model_name=name, version=int(number)), metadata=METADATA)


async def test_bootstrap_then_a_lora_run_on_two_workers_registers_an_adapter_with_lineage(platform, assets, tmp_path):
    cli = platform["cli"]
    booted = assets["booted"]
    assert booted["model_version"] == f"models:/{assets['base']}/1" and booted["loss"] < 8.0  # ln(4096) = 8.3
    base = await _registry_version(platform, booted["model_version"])
    assert base.kind == registry_pb.MODEL_KIND_BASE and base.lineage.training_run_id == booted["run_id"]

    done = cli(*("train", "submit", "--base", f"models:/{assets['base']}/1", "--dataset", assets["dataset"],
                 "--prompt", f"{assets['prompt']}@latest", "--max-steps", "50", "--workers", "2", "--zero-stage", "2",
                 "--learning-rate", "0.003", "--follow", "--json"), timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    result = _last_json(done.stdout)
    assert result["status"] == "SUCCEEDED" and result["model_version"] and result["loss"] > 0

    adapter = await _registry_version(platform, result["model_version"])
    assert adapter.kind == registry_pb.MODEL_KIND_ADAPTER
    assert adapter.base_model_version == f"models:/{assets['base']}/1"
    assert list(adapter.lineage.dataset_versions) == [assets["dataset"]]
    assert adapter.lineage.prompt_version == f"{assets['prompt']}/1"
    assert adapter.lineage.training_run_id == result["run_id"] and len(adapter.lineage.config_hash) >= 16
    assert adapter.lineage.code_version

    shown = cli.ok("train", "show", result["run_id"], "--plot", str(tmp_path / "loss.png"))
    assert "SUCCEEDED" in shown and (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    again = cli("train", "reproduce", result["run_id"], "--tolerance", "0.05", "--json", timeout=600)
    verdict = _last_json(again.stdout)
    assert again.returncode == 0, again.stdout + again.stderr
    assert verdict["matches"] is True and verdict["points_compared"] >= 50 and verdict["max_abs_diff"] <= 0.05


async def test_a_requested_event_runs_like_submit_and_ends_with_a_completed_event(platform, assets):
    settings = CommonSettings.from_variables(platform["env"])
    completed: list[Envelope] = []
    bus = Bus(settings, producer="tests")

    async def on_completed(envelope: Envelope) -> None:
        completed.append(envelope)

    bus.subscribe(TrainingRunCompleted.event_type, durable=f"t-{uuid.uuid4().hex[:8]}", handler=on_completed)
    await bus.start()
    try:
        request = TrainingRunRequested(
            base_model_uri=f"models:/{assets['base']}/1", dataset_version=assets["dataset"],
            prompt_version=f"{assets['prompt']}@latest", name="by-event",
            spec={"hyperparameters": {"max_steps": 8}, "distributed": {"num_workers": 1}})  # TrainingSpec JSON
        envelope = Envelope.wrap(request, producer="tests")
        await bus.publish(envelope)
        await wait_for(lambda: [e for e in completed if e.correlation_id == envelope.correlation_id], 300,
                       what="llmops.training.run.completed", interval=1)
    finally:
        await bus.stop()
    event = next(e for e in completed if e.correlation_id == envelope.correlation_id)
    assert event.payload.model_version and event.payload.dataset_version == assets["dataset"]


async def test_a_two_trial_sweep_prices_each_trial(platform, assets):
    done = platform["cli"](*(
        "train", "sweep", "--base", f"models:/{assets['base']}/1", "--dataset", assets["dataset"],
        "--prompt", f"{assets['prompt']}@latest", "--max-steps", "12", "--eval-every", "6",
        "--param", "hyperparameters.learning_rate=choice:0.001,0.005", "--trials", "2", "--follow", "--json"),
        timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    sweep = _last_json(done.stdout)
    assert sweep["status"] == "SUCCEEDED" and len(sweep["trials"]) == 2
    for trial in sweep["trials"]:
        assert trial["compute_seconds"] > 0 and trial["tokens"] > 0 and trial["estimated_cost"] > 0
    assert sweep["best_run_id"] in {t["run_id"] for t in sweep["trials"]} and sweep["cheapest_run_id"]


async def test_with_ray_unreachable_a_run_fails_after_its_queue_timeout_and_the_service_stays_up(
        platform, assets, tmp_path):
    services = platform["services"]
    services["training"].stop()  # it shares the schema: its tracker would take the run to the real Ray
    lonely = ServiceProcess("training", SERVICES["training"], platform["env"] | {
        "LLMOPS_RAY_ADDRESS": "127.0.0.1:1", "LLMOPS_TRAINING_QUEUE_TIMEOUT_SECONDS": "3",
        "LLMOPS_TRAINING_RAY_CONNECT_TIMEOUT_SECONDS": "0.5", "LLMOPS_TRAINING_POLL_INTERVAL_SECONDS": "0.5",
        "LLMOPS_TRAINING_REGISTRY_ENDPOINT": services["registry"].endpoint,
        "LLMOPS_TRAINING_INGESTION_ENDPOINT": services["ingestion"].endpoint,
        "LLMOPS_TRAINING_PROMPTS_ENDPOINT": services["prompts"].endpoint}, tmp_path / "lonely.log").start()
    try:
        await lonely.wait_serving(timeout=90)
        cli = Cli(Path(platform["cli"].env["LLMOPS_HOME"]), TEST_ADMIN_KEY, LLMOPS_TRAINING_ENDPOINT=lonely.endpoint)
        submitted = _last_json(cli.ok("train", "submit", "--base", f"models:/{assets['base']}/1", "--dataset",
                                      assets["dataset"], "--prompt", f"{assets['prompt']}@latest", "--max-steps", "5",
                                      "--json"))

        def failed() -> dict | None:
            run = json.loads(cli.ok("train", "show", submitted["run_id"], "--json"))
            return run if run["status"] == "RUN_STATUS_FAILED" else None

        run = await wait_for(failed, 60, what="the queued run to fail", interval=1)
        assert "Ray" in json.dumps(run["error"]) or "ray" in json.dumps(run["error"])
        assert await health(lonely.port) == health_pb2.HealthCheckResponse.SERVING
    finally:
        lonely.stop()
        await services["training"].start().wait_serving(timeout=90)
