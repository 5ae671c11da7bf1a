"""Benchmark: the monitoring service's detectors (quality and cost) and its inference-log ingestion
against the raw bus, side by side in one run.

injection_tpr_at_1pct_fpr
  ``InjectionDetector(MiniLMEmbedder())`` on the held-out attacks and benign prompts the tests use
  (``llmops_common.testing.monitoring_data``: templates x fillers, disjoint from the packaged corpora);
  the true-positive rate at the highest threshold whose false-positive rate is <= 1% (ROC curve).
  ``detector_p50_ms`` / ``detector_p99_ms``: one ``score([prompt])`` call per request, as the service's
  consumer makes it, on the CPU after a warm-up, at torch's default thread count (what the service
  runs with; reported) and again at one thread (``detector_p99_ms_1_thread``): on a shared 2-core
  machine the default's tail is dominated by its threads waiting for each other.
drift_power_at_5pct_fpr, false_alarm_rate
  MiniLM embeddings of the drift tests' populations: the reference mixes five topics evenly; a shifted
  current window is 70% reference topics and 30% a sixth topic; null pairs are disjoint draws from the
  reference. Windows of ``WINDOW`` rows; ``embedding_drift`` per pair (its own seed) at each method's
  own threshold (p < 0.05). Power and false alarms are given per method; the headline power is the
  weaker method's, the headline false-alarm rate the worse method's.
drift_seconds_10k
  ``embedding_drift`` + ``simple_drift`` on 10,000 against 10,000 (embeddings drawn from the pools
  above, inferences with those prompts); ``embedding_drift`` subsamples each window to its default
  ``MAX_SAMPLES`` rows, as the service runs it. Embedding the prompts is not in the clock.
ingest_events_per_s vs raw_bus_events_per_s
  Embedded stack (NATS, Postgres, S3). Project: the monitoring service as its own process
  (``python -m llmops_monitoring.main``, embeddings on, so every event is MiniLM-scored), N
  ``InferenceCompleted`` envelopes published with ``Bus.publish_envelopes``; the clock runs from the
  first publish until the service's inference log (its Postgres table, polled) holds all N. A warm-up
  batch loads MiniLM in the service first. Baseline: raw nats-py ``publish_async`` of the same
  serialized envelopes with the same headers to a stream of the same settings, and a push consumer
  whose callback acks without parsing. Rounds interleaved; medians; ratio = project / raw. One more
  round with the service restarted with embeddings off (patterns alone) says what the scoring costs
  (``ingest_events_per_s_embeddings_off``).

    python bench/monitoring.py [--quick]

The last line printed is one JSON object (see CONVENTIONS.md, habit 10).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import nats
import numpy as np
import psycopg
import torch
from grpc_health.v1 import health_pb2
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from processes import spawn, stop, wait_ready
from sklearn.metrics import roc_curve

from llmops_cli.migrations import migrate
from llmops_common.bus import Bus, envelope_headers
from llmops_common.embedded import EmbeddedStack, StackPorts, free_port
from llmops_common.events import Envelope
from llmops_common.events.serving import InferenceCompleted
from llmops_common.settings import CommonSettings
from llmops_common.testing.monitoring_data import (
    held_out_attacks,
    held_out_benign,
    new_topic_prompts,
    reference_prompts,
)
from llmops_common.testing.processes import TEST_ADMIN_KEY, health

TARGETS = {"injection_tpr_at_1pct_fpr": 0.9, "drift_power_at_5pct_fpr": 0.95}
WINDOW, SHIFT = 200, 0.3
BIG_WINDOW = 10_000
WARMUP_EVENTS = 20


# -- detectors -------------------------------------------------------------------------------------------

def tpr_at_fpr(attack: np.ndarray, benign: np.ndarray, fpr_limit: float) -> float:
    fpr, tpr, _ = roc_curve(np.r_[np.ones(len(attack)), np.zeros(len(benign))], np.r_[attack, benign])
    return float(tpr[fpr <= fpr_limit].max())


def measure_injection(detector, latency_requests: int) -> dict:
    attacks, benign = held_out_attacks(), held_out_benign()
    a = np.array([s.score for s in detector.score(attacks)])
    b = np.array([s.score for s in detector.score(benign)])
    prompts = (attacks + benign) * (latency_requests // (len(attacks) + len(benign)) + 1)
    order = np.random.default_rng(0).permutation(len(prompts))[:latency_requests]
    latency = {}
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):  # the service's default first, then one
        torch.set_num_threads(threads)
        for prompt in prompts[:10]:  # warm-up
            detector.score([prompt])
        millis = []
        for i in order:
            started = time.perf_counter()
            detector.score([prompts[i]])
            millis.append((time.perf_counter() - started) * 1000)
        latency[threads] = (float(np.percentile(millis, 50)), float(np.percentile(millis, 99)))
    torch.set_num_threads(default_threads)
    return {"tpr": tpr_at_fpr(a, b, 0.01), "attacks": len(attacks), "benign": len(benign), "latency": latency,
            "threads": default_threads, "latency_requests": len(order)}


def shifted_pair(reference: np.ndarray, new: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    shifted = int(SHIFT * WINDOW)
    chosen = rng.choice(len(reference), size=2 * WINDOW - shifted, replace=False)
    current = np.vstack([reference[chosen[WINDOW:]], new[rng.choice(len(new), size=shifted, replace=False)]])
    return reference[chosen[:WINDOW]], current


def null_pair(reference: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    chosen = rng.choice(len(reference), size=2 * WINDOW, replace=False)
    return reference[chosen[:WINDOW]], reference[chosen[WINDOW:]]


def detection_rates(pairs: list[tuple[np.ndarray, np.ndarray]], seed0: int) -> dict[str, float]:
    from llmops_monitoring.detectors.drift import embedding_drift

    hits = {"domain_classifier": 0, "mmd": 0, "either": 0}
    for seed, (reference, current) in enumerate(pairs, start=seed0):
        results = embedding_drift(reference, current, seed=seed)
        for result in results:
            hits[result.method] += result.drifted
        hits["either"] += any(r.drifted for r in results)
    return {method: count / len(pairs) for method, count in hits.items()}


def inferences(prompts: list[str], rng: np.random.Generator) -> list:
    from llmops_monitoring.domain.records import Inference

    now = datetime.now(UTC)
    return [Inference(inference_id=f"b{i}", model_version="models:/bench/1", created_at=now, prompt=p,
                      output="Sure, here is how." if rng.random() > 0.05 else "I'm sorry, I can't help with that.",
                      prompt_tokens=len(p.split()), completion_tokens=5, latency_ms=float(rng.normal(120, 15)))
            for i, p in enumerate(prompts)]


def measure_drift(pairs: int, nulls: int) -> dict:
    from llmops_monitoring.detectors.drift import MAX_SAMPLES, embedding_drift, simple_drift
    from llmops_monitoring.detectors.embeddings import MiniLMEmbedder

    ref_prompts, new_prompts = reference_prompts(), new_topic_prompts()
    rows = MiniLMEmbedder().encode(ref_prompts + new_prompts)
    reference, new = rows[: len(ref_prompts)], rows[len(ref_prompts):]
    rng = np.random.default_rng(1)
    started = time.perf_counter()
    power = detection_rates([shifted_pair(reference, new, rng) for _ in range(pairs)], seed0=0)
    false_alarms = detection_rates([null_pair(reference, rng) for _ in range(nulls)], seed0=pairs)
    pair_seconds = (time.perf_counter() - started) / (pairs + nulls)

    big_ref = rng.choice(len(reference), size=BIG_WINDOW)
    shifted = int(SHIFT * BIG_WINDOW)
    big_cur, big_new = rng.choice(len(reference), size=BIG_WINDOW - shifted), rng.choice(len(new), size=shifted)
    ref_rows, cur_rows = reference[big_ref], np.vstack([reference[big_cur], new[big_new]])
    ref_log = inferences([ref_prompts[i] for i in big_ref], rng)
    cur_log = inferences([ref_prompts[i] for i in big_cur] + [new_prompts[i] for i in big_new], rng)
    started = time.perf_counter()
    big_embedding = embedding_drift(ref_rows, cur_rows)
    embedding_seconds = time.perf_counter() - started
    started = time.perf_counter()
    big_simple = simple_drift(ref_log, cur_log)
    simple_seconds = time.perf_counter() - started
    return {"power": power, "false_alarms": false_alarms, "pairs": pairs, "null_pairs": nulls,
            "pair_seconds": pair_seconds, "embedding_seconds_10k": embedding_seconds,
            "simple_seconds_10k": simple_seconds, "max_samples": MAX_SAMPLES,
            "drifted_10k": sorted(r.method for r in big_embedding + big_simple if r.drifted)}


# -- ingestion -------------------------------------------------------------------------------------------

def make_envelopes(count: int, prompts: list[str]) -> list[Envelope]:
    now = datetime.now(UTC)
    return [Envelope.wrap(InferenceCompleted(
        request_id=f"chatcmpl-{uuid.uuid4().hex}", deployment="bench@production", model_name="bench", version=1,
        release="production", api="chat", prompt=[{"role": "user", "content": prompts[i % len(prompts)]}],
        output="Sure. Here is a short answer to that question.", prompt_tokens=20, completion_tokens=10,
        latency_ms=120.0, ttft_ms=15.0, finish_reason="stop", key_id=f"key{i % 7}", user=f"user{i % 13}",
        created_at=now), producer="bench", correlation_id="bench") for i in range(count)]


async def run_raw(url: str, envelopes: list[Envelope], durable: str) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    stream = "BENCH_RAW"
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(stream)
    await js.add_stream(StreamConfig(name=stream, subjects=["bench.raw.>"], storage=StorageType.FILE,
                                     duplicate_window=120.0))
    done, received = asyncio.Event(), 0

    async def callback(msg) -> None:
        nonlocal received
        await msg.ack()
        received += 1
        if received == len(envelopes):
            done.set()

    config = ConsumerConfig(durable_name=durable, deliver_group=durable, ack_policy=AckPolicy.EXPLICIT,
                            deliver_policy=DeliverPolicy.ALL, max_ack_pending=len(envelopes))
    await js.subscribe("bench.raw.e", queue=durable, cb=callback, manual_ack=True, stream=stream, config=config)
    started = time.perf_counter()
    futures = [await js.publish_async("bench.raw.e", e.to_bytes(), headers=envelope_headers(e)) for e in envelopes]
    await asyncio.gather(*futures)
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - started
    await js.delete_stream(stream)
    await nc.close()
    return len(envelopes) / elapsed


async def logged(conn: psycopg.AsyncConnection) -> int:
    return (await (await conn.execute("SELECT count(*) FROM monitoring.inferences")).fetchone())[0]


async def run_service(bus: Bus, conn: psycopg.AsyncConnection, envelopes: list[Envelope], proc, log: Path) -> float:
    """Events/s from the first publish until the service's log holds them all."""
    target = await logged(conn) + len(envelopes)
    started = time.perf_counter()
    await bus.publish_envelopes(envelopes)
    while await logged(conn) < target:
        if proc.poll() is not None or time.perf_counter() - started > 600:
            raise RuntimeError(f"monitoring did not log the events:\n{log.read_text(errors='replace')[-3000:]}")
        await asyncio.sleep(0.05)
    return len(envelopes) / (time.perf_counter() - started)


async def start_service(env: dict[str, str], tmp: Path, procs: list, *, embeddings: bool):
    """``python -m llmops_monitoring.main`` on the stack, its detectors idle (ingestion alone), once SERVING."""
    port, log = free_port(), tmp / f"monitoring-{'minilm' if embeddings else 'patterns'}.log"
    proc = spawn([sys.executable, "-m", "llmops_monitoring.main"],
                 {**env, "LLMOPS_MONITORING_GRPC_PORT": str(port), "LLMOPS_MONITORING_METRICS_PORT": "0",
                  "LLMOPS_MONITORING_HTTP_PORT": str(free_port()), "LLMOPS_MONITORING_EMBEDDINGS": str(embeddings),
                  "LLMOPS_MONITORING_DETECT_INTERVAL_SECONDS": "86400",
                  "LLMOPS_BOOTSTRAP_ADMIN_KEY": TEST_ADMIN_KEY, "LLMOPS_LOG_FORMAT": "text"}, log, procs)

    async def serving() -> bool:
        return await health(port) == health_pb2.HealthCheckResponse.SERVING

    await wait_ready(proc, log, serving, timeout=180)
    return proc, log


async def measure_ingest(events: int, rounds: int, tmp: Path) -> dict:
    prompts = held_out_benign() + reference_prompts() + held_out_attacks()
    procs: list = []
    stack = EmbeddedStack(tmp / "stack", StackPorts.free())
    stack.up()
    try:
        env = stack.env()
        await migrate(["monitoring"], env)
        proc, log = await start_service(env, tmp, procs, embeddings=True)
        bus = Bus(CommonSettings.from_variables(env), producer="bench")
        await bus.start()
        async with await psycopg.AsyncConnection.connect(stack.postgres_dsn, autocommit=True) as conn:
            started = time.perf_counter()
            await run_service(bus, conn, make_envelopes(WARMUP_EVENTS, prompts), proc, log)  # MiniLM loads
            warmup = time.perf_counter() - started
            project, raw = [], []
            for r in range(rounds):  # interleaved, so drift on the machine hits both alike
                envelopes = make_envelopes(events, prompts)
                raw.append(await run_raw(stack.nats_url, envelopes, f"raw{r}"))
                project.append(await run_service(bus, conn, envelopes, proc, log))
                print(f"  ingest round {r + 1}: service {project[-1]:,.0f}/s  raw nats-py {raw[-1]:,.0f}/s",
                      flush=True)
            # The same service with embeddings off (patterns alone): what the MiniLM scoring costs.
            stop(proc)
            proc, log = await start_service(env, tmp, procs, embeddings=False)
            await run_service(bus, conn, make_envelopes(WARMUP_EVENTS, prompts), proc, log)
            patterns_only = await run_service(bus, conn, make_envelopes(events, prompts), proc, log)
            print(f"  ingest, embeddings off: service {patterns_only:,.0f}/s", flush=True)
            total = await logged(conn)
        await bus.stop()
    finally:
        for proc in reversed(procs):
            stop(proc)
        stack.down()
    return {"project": statistics.median(project), "raw": statistics.median(raw), "warmup_seconds": warmup,
            "patterns_only": patterns_only, "logged": total, "expected": (rounds + 1) * events + 2 * WARMUP_EVENTS}


async def main(args: argparse.Namespace) -> dict:
    from llmops_monitoring.detectors.embeddings import MiniLMEmbedder
    from llmops_monitoring.detectors.injection import InjectionDetector

    with tempfile.TemporaryDirectory() as tmp:
        ingest = await measure_ingest(args.events, args.rounds, Path(tmp))
    print(f"ingestion: service {ingest['project']:,.0f} events/s (MiniLM scoring on), raw nats-py "
          f"{ingest['raw']:,.0f} events/s, ratio {ingest['project'] / ingest['raw']:.4f}; "
          f"logged {ingest['logged']}/{ingest['expected']}, warm-up {ingest['warmup_seconds']:.1f} s", flush=True)

    injection = measure_injection(InjectionDetector(MiniLMEmbedder()), args.latency_requests)
    latency = injection["latency"]
    print(f"injection: TPR at 1% FPR {injection['tpr']:.3f} on {injection['attacks']} attacks / "
          f"{injection['benign']} benign (target {TARGETS['injection_tpr_at_1pct_fpr']}); per request "
          + ", ".join(f"{t} torch threads p50 {p50:.1f} ms p99 {p99:.1f} ms" for t, (p50, p99) in latency.items()),
          flush=True)

    drift = measure_drift(args.pairs, args.null_pairs)
    power, alarms = drift["power"], drift["false_alarms"]
    headline_power = min(power["domain_classifier"], power["mmd"])
    headline_alarms = max(alarms["domain_classifier"], alarms["mmd"])
    print(f"drift: power on a 30% shift {power} over {drift['pairs']} pairs (target "
          f"{TARGETS['drift_power_at_5pct_fpr']}); false alarms {alarms} over {drift['null_pairs']} null pairs; "
          f"{drift['pair_seconds']:.2f} s a pair of {WINDOW}")
    drift_10k = drift["embedding_seconds_10k"] + drift["simple_seconds_10k"]
    print(f"drift 10k vs 10k: {drift_10k:.2f} s (embedding {drift['embedding_seconds_10k']:.2f} s, subsampled to "
          f"{drift['max_samples']}; simple {drift['simple_seconds_10k']:.2f} s); drifted: {drift['drifted_10k']}")
    return {
        "bench": "monitoring",
        "injection_tpr_at_1pct_fpr": round(injection["tpr"], 4),
        "drift_power_at_5pct_fpr": round(headline_power, 4),
        "false_alarm_rate": round(headline_alarms, 4),
        "targets": TARGETS,
        "drift_power_by_method": {k: round(v, 4) for k, v in power.items()},
        "false_alarm_by_method": {k: round(v, 4) for k, v in alarms.items()},
        "drift_pairs": drift["pairs"],
        "null_pairs": drift["null_pairs"],
        "ingest_events_per_s": round(ingest["project"], 1),
        "raw_bus_events_per_s": round(ingest["raw"], 1),
        "ingest_ratio": round(ingest["project"] / ingest["raw"], 5),
        "ingest_events_per_s_embeddings_off": round(ingest["patterns_only"], 1),
        "ingest_events": args.events,
        "ingest_rounds": args.rounds,
        "detector_p50_ms": round(latency[injection["threads"]][0], 2),
        "detector_p99_ms": round(latency[injection["threads"]][1], 2),
        "torch_threads": injection["threads"],
        "detector_p99_ms_1_thread": round(latency[1][1], 2),
        "drift_seconds_10k": round(drift_10k, 3),
        "drift_embedding_seconds_10k": round(drift["embedding_seconds_10k"], 3),
        "drift_simple_seconds_10k": round(drift["simple_seconds_10k"], 3),
        "drift_max_samples": drift["max_samples"],
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same measurements at a size that runs in minutes")
    parser.add_argument("--events", type=int, default=None, help="InferenceCompleted events per ingest round")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--pairs", type=int, default=None, help="shifted window pairs")
    parser.add_argument("--null-pairs", type=int, default=None, help="same-distribution window pairs")
    parser.add_argument("--latency-requests", type=int, default=None)
    ns = parser.parse_args()
    ns.events = ns.events or (300 if ns.quick else 2000)
    ns.rounds = ns.rounds or (2 if ns.quick else 3)
    ns.pairs = ns.pairs or (40 if ns.quick else 200)
    ns.null_pairs = ns.null_pairs or (60 if ns.quick else 200)
    ns.latency_requests = ns.latency_requests or (300 if ns.quick else 1000)
    print(json.dumps(asyncio.run(main(ns))))
