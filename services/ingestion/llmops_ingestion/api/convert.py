"""Protobuf <-> domain translation for the ingestion API."""

from __future__ import annotations

from typing import Any

from llmops.common.v1 import common_pb2
from llmops.ingestion.v1 import ingestion_pb2 as pb
from llmops_common.errors import InvalidArgument
from llmops_common.proto_convert import timestamp
from llmops_ingestion.domain.config import PreparationConfig, parse_config
from llmops_ingestion.domain.formats import DataFormat
from llmops_ingestion.domain.model import (
    Dataset,
    DatasetVersion,
    IngestionJob,
    IngestionRequest,
    JobStatus,
    SourceKind,
    SourceSpec,
)
from llmops_ingestion.domain.shapes import Shape

FORMATS = {pb.DATA_FORMAT_JSONL: DataFormat.JSONL, pb.DATA_FORMAT_JSON_ARRAY: DataFormat.JSON_ARRAY,
           pb.DATA_FORMAT_CSV: DataFormat.CSV, pb.DATA_FORMAT_PARQUET: DataFormat.PARQUET,
           pb.DATA_FORMAT_TEXT_LINES: DataFormat.TEXT_LINES, pb.DATA_FORMAT_TEXT_FILES: DataFormat.TEXT_FILE}
SHAPES = {pb.RECORD_SHAPE_INSTRUCTION: Shape.INSTRUCTION, pb.RECORD_SHAPE_CHAT: Shape.CHAT,
          pb.RECORD_SHAPE_TEXT: Shape.TEXT}
SPLITS = {pb.SPLIT_TRAIN: "train", pb.SPLIT_VALIDATION: "validation", pb.SPLIT_TEST: "test"}
STATUSES = {JobStatus.PENDING: pb.JOB_STATUS_PENDING, JobStatus.RUNNING: pb.JOB_STATUS_RUNNING,
            JobStatus.SUCCEEDED: pb.JOB_STATUS_SUCCEEDED, JobStatus.FAILED: pb.JOB_STATUS_FAILED}
_SOURCE_KINDS = {"upload_id": SourceKind.UPLOAD, "s3_uri": SourceKind.S3, "local_path": SourceKind.LOCAL}


FORMAT_ENUMS = {v: k for k, v in FORMATS.items()}
SHAPE_ENUMS = {v: k for k, v in SHAPES.items()}
SPLIT_ENUMS = {v: k for k, v in SPLITS.items()}
_SOURCE_FIELDS = {v: k for k, v in _SOURCE_KINDS.items()}


# -- requests ------------------------------------------------------------------------------------

def source(message: pb.DataSource) -> SourceSpec:
    which = message.WhichOneof("location")
    if which is None:
        raise InvalidArgument("give an upload_id, an s3_uri or a local_path", field="source")
    return SourceSpec(_SOURCE_KINDS[which], getattr(message, which), FORMATS.get(message.format))


def preparation(message: pb.PreparationConfig, present: bool) -> PreparationConfig:
    """Fields the caller set (proto3 ``optional``: false and zero included) override the defaults."""
    if not present:
        return PreparationConfig()
    data: dict[str, Any] = {}
    for step in _STEP_MESSAGES:
        if message.HasField(step):
            data[step] = {f.name: v if isinstance(v, str | bool | int | float) else list(v)
                          for f, v in getattr(message, step).ListFields()}
    if message.bad_record_policy == pb.BAD_RECORD_POLICY_SKIP:
        data["bad_record_policy"] = "skip"
    return parse_config(data)


def ingestion_request(message: pb.IngestDatasetRequest) -> IngestionRequest:
    return IngestionRequest(message.dataset_name, source(message.source), SHAPES.get(message.shape),
                            dict(message.column_mapping), preparation(message.preparation,
                                                                      message.HasField("preparation")),
                            message.request_id)


def split_filter(value: int) -> str | None:
    return SPLITS.get(value)


# -- responses -----------------------------------------------------------------------------------

def dataset(d: Dataset) -> pb.Dataset:
    return pb.Dataset(name=d.name, description=d.description, tags=d.tags, created_at=timestamp(d.created_at),
                      updated_at=timestamp(d.updated_at), latest_version=d.latest_version)


def step_report(step: dict[str, Any]) -> pb.StepReport:
    return pb.StepReport(step=step["step"], records_in=step["records_in"], records_kept=step["records_kept"],
                         records_modified=step.get("records_modified", 0),
                         dropped_by_reason=step["dropped_by_reason"])


def _source_message(lineage: dict[str, Any]) -> pb.DataSource | None:
    """The DataSource a version was ingested from, rebuilt from its lineage record."""
    if not lineage.get("uri"):
        return None
    fmt = lineage.get("format", "")
    spec = SourceSpec.from_uri(lineage["uri"], None if fmt in ("", "detect") else fmt)
    data_format = FORMAT_ENUMS.get(spec.format, pb.DATA_FORMAT_UNSPECIFIED) if spec.format else 0
    return pb.DataSource(**{_SOURCE_FIELDS[spec.kind]: spec.location}, format=data_format)


def _preparation_message(config: dict[str, Any]) -> pb.PreparationConfig:
    steps = {name: config[name] for name in ("normalize", "length_filter", "dedup", "pii", "split")}
    policy = pb.BAD_RECORD_POLICY_SKIP if config.get("bad_record_policy") == "skip" else pb.BAD_RECORD_POLICY_FAIL
    return pb.PreparationConfig(**{name: getattr(pb, _STEP_MESSAGES[name])(**fields)
                                   for name, fields in steps.items()}, bad_record_policy=policy)


_STEP_MESSAGES = {"normalize": "NormalizeStep", "length_filter": "LengthFilterStep", "dedup": "DedupStep",
                  "pii": "PiiStep", "split": "SplitStep"}


def version(v: DatasetVersion) -> pb.DatasetVersion:
    return pb.DatasetVersion(
        dataset_name=v.dataset_name, version=v.version, uri=v.uri, manifest_uri=v.manifest_uri,
        shape=SHAPE_ENUMS[v.shape], record_count=v.record_count, split_counts=v.split_counts,
        preparation=_preparation_message(v.preparation), config_hash=v.config_hash,
        source=_source_message(v.source),
        steps=[step_report(s) for s in v.steps], profile_uri=v.profile_uri, profile_html_uri=v.profile_html_uri,
        job_id=str(v.job_id), created_at=timestamp(v.created_at), created_by=v.created_by,
        used_by=[pb.DatasetUsage(used_by=u["used_by"], reference=u["reference"]) for u in v.used_by])


def job(j: IngestionJob, found_version: DatasetVersion | None = None) -> pb.IngestionJob:
    progress = j.progress or {}
    error = None
    if j.error:
        metadata = {k: str(j.error[k]) for k in ("file", "line") if j.error.get(k)}
        error = common_pb2.ErrorDetail(code=str(j.error["code"]), message=j.error["message"],
                                       field=j.error.get("field", ""), metadata=metadata)
    return pb.IngestionJob(
        job_id=str(j.job_id), dataset_name=j.dataset_name, status=STATUSES[j.status],
        progress=pb.IngestionProgress(records_read=progress.get("records_read", 0),
                                      bytes_read=progress.get("bytes_read", 0),
                                      total_bytes=progress.get("total_bytes", 0), step=progress.get("step", ""),
                                      peak_memory_bytes=progress.get("peak_memory_bytes", 0)),
        version=version(found_version) if found_version else None,
        reused_existing_version=j.reused_existing, error=error, created_at=timestamp(j.created_at),
        started_at=timestamp(j.started_at), finished_at=timestamp(j.finished_at), correlation_id=j.correlation_id)


def _distribution(d: dict[str, Any]) -> pb.Distribution:
    return pb.Distribution(**d)


def profile(p: dict[str, Any], json_uri: str, html_uri: str, html_url: str, summary: str) -> pb.DatasetProfile:
    return pb.DatasetProfile(
        dataset_name=p["dataset_name"], version=p["version"], json_uri=json_uri, html_uri=html_uri,
        html_url=html_url, summary=summary,
        steps=[step_report(s) for s in p["steps"]], char_lengths=_distribution(p["char_lengths"]),
        token_lengths=_distribution(p["token_lengths"]),
        duplicate_clusters=[pb.DuplicateCluster(size=c["size"], examples=c["examples"], kind=c["kind"])
                            for c in p["duplicate_clusters"]],
        pii_counts=p["pii_counts"], top_ngrams=[pb.NGramCount(**g) for g in p["top_ngrams"]],
        field_completeness=p["field_completeness"], script_mix=p["script_mix"],
        bad_record_count=p["bad_record_count"],
        bad_record_samples=[common_pb2.ErrorDetail(code="invalid", message=b["problem"],
                                                   field=f"{b['file']}:{b['line']}",
                                                   metadata={"file": b["file"], "line": str(b["line"])})
                            for b in p["bad_record_samples"]],
        record_count=p["record_count"], split_counts=p["split_counts"], tokenizer=p["tokenizer"],
        ngram_n=p["ngram_n"], ngram_sample_fraction=p["ngram_sample_fraction"])


def record(row: dict[str, Any], shape: Shape) -> pb.Record:
    content: dict[str, Any]
    if shape is Shape.INSTRUCTION:
        content = {"instruction": pb.InstructionRecord(instruction=row["instruction"], input=row["input"],
                                                       output=row["output"])}
    elif shape is Shape.CHAT:
        content = {"chat": pb.ChatRecord(messages=[pb.ChatMessage(**m) for m in row["messages"]])}
    else:
        content = {"text": row["text"]}
    return pb.Record(record_id=row["record_id"], split=SPLIT_ENUMS[row["split"]],
                     source=pb.SourcePosition(file=row["source_file"], line=row["source_line"]), **content)
