"""Benchmark: LoRA fine-tuning samples/s through the training service's Ray path against a plain
PyTorch + PEFT loop, with the same model, data, batches, steps and micro-batch.

Model: a Llama built from a config with random weights (CPU: hidden 256, 4 layers, MLP 688, 4 heads,
vocab 2,048, about 4.2M parameters) and a byte-level BPE tokenizer trained on the data, saved to S3
on the embedded stack. Data: generated instruction records, each long enough to fill
``max_seq_length`` (128) after the prompt template, so every sample is exactly that many tokens and a
step costs the same whichever records it draws. LoRA r=8, alpha 16, dropout 0.05 on the attention
projections; AdamW at 2e-4, cosine schedule, gradient clipping at 1.0; micro-batch 8.

Runs one after the other, so no two share the cores:
  plain  a fresh process (spawned, as a Ray worker is) with ``torch.set_num_threads(1)``: the base
         from a local folder, PEFT LoRA, the same examples in the same batch order
         (``llmops_training.jobs.data``), then a bare loop: forward, backward, clip, AdamW, scheduler.
         It runs twice, before and after ``ray-1``, and its rate is the mean of the two, so load from
         other processes drifting during the run weighs on both sides alike.
  ray-1  the service's path: ``RayLauncher.submit`` of a TrainPlan (1 worker, ZeRO stage 0) to Ray
         on the embedded stack. A Ray Train worker reserves 1 CPU, so Ray sets OMP_NUM_THREADS=1 and
         torch uses one thread: the same as ``plain``. It reads the base and shards from S3.
  ray-2  2 workers, ZeRO stage 0 by default (DistributedDataParallel over gloo; ``--zero-stage 2``
         for DeepSpeed ZeRO-2), one thread each; each worker takes its own micro-batch, so a step
         trains 2 micro-batches. On 2 cores the two workers take one core each, beside Ray's own
         processes: ``scaling_2_workers`` (2 workers / 1) would be 2.0 if nothing else ran.

Steady state: samples/s from the end of step ``--skip`` to the end of the last step (the progress
events' ``at`` for Ray, ``progress_every_seconds=0`` so every step reports; the same clock after
each step for ``plain``), and at the median step. Start-up, apart: from the start (``submit`` for
Ray; loading the local base for ``plain``) to the end of step 1.

``--gpu`` (a machine with a CUDA GPU): a Llama of about 1.1B parameters (TinyLlama's shape), bf16
autocast, sequence 1,024, the plain loop and the Ray path with one GPU worker; it adds tokens/s and
model-FLOPs utilisation, MFU = 6 * parameters * tokens/s / peak FLOP/s (``--peak-tflops``, 989 for an
H200's dense bf16).

    python bench/training.py [--quick] [--gpu]      # needs the training extras (in .[dev])

The last line printed is one JSON object (see CONVENTIONS.md, habit 10).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import platform
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from llmops_common.embedded import EmbeddedStack, StackPorts
from llmops_common.settings import CommonSettings
from llmops_common.storage import ArtifactStore
from llmops_common.templating import Template, VariableSpec, VariableType
from llmops_common.templating.wire import template_to_wire
from llmops_training.jobs import data
from llmops_training.jobs.protocol import DataPlan, Distributed, Hyperparameters, LoraPlan, StorageAccess, TrainPlan
from llmops_training.ray_launcher import RayLauncher

TARGET_OVERHEAD, TARGET_MFU = 0.9, 0.35
BASE_URI, DATA_URI = "s3://llmops-models/bench-training/base", "s3://llmops-datasets/bench-training/v1"
TEMPLATE = Template(text="Q: {{ instruction }} {{ input }}\nA:", variables=(
    VariableSpec("instruction", VariableType.STRING, True, None, ""),
    VariableSpec("input", VariableType.STRING, False, "", "")))
LORA = LoraPlan(r=8, alpha=16, dropout=0.05, target_modules=("q_proj", "k_proj", "v_proj", "o_proj"))
CPU_MODEL = {"hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 4, "num_attention_heads": 4,
             "num_key_value_heads": 4, "vocab_size": 2048}
GPU_MODEL = {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
             "num_key_value_heads": 4, "vocab_size": 32000}  # TinyLlama's shape: 1.1B parameters


def records(count: int, words_per_output: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 8))) for _ in range(3000)]
    return [{"record_id": str(i), "split": "train", "instruction": "Explain " + " ".join(rng.choices(words, k=8)),
             "input": "", "output": " ".join(rng.choices(words, k=words_per_output)), "source_file": "bench",
             "source_line": i} for i in range(count)]


def build_base(folder: Path, shape: dict, texts: list[str], seq: int) -> int:
    """A random-weight Llama of ``shape`` and a BPE tokenizer trained on ``texts``; its parameters."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=min(shape["vocab_size"], 2048), special_tokens=["<unk>", "<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>")
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**shape, max_position_embeddings=max(256, seq), bos_token_id=1,
                                         eos_token_id=2, pad_token_id=3))
    if shape["vocab_size"] > 10_000:  # the 1B base: half the bytes to write and download
        model = model.to(torch.bfloat16)
    model.save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def put_parquet(store: ArtifactStore, uri: str, rows: list[dict]) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    store.put_bytes(uri, buffer.getvalue())


def make_plan(args: argparse.Namespace, run_id: str, workers: int, zero: int, storage: StorageAccess) -> TrainPlan:
    hp = Hyperparameters(learning_rate=2e-4, max_steps=args.steps, micro_batch_size=args.micro_batch,
                         max_seq_length=args.seq, lr_scheduler="cosine",
                         checkpoint_every_steps=args.steps, eval_every_steps=0)  # no checkpoint, no eval inside
    dist = (Distributed(workers=1, use_gpu=True, gpus_per_worker=1, precision="bf16") if args.gpu
            else Distributed(workers=workers, zero_stage=zero))
    return TrainPlan(run_id=run_id, base_uri=BASE_URI,
                     data=DataPlan(shape="instruction", train_uris=(f"{DATA_URI}/data/train-00000.parquet",),
                                   template=template_to_wire(TEMPLATE)),
                     lora=LORA, hyperparameters=hp, distributed=dist,
                     output_uri=f"s3://llmops-models/bench-training/out/{run_id}",
                     checkpoint_uri="s3://llmops-artifacts/bench-training-checkpoints", storage=storage,
                     max_failures=0, progress_every_seconds=0)


def run_plain(folder: Path, rows: list[dict], plan: TrainPlan, threads: int, device: str) -> dict:
    """The baseline: transformers + PEFT + torch AdamW, the service's examples in its batch order."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_scheduler

    torch.set_num_threads(threads)
    hp, began = plan.hyperparameters, time.time()
    torch.manual_seed(hp.seed)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=LORA.r, lora_alpha=LORA.alpha, lora_dropout=LORA.dropout,
                                             task_type="CAUSAL_LM", target_modules=list(LORA.target_modules)))
    model.to(device).train()
    examples = data.tokenize(rows, plan.data, tokenizer, hp.max_seq_length)
    order = data.BatchOrder(len(examples), hp.micro_batch_size, 1, hp.seed)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=hp.learning_rate, weight_decay=hp.weight_decay)
    scheduler = get_scheduler(hp.lr_scheduler, optimizer, num_warmup_steps=0, num_training_steps=hp.max_steps)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda")
    ends, loss = {}, float("nan")
    for step in range(hp.max_steps):
        batch = data.collate([examples[i] for i in order.micro_batch_at(step, 0)], tokenizer.pad_token_id)
        batch = {k: v.to(device) for k, v in batch.items()}
        with autocast:
            out = model(**batch).loss
        out.backward()
        torch.nn.utils.clip_grad_norm_(trainable, hp.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss = float(out.detach())  # waits for the step, on a GPU too
        ends[step + 1] = time.time()
    return {"ends": ends, "startup_s": ends[1] - began, "loss": loss,
            "tokens_per_sample": len(examples[0].input_ids)}


async def run_ray(launcher: RayLauncher, plan: TrainPlan, timeout: float) -> dict:
    """Submit ``plan`` through the service's launcher and read its event log to the end."""
    began = time.time()
    await launcher.submit(plan.run_id, plan)
    events, cursor = [], 0
    while not events or not events[-1].terminal:
        if time.time() - began > timeout:
            await launcher.cancel(plan.run_id)
            raise SystemExit(f"{plan.run_id} did not finish in {timeout:.0f} s (cancelled)")
        await asyncio.sleep(0.5)
        fresh = await launcher.poll(plan.run_id, cursor)
        events.extend(fresh)
        cursor = events[-1].seq if events else 0
    if events[-1].kind != "succeeded":
        raise SystemExit(f"{plan.run_id} ended {events[-1].kind}: {events[-1].message}")
    ends = {e.step: e.at for e in events if e.kind == "progress"}  # a later entry for a step wins
    started = next(e.at for e in events if e.kind == "started")
    last = max(ends)
    return {"ends": ends, "startup_s": ends[1] - began, "workers_up_s": started - began,
            "loss": next(e.metrics["loss"] for e in reversed(events) if e.kind == "progress" and e.step == last)}


def rates(ends: dict[int, float], skip: int, last: int, samples_per_step: int) -> tuple[float, float]:
    """Samples/s over steps ``skip``..``last``: over the whole window, and at the median step."""
    window = (last - skip) * samples_per_step / (ends[last] - ends[skip])
    steps = sorted(ends[s + 1] - ends[s] for s in range(skip, last))
    return window, samples_per_step / steps[len(steps) // 2]


def summarize(args: argparse.Namespace, runs: dict[str, dict], params: int) -> dict:
    mb, seq = args.micro_batch, args.seq
    rate, median = {}, {}
    for name, run in runs.items():
        rate[name], median[name] = rates(run["ends"], args.skip, args.steps, mb * run["workers"])
    rate["plain"] = (rate["plain_before"] + rate["plain_after"]) / 2
    median["plain"] = (median["plain_before"] + median["plain_after"]) / 2
    overhead = rate["ray_1_worker"] / rate["plain"]
    result = {
        "bench": "training", "overhead_ratio": round(overhead, 3), "target_overhead_ratio": TARGET_OVERHEAD,
        **{f"{name}_samples_per_s": round(value, 2) for name, value in rate.items()},
        **{f"{name}_median_step_samples_per_s": round(value, 2) for name, value in median.items()},
        "plain_startup_s": round(runs["plain_before"]["startup_s"], 1),
        **{f"{name}_startup_s": round(run["startup_s"], 1) for name, run in runs.items() if name.startswith("ray")},
        **{f"{name}_workers_up_s": round(run["workers_up_s"], 1) for name, run in runs.items()
           if name.startswith("ray")},
        **{f"{name}_final_loss": round(run["loss"], 4) for name, run in runs.items()},
        "steps": args.steps, "steady_steps": args.steps - args.skip, "micro_batch": mb, "seq_len": seq,
        "model_parameters": params, "lora": f"r={LORA.r} on {','.join(LORA.target_modules)}", "torch_threads": 1,
    }
    print(f"\nsamples/s over steps {args.skip}..{args.steps} (micro-batch {mb} a worker, {seq} tokens a sample), "
          f"whole window / median step:")
    for name, run in runs.items():
        up = f" (workers up, base loaded: {run['workers_up_s']:.1f} s)" if "workers_up_s" in run else ""
        print(f"  {name:<14}{rate[name]:>8.2f} /{median[name]:>7.2f}   start-up to step 1 {run['startup_s']:5.1f} s{up}"
              f"   loss at the end {run['loss']:.4f}")
    print(f"overhead_ratio (Ray, 1 worker / mean of the plain runs before and after it): {overhead:.3f} "
          f"(target >= {TARGET_OVERHEAD}); at the median step: {median['ray_1_worker'] / median['plain']:.3f}")
    if args.gpu:
        tokens = {name: value * seq for name, value in rate.items()}
        mfu = {name: 6 * params * value / (args.peak_tflops * 1e12) for name, value in tokens.items()}
        result |= {"tokens_per_s": round(tokens["ray_1_worker"]), "plain_tokens_per_s": round(tokens["plain"]),
                   "mfu": round(mfu["ray_1_worker"], 4), "plain_mfu": round(mfu["plain"], 4),
                   "target_mfu": TARGET_MFU, "peak_tflops": args.peak_tflops, "precision": "bf16 autocast",
                   "device": args.device_name}
        print(f"Ray, 1 GPU worker: {tokens['ray_1_worker']:,.0f} tokens/s, MFU {mfu['ray_1_worker']:.1%} (plain "
              f"{mfu['plain']:.1%}; target >= {TARGET_MFU:.0%} of {args.peak_tflops} TFLOP/s)")
    else:
        scaling = rate["ray_2_workers"] / rate["ray_1_worker"]
        result |= {"scaling_2_workers": round(scaling, 3), "zero_stage_2_workers": args.zero_stage,
                   "scaling_note": f"samples/s of 2 workers (ZeRO stage {args.zero_stage}, one torch thread each) / "
                                   f"1 worker; on {os.cpu_count()} cores shared with Ray's own processes, "
                                   f"2.0 would be perfect"}
        print(f"scaling_2_workers (2 workers / 1, ZeRO stage {args.zero_stage}): {scaling:.3f}")
    result["machine"] = f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}, " \
                        f"torch {torch.__version__}"
    return result


def run_plain_apart(*arguments: object) -> dict:
    """``run_plain`` in a fresh process (as a Ray worker is), which frees its memory when it ends."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_plain, *arguments).result()


async def main(args: argparse.Namespace) -> dict:
    shape = GPU_MODEL if args.gpu else CPU_MODEL
    device = "cuda" if args.gpu else "cpu"
    args.device_name = torch.cuda.get_device_name(0) if args.gpu else "cpu"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        stack = EmbeddedStack(tmp / "stack", StackPorts.free())
        launcher = None
        try:
            stack.up(with_ray=True)
            env = stack.env(with_ray=True)
            os.environ.update(env)  # Ray's token auth for this driver
            settings = CommonSettings.from_variables(env)
            store = ArtifactStore.from_settings(settings)
            store.ensure_buckets()
            storage = StorageAccess(endpoint=settings.s3_endpoint, access_key=settings.s3_access_key,
                                    secret_key=settings.s3_secret_key.get_secret_value())
            samples = args.micro_batch * (1 if args.gpu else 2) * 32  # 32 distinct steps, then a new epoch
            rows = records(samples, words_per_output=args.seq)  # a word is 1 token or more: every sample is cut
            began = time.monotonic()
            params = build_base(tmp / "base", shape, [f"{r['instruction']} {r['output']}" for r in rows], args.seq)
            store.put_folder(f"{BASE_URI}/", tmp / "base")
            put_parquet(store, f"{DATA_URI}/data/train-00000.parquet", rows)
            print(f"base: {params:,} parameters, {len(rows)} records, built and uploaded in "
                  f"{time.monotonic() - began:.0f} s", flush=True)
            launcher = RayLauncher(env["LLMOPS_RAY_ADDRESS"], connect_timeout=10)
            # The plain loop runs before and after the 1-worker Ray run, and its rate is the mean of the
            # two, so load from other processes that drifts during the run weighs on both sides alike.
            order = [("plain_before", 0), ("ray_1_worker", 1), ("plain_after", 0)]
            runs: dict[str, dict] = {}
            for name, workers in order + ([] if args.gpu else [("ray_2_workers", 2)]):
                if workers == 0:
                    plan = make_plan(args, "bench-plain", 1, 0, storage)
                    runs[name] = run_plain_apart(tmp / "base", rows, plan, 1, device) | {"workers": 1}
                    assert runs[name]["tokens_per_sample"] == args.seq, "every sample must fill the sequence"
                else:
                    run_id = f"bench-{name.replace('_', '-')}-{int(time.time())}"
                    plan = make_plan(args, run_id, workers, 0 if workers == 1 else args.zero_stage, storage)
                    runs[name] = await run_ray(launcher, plan, args.run_timeout) | {"workers": workers}
                print(f"{name}: done, start-up to step 1 {runs[name]['startup_s']:.1f} s", flush=True)
        finally:
            if launcher is not None:
                await launcher.close()
            stack.down()
    return summarize(args, runs, params)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 steps, 10 untimed (about 5 min on 2 cores)")
    parser.add_argument("--gpu", action="store_true", help="a 1.1B Llama in bf16 on one CUDA GPU, with MFU")
    parser.add_argument("--steps", type=int, help="steps per run (default 200; --quick 60; --gpu 60)")
    parser.add_argument("--skip", type=int, help="first steps left out of the steady state (default 20; --quick 10)")
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--seq", type=int, help="tokens a sample (default 128; --gpu 1024)")
    parser.add_argument("--zero-stage", type=int, default=0, choices=(0, 2), help="ZeRO stage of the 2-worker run")
    parser.add_argument("--run-timeout", type=float, default=1200, help="seconds a Ray run may take")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="the GPU's dense bf16 peak (H200: 989)")
    arguments = parser.parse_args()
    if arguments.gpu and not torch.cuda.is_available():
        parser.error("--gpu needs a CUDA GPU")
    arguments.steps = arguments.steps or (60 if arguments.quick or arguments.gpu else 200)
    arguments.skip = arguments.skip if arguments.skip is not None else (10 if arguments.quick else 20)
    arguments.seq = arguments.seq or (1024 if arguments.gpu else 128)
    print(json.dumps(asyncio.run(main(arguments))), flush=True)
