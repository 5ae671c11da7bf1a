"""The ingestion service's settings: ``LLMOPS_INGESTION_*``, falling back to the shared ``LLMOPS_*``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from llmops_common.settings import CommonSettings, service_settings_config

DEFAULT_GRPC_PORT = 50051
DEFAULT_METRICS_PORT = 9101


class IngestionSettings(CommonSettings):
    model_config = service_settings_config("ingestion")
    service_name: ClassVar[str] = "ingestion"

    grpc_port: int = Field(default=DEFAULT_GRPC_PORT, ge=0, le=65535)
    metrics_port: int = Field(default=DEFAULT_METRICS_PORT, ge=0, le=65535)
    # Scratch space for staged sources, the pass-1 spill and the shards before upload.
    work_dir: Path = Path("/tmp/llmops-ingestion")
    # Local paths a DataSource.local_path may point under (empty: local sources are refused).
    local_source_roots: list[Path] = []
    # A single record (line, element, row) larger than this is a bad record.
    max_record_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=20 * 1024**3, ge=1)
    shard_records: int = Field(default=250_000, ge=1)
    # Jobs run one at a time per instance; a running job whose heartbeat is older than this is retried.
    job_heartbeat_seconds: float = Field(default=5.0, gt=0)
    job_stale_seconds: float = Field(default=120.0, gt=0)
    job_poll_seconds: float = Field(default=2.0, gt=0)
