"""The training jobs on a real Ray head (the embedded stack's, shared by the run) with real S3: what
the service submits through ``RayLauncher``, without the service around it.

The base is a micro Llama built from a config with a BPE tokenizer trained here; the data is an
instruction Parquet shard in S3, like an ingested version's."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import time
import uuid

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from llmops_common.settings import CommonSettings
from llmops_common.storage import ArtifactStore
from llmops_common.templating import Template, VariableSpec, VariableType
from llmops_common.templating.wire import template_to_wire
from llmops_common.testing.waiting import wait_for
from llmops_training.base_models.tokenizer import save_tokenizer, train_tokenizer
from llmops_training.jobs.protocol import (
    DataPlan,
    Distributed,
    Hyperparameters,
    JobEvent,
    LoraPlan,
    SearchDimension,
    StorageAccess,
    SweepPlan,
    TrainPlan,
)
from llmops_training.launcher import JobLost
from llmops_training.ray_launcher import RayLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]  # real training on a shared 2-core machine
PROMPT = Template(text="Question: {{ instruction }}\nAnswer:", variables=(
    VariableSpec("instruction", VariableType.STRING, True, None, ""),
    VariableSpec("input", VariableType.STRING, False, "", "")))


def _records(count: int, split: str) -> list[dict[str, object]]:
    colours = ["red", "blue", "green", "amber"]
    return [{"record_id": f"{split}-{i}", "split": split, "instruction": f"what colour is box {i}", "input": "",
             "output": f"box {i} is {colours[i % 4]}", "source_file": "boxes.jsonl", "source_line": i}
            for i in range(count)]


def _put_parquet(store: ArtifactStore, uri: str, rows: list[dict[str, object]]) -> str:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    store.put_bytes(uri, buffer.getvalue())
    return uri


@pytest.fixture(scope="module")
def assets(ray_env, tmp_path_factory):
    """A micro base model and an instruction dataset in S3, and the plan pieces that point at them."""
    from transformers import LlamaConfig, LlamaForCausalLM

    settings = CommonSettings.from_variables(ray_env)
    store = ArtifactStore.from_settings(settings)
    store.ensure_buckets()
    prefix = f"jobs-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("micro-base")
    texts = [f"what colour is box {i} box {i} is {c}" for i in range(400) for c in ("red", "blue", "green", "amber")]
    tokenizer = train_tokenizer(texts, 512)
    save_tokenizer(tokenizer, folder, model_max_length=128)
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=128, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)).save_pretrained(folder)
    base_uri = f"s3://{settings.s3_bucket_models}/{prefix}/base"
    store.put_folder(base_uri + "/", folder)
    data = DataPlan(
        shape="instruction", template=template_to_wire(PROMPT),
        train_uris=(_put_parquet(store, f"s3://{settings.s3_bucket_datasets}/{prefix}/data/train-00000.parquet",
                                 _records(240, "train")),),
        validation_uris=(_put_parquet(store, f"s3://{settings.s3_bucket_datasets}/{prefix}/data/validation-00000"
                                             f".parquet", _records(32, "validation")),))
    storage = StorageAccess(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                            secret_key=settings.s3_secret_key.get_secret_value(), region=settings.s3_region)
    return {"settings": settings, "store": store, "base_uri": base_uri, "base_folder": folder, "data": data,
            "storage": storage, "prefix": prefix}


def _plan(assets, *, workers: int = 2, zero: int = 2, steps: int = 40, **hyperparameters) -> TrainPlan:
    run_id = f"r{uuid.uuid4().hex[:10]}"
    settings = assets["settings"]
    hp = {"learning_rate": 3e-3, "max_steps": steps, "micro_batch_size": 4, "max_seq_length": 48,
          "checkpoint_every_steps": 10, "eval_every_steps": 10} | hyperparameters
    return TrainPlan(run_id=run_id, base_uri=assets["base_uri"], data=assets["data"], method="lora",
                     lora=LoraPlan(r=8, alpha=16, target_modules=("q_proj", "v_proj")),
                     hyperparameters=Hyperparameters(**hp), distributed=Distributed(workers=workers, zero_stage=zero),
                     output_uri=f"s3://{settings.s3_bucket_models}/{assets['prefix']}/out/{run_id}",
                     checkpoint_uri=f"s3://{settings.s3_bucket_artifacts}/training-checkpoints",
                     storage=assets["storage"], progress_every_seconds=0.0)


@pytest.fixture(scope="module")
async def launcher(ray_env):
    launcher = RayLauncher(ray_env["LLMOPS_RAY_ADDRESS"])
    await wait_for(launcher.reachable, 180, what="the Ray head to accept this process", interval=2)
    yield launcher
    await launcher.close()


async def _follow(launcher: RayLauncher, job_id: str, *, timeout: float = 240.0, on_event=None) -> list[JobEvent]:
    events: list[JobEvent] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in await launcher.poll(job_id, events[-1].seq if events else 0):
            events.append(event)
            if on_event is not None:
                await on_event(event)
        if events and events[-1].terminal:
            return events
        await asyncio.sleep(0.5)
    raise AssertionError(f"job {job_id} did not end in {timeout} s: {[e.kind for e in events][-5:]}")


def _greedy(model, tokenizer) -> list[int]:
    ids = tokenizer("Question: what colour is box 7\nAnswer:", return_tensors="pt").input_ids
    with torch.no_grad():
        return model.generate(ids, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)[0].tolist()


async def test_lora_on_two_workers_with_zero2_learns_and_writes_a_loadable_adapter(launcher, assets, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    plan = _plan(assets, steps=60)
    await launcher.submit(plan.run_id, plan)
    await launcher.submit(plan.run_id, plan)  # idempotent: one driver, one trainer
    events = await _follow(launcher, plan.run_id)

    assert events[-1].kind == "succeeded", events[-1].message
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert sum(e.kind == "started" for e in events) == 1 and events[0].data["workers"] == 2
    validation = [e.metrics["val_loss"] for e in events if e.kind == "progress" and "val_loss" in e.metrics]
    assert events[-1].metrics["val_loss"] < validation[0] - 0.05  # it learned
    assert [e.step for e in events if e.kind == "checkpoint"] == [10, 20, 30, 40, 50]
    final = events[-1]
    assert final.metrics["steps"] == 60 and final.metrics["tokens"] > 0 and final.metrics["compute_seconds"] > 0
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "training_config.json",
            "metrics.json", "loss_curve.json"} <= set(final.data["files"])

    store = assets["store"]
    adapter = tmp_path / "adapter"
    store.get_folder(final.uri + "/", adapter)
    config = json.loads((adapter / "training_config.json").read_text())
    assert "storage" not in config
    assert assets["storage"].secret_key not in (adapter / "training_config.json").read_text()
    curve = json.loads((adapter / "loss_curve.json").read_text())
    assert [int(p["step"]) for p in curve] == list(range(1, 61))

    tokenizer = AutoTokenizer.from_pretrained(adapter)
    base = AutoModelForCausalLM.from_pretrained(assets["base_folder"])
    before = _greedy(base, tokenizer)
    tuned = PeftModel.from_pretrained(base, adapter)
    assert _greedy(tuned, tokenizer) != before


def _train_processes(kind: str = "RayTrainWorker") -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if kind in " ".join(p.info["cmdline"] or [])]


async def test_a_worker_killed_mid_run_resumes_from_its_checkpoint(launcher, assets, tmp_path):
    plan = _plan(assets, steps=160, checkpoint_every_steps=20, eval_every_steps=0)
    killed: list[int] = []

    async def kill_once(event: JobEvent) -> None:
        if event.kind == "progress" and event.step >= 50 and not killed:
            victim = _train_processes()[-1]
            killed.append(victim.pid)
            victim.send_signal(signal.SIGKILL)

    await launcher.submit(plan.run_id, plan)
    events = await _follow(launcher, plan.run_id, timeout=300, on_event=kill_once)

    assert killed and events[-1].kind == "succeeded", events[-1].message
    resumed = [e for e in events if e.kind == "resumed"]
    assert len(resumed) == 1 and resumed[0].step in (20, 40, 60)
    after = [e.step for e in events[events.index(resumed[0]):] if e.kind == "progress"]
    assert after[0] == resumed[0].step + 1 and after == list(range(after[0], 161))
    adapter = tmp_path / "out"
    assets["store"].get_folder(events[-1].uri + "/", adapter)
    curve = json.loads((adapter / "loss_curve.json").read_text())
    assert [int(p["step"]) for p in curve] == list(range(1, 161))  # continuous across the restart


async def test_cancel_stops_the_job_and_frees_its_resources(launcher, assets):
    import ray

    plan = _plan(assets, steps=5000, checkpoint_every_steps=1000)

    async def cancel_when_running(event: JobEvent) -> None:
        if event.kind == "progress" and event.step == 5:
            await launcher.cancel(plan.run_id)

    await launcher.submit(plan.run_id, plan)
    events = await _follow(launcher, plan.run_id, on_event=cancel_when_running)
    assert events[-1].kind == "cancelled"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
            ray.available_resources().get("CPU", 0) < 2 or _train_processes() or _train_processes("TrainController")):
        await asyncio.sleep(0.5)
    assert ray.available_resources().get("CPU", 0) == 2
    assert not _train_processes() and not _train_processes("TrainController")
    await launcher.cancel(plan.run_id)  # cancelling again is not an error
    assert (await launcher.poll(plan.run_id, 0))[-1].kind == "cancelled"


async def test_an_exploding_loss_fails_the_run_with_its_step(launcher, assets):
    plan = _plan(assets, workers=1, zero=0, steps=30).model_copy(update={"loss_limit": 1.0})
    await launcher.submit(plan.run_id, plan)
    events = await _follow(launcher, plan.run_id)
    assert events[-1].kind == "failed" and events[-1].step == 1
    assert "exploded" in events[-1].message and "step 1" in events[-1].message


async def test_a_two_trial_sweep_reports_each_trials_cost(launcher, assets):
    base = _plan(assets, workers=1, zero=0, steps=20, eval_every_steps=10)
    sweep_id = f"s{uuid.uuid4().hex[:10]}"
    plan = SweepPlan(sweep_id=sweep_id, base=base, algorithm="grid", max_trials=2,
                     dimensions=(SearchDimension(path="hyperparameters.learning_rate", choices=(1e-3, 8e-3)),))
    await launcher.submit(sweep_id, plan)
    events = await _follow(launcher, sweep_id, timeout=300)
    assert events[-1].kind == "succeeded", events[-1].message
    trials = events[-1].data["trials"]
    assert sorted(t["parameters"]["hyperparameters.learning_rate"] for t in trials) == [1e-3, 8e-3]
    for trial in trials:
        figures = trial["metrics"]
        assert trial["status"] == "succeeded" and trial["steps"] == 20
        assert figures["compute_seconds"] > 0 and figures["tokens"] > 0 and figures["peak_memory_bytes"] > 2**20
        assert figures["objective"] == figures["val_loss"]
    assert {e.data["trial"] for e in events if e.kind == "trial"} == {t["trial"] for t in trials}


async def test_an_unknown_job_is_lost_and_an_unreachable_cluster_is_reported(launcher):
    with pytest.raises(JobLost):
        await launcher.poll(f"missing-{uuid.uuid4().hex[:6]}", 0)
    assert not await RayLauncher("127.0.0.1:1", connect_timeout=0.5).reachable()
