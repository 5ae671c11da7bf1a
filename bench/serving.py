"""Benchmark: the serving service's output tokens/s under 32 concurrent streaming clients, against a naive
one-at-a-time server, the ideal static batch, and ``transformers serve``, on the same model in one run.

Model: a Llama built from a config with random weights (CPU: vocabulary 8,192, hidden 384, 6 layers,
6 heads, MLP 1,088: about 17.4M parameters; embeddings untied), seed 0, with a byte-level BPE tokenizer
trained offline on the project's seeded corpus (``llmops_training.base_models``), saved with
``save_pretrained`` to a temporary folder. Ten LoRA adapters on it (PEFT, r=8, alpha 16 on
q_proj,v_proj, ``init_lora_weights=False`` so B is random and non-zero; seeds 100..109).

Setups, each server its own process in its own process group (stopped when the bench ends), with
the same torch thread count (``--threads``: ``OMP_NUM_THREADS`` and ``torch.set_num_threads``). The
default is 1: the load's clients run in this process beside the servers, and on a shared 2-core
machine two OpenMP threads that wait for each other while other processes hold a core swing from
100 to 1,200 tokens/s for the same static batch, where one thread holds at 500-700.
  project        ``llmops-serving`` (``python -m llmops_serving.main``) on the embedded stack (NATS,
                 Postgres, S3; migrated) beside the registry service (as deployed: a replica is ready
                 once it has read the registry's aliases; there are none), serving the folder as
                 ``bench`` and four of the adapters as ``a1``..``a4`` from ``LLMOPS_SERVING_LOCAL_MODELS``;
                 bearer: the bootstrap admin key; rate limit off (no baseline has one).
  naive          ``bench/serving_naive.py``: Starlette on uvicorn, one ``model.generate`` at a time
                 behind a lock, streamed.
  static         in this process, not a server: all of a round's prompts in one ``generate`` (left
                 padding), the ceiling. Its TTFT is a one-token ``generate`` of the same batch (prefill).
  tserve         ``transformers serve FOLDER --continuous-batching --cb-num-blocks 64
                 --cb-max-batch-tokens 1024`` (its default KV sizing asks for 12 GB on CPU and dies).
                 If it cannot run, the reason goes to ``transformers_serve_error`` and the run goes on.
  one_adapter,   the project's server again, every request for ``a1``; then requests spread over
  mixed_adapters ``a1``..``a4`` in turn (``mixed_adapters_ratio`` = mixed / one adapter).

Load: 32 concurrent clients (asyncio + aiohttp), each sending ``--per-client`` requests back to back
to ``POST /v1/completions``: greedy (``temperature`` 0), ``max_tokens`` 32 with ``ignore_eos`` (a vLLM
extension; the naive server maps it to ``min_new_tokens``), streamed with
``stream_options.include_usage``. Tokens are counted from each response's ``usage.completion_tokens``
(every request must report exactly 32; ``transformers serve`` ignores ``ignore_eos``, so the prompts are
chosen, in process, among those whose greedy continuation has no EOS within 32 tokens). TTFT is from
sending a request to its first chunk carrying text; latency to the end of its stream. Each setup gets
a warm-up burst of 32 requests first. Rounds are interleaved (every setup once a round), so drift on
the shared machine hits all alike; tokens/s is the median over rounds of a round's tokens / its wall
time, and TTFT and latency percentiles are over every request of every round.

Memory: ``llmops_inference.engine.Engine`` in a fresh process: ``engine.memory()`` with the base
alone and with 10 adapters loaded (``memory_10_adapters_ratio`` = (parameters + adapters) /
parameters), and the process RSS before and after loading them.

``--gpu --model-folder F`` (a CUDA machine): the same on a model folder of at least 1B parameters in
bf16 (adapters built on it; ``transformers serve`` with its default KV sizing).

    python bench/serving.py [--quick] [--gpu --model-folder F]

The last line printed is one JSON object (see CONVENTIONS.md, habit 10).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import aiohttp
import torch
from processes import spawn, start_registry, stop

from llmops_cli.migrations import migrate
from llmops_common.embedded import EmbeddedStack, StackPorts, free_port

NEW_TOKENS, CLIENTS, ADAPTERS, SERVED_ADAPTERS, PROMPT_TOKENS = 32, 32, 10, 4, 24
ADMIN_KEY = "llmops_bootstrap_bench-admin"
TARGETS = {"speedup_vs_naive": 5.0, "ratio_vs_static_batch": 0.85, "ratio_vs_transformers_serve": 1.0,
           "mixed_adapters_ratio": 0.8}
CPU_MODEL = {"vocab_size": 8192, "hidden_size": 384, "intermediate_size": 1088, "num_hidden_layers": 6,
             "num_attention_heads": 6, "num_key_value_heads": 6, "max_position_embeddings": 512}
HERE = Path(__file__).resolve().parent


# -- the model, its adapters and the prompts ------------------------------------------------------------

def build_base(folder: Path) -> None:
    """The CPU model: a random Llama of CPU_MODEL (seed 0) and a BPE tokenizer trained on the project's corpus."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from llmops_training.base_models.corpus import generate_documents
    from llmops_training.base_models.tokenizer import save_tokenizer, train_tokenizer

    tokenizer = train_tokenizer(generate_documents(seed=0, count=4000), CPU_MODEL["vocab_size"])
    config = LlamaConfig(**CPU_MODEL, tie_word_embeddings=False, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).eval().save_pretrained(folder)
    save_tokenizer(tokenizer, folder, model_max_length=config.max_position_embeddings)


def build_adapters(base: Path, root: Path, dtype: torch.dtype) -> list[Path]:
    """ADAPTERS LoRA adapters on ``base``, each with random non-zero A and B (seeds 100 on)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    folders = []
    for i in range(ADAPTERS):
        torch.manual_seed(100 + i)
        config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM",
                            init_lora_weights=False)
        peft_model = get_peft_model(model, config)
        folders.append(root / f"a{i + 1}")
        peft_model.save_pretrained(folders[-1])
        model = peft_model.unload()  # the base back, without the LoRA layers
    return folders


def load_model(folder: Path, device: str, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
    if tokenizer.pad_token is None:  # a Llama tokenizer has none
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).to(device).eval()
    return model, tokenizer


def pick_prompts(model, tokenizer, device: str) -> list[str]:
    """CLIENTS prompts of about PROMPT_TOKENS tokens whose greedy continuation has no EOS within
    NEW_TOKENS (a server that ignores ``ignore_eos`` still yields every token)."""
    from llmops_training.base_models.corpus import generate_documents

    prompts = []
    for doc in generate_documents(seed=7, count=8 * CLIENTS):
        ids = tokenizer(doc, add_special_tokens=False).input_ids[:PROMPT_TOKENS]
        prompts.append(tokenizer.decode(ids))
    kept = []
    for start in range(0, len(prompts), CLIENTS):
        batch = prompts[start:start + CLIENTS]
        out = static_generate(model, tokenizer, batch, device, NEW_TOKENS, min_tokens=0)
        kept += [p for p, row in zip(batch, out, strict=True) if tokenizer.eos_token_id not in row.tolist()]
        if len(kept) >= CLIENTS:
            return kept[:CLIENTS]
    raise SystemExit(f"only {len(kept)} prompts of {len(prompts)} continue for {NEW_TOKENS} tokens without EOS")


def static_generate(model, tokenizer, prompts: list[str], device: str, new_tokens: int, *, min_tokens: int):
    """One ``generate`` over every prompt (left padding, greedy); the new tokens, a row a prompt."""
    batch = tokenizer(prompts, return_tensors="pt", padding=True).to(device)  # as the baselines' servers do
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=new_tokens, min_new_tokens=min_tokens, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return out[:, batch.input_ids.shape[1]:]


# -- servers --------------------------------------------------------------------------------------------

class Server(NamedTuple):
    """A server process in its own process group (so stop() ends it and whatever it spawned), and its port."""

    name: str
    proc: subprocess.Popen
    port: int
    log: Path

    @classmethod
    def spawn(cls, name: str, cmd: list[str], env: dict[str, str], port: int, tmp: Path,
              procs: list[subprocess.Popen]) -> Server:
        log = tmp / f"{name}.log"
        return cls(name, spawn(cmd, env, log, procs), port, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/completions"

    async def wait_healthy(self, timeout: float) -> None:
        """Until GET /health answers 200; RuntimeError with the log's tail if it dies or time runs out."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    health = f"http://127.0.0.1:{self.port}/health"
                    async with session.get(health, timeout=aiohttp.ClientTimeout(2)) as reply:
                        if reply.status == 200:
                            return
                except (TimeoutError, aiohttp.ClientError):
                    pass
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    tail = self.log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{self.name} did not come up (exit {self.proc.poll()}):\n{tail}")
                await asyncio.sleep(0.5)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the process and its children."""
        import psutil

        root = psutil.Process(self.proc.pid)
        return sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])


def thread_env(threads: int) -> dict[str, str]:
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}


def start_project(env: dict[str, str], registry_port: int, folder: Path, adapters: list[Path], args, tmp: Path,
                  procs) -> Server:
    port = free_port()
    local = {"bench": str(folder)} | {a.name: {"path": str(a), "base": "bench"} for a in adapters[:SERVED_ADAPTERS]}
    return Server.spawn("project", [sys.executable, "-m", "llmops_serving.main"], {
        **env, **thread_env(args.threads), "LLMOPS_SERVING_LOCAL_MODELS": json.dumps(local),
        "LLMOPS_SERVING_HTTP_HOST": "127.0.0.1", "LLMOPS_SERVING_HTTP_PORT": str(port),
        "LLMOPS_SERVING_GRPC_PORT": str(free_port()), "LLMOPS_SERVING_METRICS_PORT": str(free_port()),
        "LLMOPS_SERVING_DEVICE": args.device, "LLMOPS_SERVING_RATE_LIMIT_PER_MINUTE": "0",
        "LLMOPS_SERVING_REGISTRY_ENDPOINT": f"127.0.0.1:{registry_port}",
        "LLMOPS_SERVING_PROMPTS_ENDPOINT": f"127.0.0.1:{free_port()}",  # not called: no release is served
        "LLMOPS_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "LLMOPS_LOG_FORMAT": "text"}, port, tmp, procs)


def start_naive(folder: Path, args, tmp: Path, procs) -> Server:
    port = free_port()
    return Server.spawn("naive", [sys.executable, str(HERE / "serving_naive.py"), str(folder), "--port", str(port),
                                  "--threads", str(args.threads), "--device", args.device, "--dtype", args.dtype],
                        thread_env(args.threads), port, tmp, procs)


def start_tserve(folder: Path, args, tmp: Path, procs) -> Server:
    port = free_port()
    sizing = [] if args.gpu else ["--cb-num-blocks", "64", "--cb-max-batch-tokens", "1024"]
    return Server.spawn("tserve", [str(Path(sys.executable).parent / "transformers"), "serve", str(folder),
                                   "--continuous-batching", *sizing, "--device", args.device, "--dtype", args.dtype,
                                   "--host", "127.0.0.1", "--port", str(port)],
                        thread_env(args.threads), port, tmp, procs)


# -- load -----------------------------------------------------------------------------------------------

async def one_request(session: aiohttp.ClientSession, url: str, body: dict, headers: dict) -> dict:
    """One streamed completion: its TTFT, latency and completion tokens (from ``usage``)."""
    started = time.perf_counter()
    ttft, usage = None, None
    async with session.post(url, json=body, headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {(await response.text())[:300]}")
        async for raw in response.content:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                break
            chunk = json.loads(data)
            choices = chunk.get("choices") or []
            if ttft is None and choices and choices[0].get("text"):
                ttft = time.perf_counter() - started
            usage = chunk.get("usage") or usage
    latency = time.perf_counter() - started
    if not usage:
        raise RuntimeError(f"{url}: the stream carried no usage")
    return {"ttft": ttft if ttft is not None else latency, "latency": latency, "tokens": usage["completion_tokens"]}


class Load(NamedTuple):
    """Who a setup's requests go to: the server, the models in turn, the bearer key, extra body fields."""

    server: str
    models: list[str]
    key: str | None = None
    extra: dict = {"ignore_eos": True}


async def burst(url: str, prompts: list[str], load: Load, per_client: int, new_tokens: int) -> dict:
    """A client a prompt (CLIENTS in a measured burst), all at once, each sending ``per_client`` requests back
    to back; the figures of the burst."""
    headers = {"Authorization": f"Bearer {load.key}"} if load.key else {}

    async def client(i: int, session: aiohttp.ClientSession) -> list[dict]:
        out = []
        for _ in range(per_client):
            body = {"model": load.models[i % len(load.models)], "prompt": prompts[i], "max_tokens": new_tokens,
                    "temperature": 0, "stream": True, "stream_options": {"include_usage": True}, **load.extra}
            out.append(await one_request(session, url, body, headers))
        return out

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=1800)) as session:
        started = time.perf_counter()
        results = [r for rs in await asyncio.gather(*(client(i, session) for i in range(len(prompts)))) for r in rs]
        wall = time.perf_counter() - started
    tokens = [r["tokens"] for r in results]
    if any(t != new_tokens for t in tokens):
        raise RuntimeError(f"{url}: completion_tokens {sorted(set(tokens))}, every request asked {new_tokens}")
    return {"tokens": sum(tokens), "wall": wall, "ttft": [r["ttft"] for r in results],
            "latency": [r["latency"] for r in results]}


def static_burst(model, tokenizer, prompts: list[str], per_client: int, device: str) -> dict:
    """The ceiling: each of ``per_client`` batches is every prompt in one ``generate``."""
    ttft, latency, tokens, wall = [], [], 0, 0.0
    for _ in range(per_client):
        started = time.perf_counter()
        static_generate(model, tokenizer, prompts, device, 1, min_tokens=1)  # prefill and one token
        ttft += [time.perf_counter() - started] * len(prompts)
        started = time.perf_counter()
        out = static_generate(model, tokenizer, prompts, device, NEW_TOKENS, min_tokens=NEW_TOKENS)
        took = time.perf_counter() - started
        latency += [took] * len(prompts)
        tokens, wall = tokens + out.numel(), wall + took
    return {"tokens": tokens, "wall": wall, "ttft": ttft, "latency": latency}


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


def figures(bursts: list[dict]) -> dict:
    ttft = [t for b in bursts for t in b["ttft"]]
    latency = [t for b in bursts for t in b["latency"]]
    return {"tokens_per_s": round(statistics.median(b["tokens"] / b["wall"] for b in bursts), 1),
            "ttft_p50_ms": round(percentile(ttft, 50) * 1e3, 1), "ttft_p99_ms": round(percentile(ttft, 99) * 1e3, 1),
            "latency_p50_ms": round(percentile(latency, 50) * 1e3, 1),
            "latency_p99_ms": round(percentile(latency, 99) * 1e3, 1), "requests": len(latency),
            "round_tokens_per_s": [round(b["tokens"] / b["wall"], 1) for b in bursts]}


# -- memory ---------------------------------------------------------------------------------------------

def engine_memory(folder: str, adapters: list[str], device: str, threads: int) -> dict:
    """In a fresh process: the engine's memory and this process's RSS, base alone and with the adapters."""
    import psutil

    from llmops_inference.engine import Engine

    torch.set_num_threads(threads)
    rss = psutil.Process().memory_info
    engine = Engine.from_folder(folder, device=device, max_batch=64, max_adapters=16)
    try:
        base, rss_base = engine.memory(), rss().rss
        for path in adapters:
            engine.load_adapter(Path(path).name, path)
        loaded, rss_loaded = engine.memory(), rss().rss
    finally:
        engine.close()
    return {"base": base, "loaded": loaded, "rss_base": rss_base, "rss_loaded": rss_loaded}


def memory_figures(folder: Path, adapters: list[Path], args) -> dict:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        m = pool.submit(engine_memory, str(folder), [str(a) for a in adapters], args.device, args.threads).result()
    base = m["base"]["parameters_bytes"] + m["base"]["adapter_bytes"]
    loaded = m["loaded"]["parameters_bytes"] + m["loaded"]["adapter_bytes"]
    return {"memory_10_adapters_ratio": round(loaded / base, 4), "memory_base_bytes": base,
            "memory_10_adapters_bytes": loaded, "memory_adapter_bytes": m["loaded"]["adapter_bytes"],
            "memory_kv_cache_bytes": m["loaded"]["kv_cache_bytes"], "rss_base_bytes": m["rss_base"],
            "rss_10_adapters_bytes": m["rss_loaded"], "rss_10_adapters_diff_bytes": m["rss_loaded"] - m["rss_base"]}


# -- the run --------------------------------------------------------------------------------------------

async def main(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp, procs = Path(tmp_dir), []
        stack = EmbeddedStack(tmp / "stack", StackPorts.free())
        try:
            began = time.monotonic()
            folder = Path(args.model_folder) if args.model_folder else tmp / "base"
            if not args.model_folder:
                build_base(folder)
            adapters = build_adapters(folder, tmp / "adapters", dtype)
            model, tokenizer = load_model(folder, args.device, dtype)
            params = sum(p.numel() for p in model.parameters())
            prompts = pick_prompts(model, tokenizer, args.device)
            print(f"model: {params:,} parameters, {len(adapters)} adapters, {len(prompts)} prompts; built in "
                  f"{time.monotonic() - began:.0f} s", flush=True)

            stack.up()
            env = stack.env()
            await migrate(["registry", "serving"], env)
            registry_port = await start_registry(env, tmp, procs, admin_key=ADMIN_KEY)
            servers = {"project": start_project(env, registry_port, folder, adapters, args, tmp, procs),
                       "naive": start_naive(folder, args, tmp, procs),
                       "tserve": start_tserve(folder, args, tmp, procs)}
            for server in servers.values():
                if server.name != "tserve":
                    await server.wait_healthy(args.start_timeout)
            loads = {
                "project": Load("project", ["bench"], ADMIN_KEY), "naive": Load("naive", ["bench"]),
                # it answers 422 to ignore_eos: the prompts were chosen so that none meets EOS
                "tserve": Load("tserve", [str(folder)], extra={}),
                "one_adapter": Load("project", ["a1"], ADMIN_KEY),
                "mixed_adapters": Load("project", [f"a{i + 1}" for i in range(SERVED_ADAPTERS)], ADMIN_KEY),
            }
            tserve_error = None
            try:  # up, and one short request, so that it fails here, cleanly, if it cannot generate
                await servers["tserve"].wait_healthy(args.start_timeout)
                await burst(servers["tserve"].url, prompts[:1], loads["tserve"], 1, 4)
            except (RuntimeError, TimeoutError, aiohttp.ClientError) as exc:
                tserve_error = str(exc)[-1500:]
                print(f"transformers serve: not measured: {tserve_error.splitlines()[0]}", flush=True)
                stop(servers.pop("tserve").proc)
                del loads["tserve"]
            print(f"servers up at {time.monotonic() - began:.0f} s", flush=True)

            for load in loads.values():  # warm-up: a burst of short requests each
                await burst(servers[load.server].url, prompts, load, 1, 8)
            static_generate(model, tokenizer, prompts, args.device, 8, min_tokens=8)
            idle = {name: server.cpu_seconds() for name, server in servers.items()}
            await asyncio.sleep(2)
            idle = {name: round((server.cpu_seconds() - idle[name]) / 2 * 100, 1) for name, server in servers.items()}
            print(f"idle servers' CPU (%, over 2 s): {idle}", flush=True)

            bursts: dict[str, list[dict]] = {name: [] for name in [*loads, "static"]}
            for round_no in range(args.rounds):
                for name, load in list(loads.items()):
                    try:
                        bursts[name].append(await burst(servers[load.server].url, prompts, load, args.per_client,
                                                        NEW_TOKENS))
                    except (RuntimeError, TimeoutError, aiohttp.ClientError) as exc:
                        if name != "tserve":
                            raise
                        tserve_error = f"failed in round {round_no + 1}: {str(exc)[-1500:]}"
                        del loads[name], bursts[name]
                bursts["static"].append(static_burst(model, tokenizer, prompts, args.per_client, args.device))
                print(f"round {round_no + 1}: " + ", ".join(
                    f"{name} {b[-1]['tokens'] / b[-1]['wall']:.0f}" for name, b in bursts.items()) + " tokens/s",
                      flush=True)
        finally:
            for proc in reversed(procs):
                stop(proc)
            stack.down()
        del model
        memory = memory_figures(folder, adapters, args)
    setups = {name: figures(b) for name, b in bursts.items()}
    return summarize(args, setups, memory, params, tserve_error) | {"idle_server_cpu_percent": idle}


def summarize(args, setups: dict[str, dict], memory: dict, params: int, tserve_error: str | None) -> dict:
    rate = {name: s["tokens_per_s"] for name, s in setups.items()}
    ratios = {"speedup_vs_naive": rate["project"] / rate["naive"],
              "ratio_vs_static_batch": rate["project"] / rate["static"],
              "ratio_vs_transformers_serve": rate["project"] / rate["tserve"] if "tserve" in rate else None,
              "mixed_adapters_ratio": rate["mixed_adapters"] / rate["one_adapter"]}
    print(f"\n{CLIENTS} clients x {args.per_client} requests, {NEW_TOKENS} new tokens each, greedy; "
          f"{args.rounds} round(s), {args.threads} torch thread(s) a side:")
    print(f"  {'setup':<16}{'tokens/s':>10}{'TTFT p50':>10}{'p99':>9}{'latency p50':>13}{'p99':>9}  (ms)")
    for name, s in setups.items():
        print(f"  {name:<16}{s['tokens_per_s']:>10.1f}{s['ttft_p50_ms']:>10.1f}{s['ttft_p99_ms']:>9.1f}"
              f"{s['latency_p50_ms']:>13.1f}{s['latency_p99_ms']:>9.1f}")
    result: dict = {"bench": "serving"}
    for key, value in ratios.items():
        target = TARGETS[key]
        result |= {key: None if value is None else round(value, 3), f"target_{key}": target,
                   f"{key}_pass": None if value is None else value >= target}
        shown = "n/a" if value is None else f"{value:.2f}"
        print(f"{key}: {shown} (target >= {target})")
    print(f"memory with {ADAPTERS} adapters / base alone: {memory['memory_10_adapters_ratio']:.3f} "
          f"({memory['memory_10_adapters_bytes']:,} / {memory['memory_base_bytes']:,} bytes; process RSS "
          f"{memory['rss_10_adapters_diff_bytes'] / 2**20:+.1f} MiB)")
    result |= memory
    for name, s in setups.items():
        result |= {f"{name}_{k}": v for k, v in s.items()}
    result |= {"transformers_serve_error": tserve_error, "model_parameters": params, "torch_threads": args.threads,
               "clients": CLIENTS, "new_tokens": NEW_TOKENS, "per_client": args.per_client, "rounds": args.rounds,
               "device": args.device, "dtype": args.dtype,
               "machine": f"{platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}, "
                          f"torch {torch.__version__}"}
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1 request a client (a few minutes)")
    parser.add_argument("--gpu", action="store_true", help="a >=1B model folder (--model-folder) in bf16 on CUDA")
    parser.add_argument("--model-folder", help="a Hugging Face model folder to serve instead of the built one")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5; --quick 2)")
    parser.add_argument("--per-client", type=int, help="requests each client sends a round (default 2; --quick 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every setup (default 1)")
    parser.add_argument("--start-timeout", type=float, default=300, help="seconds a server may take to start")
    arguments = parser.parse_args()
    if arguments.gpu and not (arguments.model_folder and torch.cuda.is_available()):
        parser.error("--gpu needs a CUDA GPU and --model-folder")
    arguments.rounds = arguments.rounds or (2 if arguments.quick else 5)
    arguments.per_client = arguments.per_client or (1 if arguments.quick else 2)
    arguments.device, arguments.dtype = ("cuda", "bfloat16") if arguments.gpu else ("cpu", "float32")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks stop the servers
    print(json.dumps(asyncio.run(main(arguments))), flush=True)
