"""Prometheus metrics of the ingestion service (served on ``LLMOPS_INGESTION_METRICS_PORT``)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

JOBS = Counter("llmops_ingestion_jobs_total", "Ingestion jobs ended", ["outcome"])  # created, reused, failed
JOB_SECONDS = Histogram("llmops_ingestion_job_seconds", "Ingestion job duration, claim to end",
                        buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200))
RECORDS = Counter("llmops_ingestion_records_total", "Records through each preparation step", ["step", "outcome"])
WORKER_PEAK_BYTES = Histogram("llmops_ingestion_worker_peak_bytes", "Peak resident memory of a job's worker process",
                              buckets=tuple(2**n * 2**20 for n in range(6, 15)))  # 64 MiB to 16 GiB
PII = Counter("llmops_ingestion_pii_redactions_total", "PII redactions", ["kind"])


def observe_steps(steps: list[dict[str, Any]], pii_counts: dict[str, int]) -> None:
    for step in steps:
        RECORDS.labels(step["step"], "kept").inc(step["records_kept"])
        RECORDS.labels(step["step"], "modified").inc(step.get("records_modified", 0))
        RECORDS.labels(step["step"], "dropped").inc(sum(step["dropped_by_reason"].values()))
    for kind, count in pii_counts.items():
        PII.labels(kind).inc(count)
