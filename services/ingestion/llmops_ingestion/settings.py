"""The ingestion service's settings: ``LLMOPS_INGESTION_*``, falling back to the shared ``LLMOPS_*``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, model_validator

from llmops_common.errors import InvalidArgument
from llmops_common.settings import CommonSettings, service_settings_config
from llmops_common.validation import parse_s3_uri
from llmops_ingestion.domain.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_RATIO, ExpansionLimit

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
    # s3:// buckets or prefixes a DataSource.s3_uri may point under (empty: S3 sources are refused).
    # Default: the artifacts bucket, where raw data is dropped. The models bucket is never allowed;
    # the datasets bucket is reached through uploads (by id, checked against the dataset).
    s3_source_prefixes: list[str] = []
    # A single record (line, element, row) larger than this is a bad record.
    max_record_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # One compressed input may expand to at most this many bytes, and to at most this many times its
    # own size (but always to 64 MiB); checked while it streams (domain/limits.py says why these).
    max_decompressed_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)
    max_decompression_ratio: float = Field(default=DEFAULT_MAX_RATIO, ge=1, allow_inf_nan=False)
    max_upload_bytes: int = Field(default=20 * 1024**3, ge=1)
    shard_records: int = Field(default=250_000, ge=1)
    # Jobs run one at a time per instance; a running job whose heartbeat is older than this is retried.
    job_heartbeat_seconds: float = Field(default=5.0, gt=0)
    job_stale_seconds: float = Field(default=120.0, gt=0)
    job_poll_seconds: float = Field(default=2.0, gt=0)

    @property
    def expansion(self) -> ExpansionLimit:
        return ExpansionLimit(self.max_decompressed_bytes, self.max_decompression_ratio)

    @model_validator(mode="after")
    def _default_and_check_s3_source_prefixes(self) -> IngestionSettings:
        if "s3_source_prefixes" not in self.model_fields_set:
            self.s3_source_prefixes = [f"s3://{self.s3_bucket_artifacts}/"]
        for prefix in self.s3_source_prefixes:
            try:
                bucket, _ = parse_s3_uri(prefix, "s3_source_prefixes")
            except InvalidArgument as exc:
                raise ValueError(str(exc)) from None
            if bucket == self.s3_bucket_models:
                raise ValueError(f"s3_source_prefixes: {prefix!r} is in the models bucket, which is never a source")
        return self
