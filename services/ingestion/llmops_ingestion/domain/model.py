"""Datasets, their content-addressed versions, uploads and ingestion jobs, with their rules."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from llmops_common.errors import InvalidArgument
from llmops_common.validation import check_request_id, check_text, fullmatch_name, parse_s3_uri, quote
from llmops_ingestion.domain.config import PreparationConfig, parse_config
from llmops_ingestion.domain.formats import DataFormat
from llmops_ingestion.domain.shapes import Shape, check_mapping

DATASET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
VERSION_ID = re.compile(r"[0-9a-f]{32}")
MAX_TAG_KEY = 100
MAX_TAG_VALUE = 500
MAX_DESCRIPTION = 10_000
MAX_LOCAL_PATH = 4096


def validate_dataset_name(name: str, *, field_name: str = "dataset_name") -> None:
    fullmatch_name(DATASET_NAME, name, field_name, "dataset name", "dataset names are 1-128 lower-case letters,"
                   " digits, '.', '_' or '-', starting with a letter or digit")


def validate_version(version: str, *, field_name: str = "version") -> None:
    fullmatch_name(VERSION_ID, version, field_name, "version id", "a version id is 32 hex characters")


def parse_reference(reference: str) -> tuple[str, str]:
    """``name@version`` (or a bare name: latest) -> (name, version or "")."""
    name, _, version = reference.partition("@")
    validate_dataset_name(name)
    if version:
        validate_version(version)
    return name, version


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    created_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    latest_version: str = ""

    def validate(self) -> None:
        validate_dataset_name(self.name, field_name="name")
        check_text(self.description, "description", max_len=MAX_DESCRIPTION)
        for key, value in self.tags.items():
            if not key:
                raise InvalidArgument("a tag key must not be empty", field="tags")
            check_text(key, "tags", max_len=MAX_TAG_KEY)
            check_text(value, f"tags[{quote(key)}]", max_len=MAX_TAG_VALUE)


@dataclass(frozen=True)
class DatasetVersion:
    dataset_name: str
    version: str
    uri: str
    manifest_uri: str
    shape: Shape
    record_count: int
    split_counts: dict[str, int]
    preparation: dict[str, Any]
    config_hash: str
    source: dict[str, Any]
    steps: list[dict[str, Any]]
    profile_uri: str
    profile_html_uri: str
    job_id: uuid.UUID
    created_by: str
    created_at: datetime | None = None
    used_by: list[dict[str, Any]] = field(default_factory=list)


class SourceKind(StrEnum):
    UPLOAD = "upload"
    S3 = "s3"
    LOCAL = "local"


@dataclass(frozen=True)
class SourceSpec:
    kind: SourceKind
    location: str
    format: DataFormat | None = None

    def validate(self) -> None:
        if not self.location:
            raise InvalidArgument("give an upload_id, an s3_uri or a local_path", field="source")
        if self.kind is SourceKind.S3:
            parse_s3_uri(self.location, "source.s3_uri", require_key=True)
        if self.kind is SourceKind.LOCAL:
            check_text(self.location, "source.local_path", max_len=MAX_LOCAL_PATH)
        if self.kind is SourceKind.UPLOAD:
            try:
                uuid.UUID(self.location)
            except ValueError:
                raise InvalidArgument(f"not an upload id: {quote(self.location)}", field="source.upload_id") from None

    @property
    def uri(self) -> str:
        return {SourceKind.UPLOAD: "upload://", SourceKind.S3: "", SourceKind.LOCAL: "file://"}[self.kind] + \
            self.location

    def as_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "location": self.location, "format": str(self.format or "")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceSpec:
        return cls(SourceKind(data["kind"]), data["location"], DataFormat(data["format"]) if data["format"] else None)

    @classmethod
    def from_uri(cls, uri: str, fmt: str | None = None) -> SourceSpec:
        """``s3://...``, ``file:///abs/path`` or an absolute path, or ``upload://<id>``."""
        try:
            data_format = DataFormat(fmt) if fmt else None
        except ValueError:
            raise InvalidArgument(f"unknown format {quote(fmt)}; known: {[f.value for f in DataFormat]}",
                                  field="format") from None
        if uri.startswith("s3://"):
            return cls(SourceKind.S3, uri, data_format)
        if uri.startswith("upload://"):
            return cls(SourceKind.UPLOAD, uri.removeprefix("upload://"), data_format)
        if uri.startswith(("file://", "/")):
            return cls(SourceKind.LOCAL, uri.removeprefix("file://"), data_format)
        raise InvalidArgument(f"unsupported source URI {quote(uri)}: use s3://, file:// or upload://",
                              field="source_uri")


@dataclass(frozen=True)
class IngestionRequest:
    """The order ``IngestDataset`` (or the requested event) gives; validated before a job exists."""

    dataset_name: str
    source: SourceSpec
    shape: Shape | None = None
    column_mapping: dict[str, str] = field(default_factory=dict)
    preparation: PreparationConfig = field(default_factory=PreparationConfig)
    request_id: str = ""

    def validate(self) -> None:
        validate_dataset_name(self.dataset_name)
        self.source.validate()
        check_mapping(self.shape, self.column_mapping)
        check_request_id(self.request_id)

    def as_json(self) -> dict[str, Any]:
        return {"dataset_name": self.dataset_name, "source": self.source.as_json(), "shape": str(self.shape or ""),
                "column_mapping": self.column_mapping, "preparation": self.preparation.model_dump(mode="json"),
                "request_id": self.request_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IngestionRequest:
        return cls(data["dataset_name"], SourceSpec.from_json(data["source"]),
                   Shape(data["shape"]) if data["shape"] else None, dict(data["column_mapping"]),
                   parse_config(data["preparation"]), data.get("request_id", ""))


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class IngestionJob:
    job_id: uuid.UUID
    dataset_name: str
    status: JobStatus
    request: IngestionRequest
    progress: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    reused_existing: bool = False
    error: dict[str, Any] | None = None
    attempts: int = 0
    correlation_id: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class Upload:
    upload_id: uuid.UUID
    dataset_name: str
    filename: str
    uri: str
    size_bytes: int
    sha256: str
    created_by: str
    created_at: datetime | None = None
