"""``llmops datasets``: ingestion and data preparation, over the ingestion service's gRPC API.

``ingest`` uploads a local file (streamed, with a progress bar) or names an ``s3://`` object or
prefix, or a path on the service's machine (``--service-path``); then it follows the job with a
progress bar until the version exists or the job fails (exit code 1, with the file, line and problem).
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
import uuid
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from llmops.ingestion.v1 import ingestion_pb2 as pb
from llmops.ingestion.v1 import ingestion_pb2_grpc
from llmops_cli.output import console
from llmops_cli.rpc import ServiceClient
from llmops_cli.services import SERVICES
from llmops_cli.toolkit import (
    ApiKeyOpt,
    JsonOpt,
    PageSizeOpt,
    PageTokenOpt,
    emit,
    next_page,
    page,
    parse_pairs,
    short_name,
    show_kv,
)

datasets_app = typer.Typer(help="Datasets: ingestion, preparation, versions, profiles, samples and diffs.",
                           no_args_is_help=True)
client = ServiceClient(SERVICES["ingestion"], ingestion_pb2_grpc.IngestionServiceStub)
CHUNK = 1024 * 1024
FORMATS = ["jsonl", "json", "csv", "parquet", "text_lines", "text_file"]
_FORMAT_ENUM = {"jsonl": "JSONL", "json": "JSON_ARRAY", "csv": "CSV", "parquet": "PARQUET",
                "text_lines": "TEXT_LINES", "text_file": "TEXT_FILES"}
_DONE = (pb.JOB_STATUS_SUCCEEDED, pb.JOB_STATUS_FAILED)


@datasets_app.callback()
def _connect(
    ingestion: Annotated[str | None, typer.Option("--ingestion", envvar="LLMOPS_INGESTION_ENDPOINT",
                                                  help="Ingestion service gRPC endpoint HOST:PORT.")] = None,
    api_key: ApiKeyOpt = None,
) -> None:
    client.configure(ingestion, api_key)


def _reference(text: str) -> tuple[str, str]:
    name, _, version = text.partition("@")
    return name, version


# -- ingest ----------------------------------------------------------------------------------------


def upload(name: str, path: Path) -> str:
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)

    def messages(progress: Progress, task: Any) -> Iterator[pb.UploadFileRequest]:
        yield pb.UploadFileRequest(header=pb.UploadFileHeader(dataset_name=name, filename=path.name,
                                                              size_bytes=size, sha256=digest.hexdigest()))
        with path.open("rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                progress.advance(task, len(block))
                yield pb.UploadFileRequest(chunk=block)

    with Progress(TextColumn("upload {task.description}", markup=False), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(path.name, total=size)
        reply = client.call("UploadFile", messages(progress, task), timeout=3600)
    return reply.upload_id


def _preparation(config: Path | None, skip_bad: bool) -> pb.PreparationConfig | None:
    data: dict[str, Any] = yaml.safe_load(config.read_text()) if config else {}
    if skip_bad:
        data["bad_record_policy"] = "BAD_RECORD_POLICY_SKIP"
    if not data:
        return None
    from google.protobuf import json_format

    try:
        return json_format.ParseDict(data, pb.PreparationConfig())
    except json_format.ParseError as exc:
        raise typer.BadParameter(f"{config}: {exc}", param_hint="--config") from None


def follow(job: pb.IngestionJob, *, poll: float = 0.5) -> pb.IngestionJob:
    """Poll the job, with a progress bar over the bytes read, until it ends."""
    columns = (TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
               TextColumn("{task.fields[records]}", markup=False), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("queued", total=None, records="")
        while job.status not in _DONE:
            time.sleep(poll)
            job = client.call("GetIngestionJob", pb.GetIngestionJobRequest(job_id=job.job_id))
            p = job.progress
            progress.update(task, description=p.step or short_name(pb.JobStatus, "JOB_STATUS_", job.status),
                            total=p.total_bytes or None, completed=p.bytes_read,
                            records=f"{p.records_read:,} records")
    return job


@datasets_app.command("ingest")
def ingest(
    name: Annotated[str, typer.Argument(help="Dataset name (created if new).")],
    source: Annotated[str, typer.Argument(help="A local file to upload, or s3://bucket/key-or-prefix.")],
    service_path: Annotated[bool, typer.Option("--service-path", help="SOURCE is a path on the service's "
                                                                      "machine (under its allowed roots).")] = False,
    fmt: Annotated[str | None, typer.Option("--format", help=f"One of {FORMATS} (default: detect).")] = None,
    shape: Annotated[str | None, typer.Option("--shape", help="instruction, chat or text (default: detect).")] = None,
    mapping: Annotated[list[str] | None, typer.Option("--map", help="target=column, e.g. output=answer "
                                                                     "(repeatable).")] = None,
    config: Annotated[Path | None, typer.Option("--config", exists=True, dir_okay=False,
                                                help="Preparation config, YAML or JSON (PreparationConfig).")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Skip bad records (counted in the profile) "
                                                              "instead of failing.")] = False,
    request_id: Annotated[str, typer.Option("--request-id", help="Idempotency key.")] = "",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job to its end.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Ingest a file or prefix into a new content-addressed version (a no-op if it exists)."""
    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(f"one of {FORMATS}", param_hint="--format")
    if source.startswith("s3://"):
        data_source = pb.DataSource(s3_uri=source)
    elif service_path:
        data_source = pb.DataSource(local_path=source)
    else:
        path = Path(source)
        if not path.is_file():
            raise typer.BadParameter(f"no file at {source!r} (use s3://... or --service-path)",
                                     param_hint="SOURCE")
        data_source = pb.DataSource(upload_id=upload(name, path))
    if fmt:
        data_source.format = pb.DataFormat.Value(f"DATA_FORMAT_{_FORMAT_ENUM[fmt]}")
    request = pb.IngestDatasetRequest(
        dataset_name=name, source=data_source, column_mapping=parse_pairs(mapping, "mapping"),
        shape=pb.RecordShape.Value(f"RECORD_SHAPE_{shape.upper()}") if shape else pb.RECORD_SHAPE_UNSPECIFIED,
        preparation=_preparation(config, skip_bad), request_id=request_id or str(uuid.uuid4()))
    job = client.call("IngestDataset", request)
    if wait:
        job = follow(job)
    emit(job, as_json, _show_job)
    if job.status == pb.JOB_STATUS_FAILED:
        raise typer.Exit(1)


def _show_job(job: pb.IngestionJob) -> None:
    status = short_name(pb.JobStatus, "JOB_STATUS_", job.status)
    if job.status == pb.JOB_STATUS_FAILED:
        where = f"{job.error.field}: " if job.error.field else ""
        console.print(Text.assemble((f"job {job.job_id} failed", "red"), f": {where}{job.error.message}"))
        return
    if job.status != pb.JOB_STATUS_SUCCEEDED:
        console.print(f"job {job.job_id}: {status}")
        return
    v = job.version
    reused = " (existing version: same data and config)" if job.reused_existing_version else ""
    console.print(Text.assemble((f"{v.dataset_name}@{v.version}", "green"), f"{reused}: {v.record_count:,} records "
                                f"({', '.join(f'{k} {n:,}' for k, n in sorted(v.split_counts.items()))}) at {v.uri}"))
    _show_steps(v.steps)


def _show_steps(steps: list[pb.StepReport]) -> None:
    table = Table("step", "in", "kept", "modified", "dropped (why)", title="preparation")
    for s in steps:
        dropped = ", ".join(f"{reason} {n:,}" for reason, n in sorted(s.dropped_by_reason.items()))
        table.add_row(s.step, f"{s.records_in:,}", f"{s.records_kept:,}", f"{s.records_modified:,}", dropped)
    console.print(table)


@datasets_app.command("job")
def job_status(job_id: str, wait: Annotated[bool, typer.Option("--wait", help="Follow it to its end.")] = False,
               as_json: JsonOpt = False) -> None:
    """Show an ingestion job."""
    job = client.call("GetIngestionJob", pb.GetIngestionJobRequest(job_id=job_id))
    emit(follow(job) if wait else job, as_json, _show_job)


# -- read ------------------------------------------------------------------------------------------


@datasets_app.command("list")
def list_datasets(prefix: Annotated[str, typer.Option("--prefix", help="Name prefix.")] = "",
                  page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "", as_json: JsonOpt = False) -> None:
    """List datasets with their latest version."""
    reply = client.call("ListDatasets", pb.ListDatasetsRequest(name_prefix=prefix, page=page(page_size, page_token)))

    def render(r: pb.ListDatasetsResponse) -> None:
        table = Table("dataset", "latest version", "description", "updated")
        for d in r.datasets:
            table.add_row(d.name, d.latest_version or "-", d.description, d.updated_at.ToJsonString())
        console.print(table)
        next_page(r.page)

    emit(reply, as_json, render)


@datasets_app.command("show")
def show(reference: Annotated[str, typer.Argument(help="NAME or NAME@VERSION (default: latest).")],
         versions: Annotated[bool, typer.Option("--versions", help="List every version instead.")] = False,
         as_json: JsonOpt = False) -> None:
    """Show a version (its steps, splits, source and lineage), or list the versions."""
    name, version = _reference(reference)
    if versions:
        reply = client.call("ListDatasetVersions", pb.ListDatasetVersionsRequest(dataset_name=name))

        def render(r: pb.ListDatasetVersionsResponse) -> None:
            table = Table("version", "records", "shape", "created", "by", title=f"versions of {name}")
            for v in r.versions:
                table.add_row(v.version, f"{v.record_count:,}", short_name(pb.RecordShape, "RECORD_SHAPE_", v.shape),
                              v.created_at.ToJsonString(), v.created_by)
            console.print(table)
            next_page(r.page)

        emit(reply, as_json, render)
        return
    found = client.call("GetDatasetVersion", pb.GetDatasetVersionRequest(dataset_name=name, version=version))

    def render_version(v: pb.DatasetVersion) -> None:
        show_kv(pb.DatasetVersion(dataset_name=v.dataset_name, version=v.version, uri=v.uri, shape=v.shape,
                                  record_count=v.record_count, split_counts=v.split_counts,
                                  config_hash=v.config_hash, profile_html_uri=v.profile_html_uri, job_id=v.job_id,
                                  created_at=v.created_at, created_by=v.created_by, used_by=v.used_by),
                f"{v.dataset_name}@{v.version}")
        _show_steps(v.steps)

    emit(found, as_json, render_version)


@datasets_app.command("profile")
def profile(reference: Annotated[str, typer.Argument(help="NAME@VERSION (or NAME: latest).")],
            html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
            open_report: Annotated[bool, typer.Option("--open", help="Open the HTML report in a browser.")] = False,
            as_json: JsonOpt = False) -> None:
    """Print the exploratory-data-analysis summary; write or open the HTML report with its plots."""
    name, version = _reference(reference)
    reply = client.call("GetProfile", pb.GetProfileRequest(dataset_name=name, version=version))
    emit(reply, as_json, lambda p: console.print(p.summary))
    if html or open_report:
        target = html or Path(f"{reply.dataset_name}-{reply.version}.html")
        with urllib.request.urlopen(reply.html_url, timeout=60) as response:  # a presigned URL of our S3
            target.write_bytes(response.read())
        typer.echo(f"HTML report written to {target}", err=True)
        if open_report:
            webbrowser.open(target.resolve().as_uri())


@datasets_app.command("sample")
def sample(reference: Annotated[str, typer.Argument(help="NAME or NAME@VERSION.")],
           split: Annotated[str | None, typer.Option("--split", help="train, validation or test.")] = None,
           limit: Annotated[int, typer.Option("--limit", help="How many records.")] = 5,
           seed: Annotated[int, typer.Option("--seed", help="Same seed, same sample.")] = 0,
           as_json: JsonOpt = False) -> None:
    """Print a deterministic sample of a version's records."""
    name, version = _reference(reference)
    split_value = pb.Split.Value(f"SPLIT_{split.upper()}") if split else pb.SPLIT_UNSPECIFIED
    reply = client.call("SampleRecords", pb.SampleRecordsRequest(dataset_name=name, version=version,
                                                                 split=split_value, limit=limit, seed=seed))
    emit(reply, as_json, lambda r: _show_records(r.records, "sample"))


@datasets_app.command("diff")
def diff(name: str, from_version: str, to_version: str,
         limit: Annotated[int, typer.Option("--limit", help="Records to show per side.")] = 5,
         as_json: JsonOpt = False) -> None:
    """Records added and removed between two versions."""
    reply = client.call("DiffVersions", pb.DiffVersionsRequest(dataset_name=name, from_version=from_version,
                                                               to_version=to_version, sample_limit=limit))

    def render(r: pb.DiffVersionsResponse) -> None:
        console.print(f"{name}: {from_version} -> {to_version}: +{r.added_count:,} added, "
                      f"-{r.removed_count:,} removed, {r.unchanged_count:,} unchanged")
        _show_records(r.added, "added")
        _show_records(r.removed, "removed")

    emit(reply, as_json, render)


def _content(record: pb.Record) -> str:
    which = record.WhichOneof("content")
    if which == "instruction":
        r = record.instruction
        return json.dumps({"instruction": r.instruction, "input": r.input, "output": r.output}, ensure_ascii=False)
    if which == "chat":
        return "\n".join(f"{m.role}: {m.content}" for m in record.chat.messages)
    return record.text


def _show_records(records: Any, title: str) -> None:
    if not records:
        return
    table = Table("record", "split", "source", "content", title=title)
    for r in records:
        table.add_row(r.record_id[:12], short_name(pb.Split, "SPLIT_", r.split), f"{r.source.file}:{r.source.line}",
                      _content(r)[:400])
    console.print(table)
