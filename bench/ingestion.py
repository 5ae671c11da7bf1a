"""Benchmark: records/s of the whole ingestion pipeline against a bare datasketch MinHash + LSH loop.

Data: N instruction/response JSONL records (default 1,000,000, about 300 bytes each), 20% of them
near duplicates of an earlier record (one or two words replaced), plus a sprinkle of e-mail
addresses and phone numbers; generated with a fixed seed.

Project: the ingestion service run as its own process (``python -m llmops_ingestion.main``) on the
embedded stack, ingesting the file from a local path with every step on: parse, shape, Unicode
normalisation, length filter, PII redaction, exact dedup, MinHash LSH near-dedup (threshold 0.8,
128 permutations, word 3-gram shingles), hash split, profile (JSON and HTML report), Parquet shards
to S3, and the version committed in PostgreSQL. The clock runs from ``IngestDataset`` to the job's
``succeeded``. Peak memory: the job's worker process (the preparation runs in a child process, which
reports its own peak resident set) and the service process itself (``VmHWM``), which stages, uploads
and commits.

Baseline: the loop every dedup script starts from, over the same records, in a child process:
``json.loads`` each line, ``MinHash(num_perm=128).update_batch`` of its word 3-gram shingles, then
``MinHashLSH(threshold=0.8, num_perm=128)`` ``query``, and ``insert`` when nothing matched. Nothing
else: no normalisation, PII, exact dedup, split, profile or output. The two run one after the other
so they do not share the two cores.

    python bench/ingestion.py [--records N | --quick]

The last line printed is one JSON object with ``ratio`` = pipeline records/s / baseline records/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import grpc
import psutil

from llmops.ingestion.v1 import ingestion_pb2 as pb
from llmops.ingestion.v1 import ingestion_pb2_grpc as pb_grpc
from llmops_cli.migrations import migrate
from llmops_common.embedded import EmbeddedStack, StackPorts
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess

TARGET_RATIO, MEMORY_LIMIT_MB = 1.0, 2048
METADATA = [("authorization", f"Bearer {TEST_ADMIN_KEY}")]
NEAR_FRACTION = 0.2


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(size)]


def generate(path: Path, count: int, seed: int = 7) -> int:
    """Write ``count`` JSONL records; returns how many are near duplicates by construction."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    recent: list[tuple[str, str]] = []
    near = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            if recent and rng.random() < NEAR_FRACTION:
                instruction, output = rng.choice(recent)
                out_words = output.split()
                for _ in range(rng.randint(1, 2)):
                    out_words[rng.randrange(len(out_words))] = rng.choice(words)
                output = " ".join(out_words)
                near += 1
            else:
                instruction = "Explain " + " ".join(rng.choices(words, k=8)) + "?"
                output = " ".join(rng.choices(words, k=36))
                if i % 50 == 0:
                    output += f" Contact user{i}@example.com or +1-202-555-{i % 10000:04d}."
                recent.append((instruction, output))
                if len(recent) > 5000:
                    recent.pop(0)
            out.write(json.dumps({"instruction": instruction, "input": "", "output": output}) + "\n")
    return near


def baseline(path: str, queue: multiprocessing.Queue) -> None:
    """The bare loop (runs in a child process so its peak memory is its own)."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    dropped = count = 0
    start = time.perf_counter()
    with open(path, encoding="utf-8") as f:
        for count, line in enumerate(f, 1):
            record = json.loads(line)
            words = f"{record['instruction']}\n{record['output']}".lower().split()
            minhash = MinHash(num_perm=128)
            minhash.update_batch([" ".join(words[i:i + 3]).encode() for i in range(len(words) - 2)])
            if lsh.query(minhash):
                dropped += 1
            else:
                lsh.insert(count, minhash)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"records": count, "seconds": elapsed, "dropped": dropped, "peak_mb": peak_mb})


def run_baseline(path: Path) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=baseline, args=(str(path), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return psutil.Process(pid).memory_info().rss / 2**20


async def run_pipeline(tmp: Path, data: Path) -> dict:
    stack = EmbeddedStack(tmp / "stack", StackPorts.free())
    service = None
    try:
        stack.up()
        env = {**stack.env(), "LLMOPS_INGESTION_WORK_DIR": str(tmp / "work"),
               "LLMOPS_INGESTION_LOCAL_SOURCE_ROOTS": json.dumps([str(data.parent)]),
               "LLMOPS_INGESTION_JOB_POLL_SECONDS": "0.2"}
        await migrate(["ingestion"], env)
        service = ServiceProcess("ingestion", "llmops_ingestion.main", env, tmp / "ingestion.log").start()
        await service.wait_serving()
        baseline_rss = psutil.Process(service.proc.pid).memory_info().rss / 2**20
        async with grpc.aio.insecure_channel(service.endpoint) as channel:
            stub = pb_grpc.IngestionServiceStub(channel)
            start = time.perf_counter()
            job = await stub.IngestDataset(pb.IngestDatasetRequest(
                dataset_name="bench", source=pb.DataSource(local_path=str(data))), metadata=METADATA)
            last_print = 0.0
            while job.status not in (pb.JOB_STATUS_SUCCEEDED, pb.JOB_STATUS_FAILED):
                await asyncio.sleep(0.2)
                job = await stub.GetIngestionJob(pb.GetIngestionJobRequest(job_id=job.job_id), metadata=METADATA)
                if time.perf_counter() - last_print > 15:
                    last_print = time.perf_counter()
                    print(f"  {job.progress.step}: {job.progress.records_read:,} records read", flush=True)
            elapsed = time.perf_counter() - start
            if job.status != pb.JOB_STATUS_SUCCEEDED:
                raise SystemExit(f"ingestion failed: {job.error.field} {job.error.message}")
        service_peak = peak_rss_mb(service.proc.pid)
        steps = {s.step: s for s in job.version.steps}
        return {"seconds": elapsed, "peak_mb": job.progress.peak_memory_bytes / 2**20, "service_peak_mb": service_peak,
                "idle_mb": baseline_rss, "kept": job.version.record_count,
                "near_dropped": steps["near_dedup"].dropped_by_reason.get("near_duplicate", 0),
                "exact_dropped": steps["exact_dedup"].dropped_by_reason.get("exact_duplicate", 0),
                "pii_records": steps["pii"].records_modified, "records_in": steps["parse"].records_in}
    finally:
        if service is not None and service.proc is not None:
            service.stop(timeout=60)
        stack.down()


async def main(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data" / "records.jsonl"
        data.parent.mkdir()
        t0 = time.perf_counter()
        near = generate(data, args.records)
        size_mb = data.stat().st_size / 2**20
        print(f"generated {args.records:,} records ({size_mb:,.0f} MiB, {near:,} near duplicates by construction) "
              f"in {time.perf_counter() - t0:.0f} s", flush=True)
        pipeline = await run_pipeline(tmp, data)
        pipeline_rate = pipeline["records_in"] / pipeline["seconds"]
        print(f"pipeline: {pipeline_rate:,.0f} records/s ({pipeline['seconds']:.1f} s), peak RSS: worker "
              f"{pipeline['peak_mb']:,.0f} MiB, service {pipeline['service_peak_mb']:,.0f} MiB; "
              f"kept {pipeline['kept']:,}, near dups dropped "
              f"{pipeline['near_dropped']:,}, exact {pipeline['exact_dropped']:,}, PII in {pipeline['pii_records']:,}",
              flush=True)
        bare = run_baseline(data)
        bare_rate = bare["records"] / bare["seconds"]
        print(f"baseline datasketch loop: {bare_rate:,.0f} records/s ({bare['seconds']:.1f} s), peak RSS "
              f"{bare['peak_mb']:,.0f} MiB; near dups dropped {bare['dropped']:,}", flush=True)
    ratio = pipeline_rate / bare_rate
    print(f"ratio {ratio:.2f} (target >= {TARGET_RATIO}); worker peak memory {pipeline['peak_mb']:,.0f} MiB "
          f"(limit {MEMORY_LIMIT_MB})")
    return {
        "bench": "ingestion", "records": args.records, "ratio": round(ratio, 3), "target": TARGET_RATIO,
        "pipeline_records_per_s": round(pipeline_rate), "baseline_records_per_s": round(bare_rate),
        "pipeline_seconds": round(pipeline["seconds"], 1), "baseline_seconds": round(bare["seconds"], 1),
        "pipeline_peak_rss_mb": round(pipeline["peak_mb"]), "service_peak_rss_mb": round(pipeline["service_peak_mb"]),
        "service_idle_rss_mb": round(pipeline["idle_mb"]),
        "baseline_peak_rss_mb": round(bare["peak_mb"]), "memory_limit_mb": MEMORY_LIMIT_MB,
        "near_duplicates_generated": near, "pipeline_near_dropped": pipeline["near_dropped"],
        "pipeline_exact_dropped": pipeline["exact_dropped"], "baseline_dropped": bare["dropped"],
        "kept": pipeline["kept"], "data_mib": round(size_mb),
        "machine": f"{platform.machine()} {psutil.cpu_count()} cpu, python {platform.python_version()}",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 records (make bench)")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.records = 100_000
    result = asyncio.run(main(arguments))
    print(json.dumps(result), flush=True)
    sys.exit(0)
