"""The job runner: claims queued ingestion jobs and turns each into a dataset version, or a failure.

A job stages its source on local disk, runs the preparation in a worker thread (heartbeating its
progress to Postgres), uploads the version folder (shards first, manifest last), then commits the
version row, the job's end and the ``dataset.ingested`` event together. Any failure ends the job
``failed`` with the file, line and problem, removes whatever it uploaded, and emits ``dataset.failed``;
no version row exists unless everything before it succeeded. A process that dies mid-job leaves a
stale heartbeat, and the job is claimed again.

``dataset.failed`` always goes through the outbox, in the transaction that records the failure: a
job's ``failed`` state, or (``reject_request``) the inbox entry of a ``dataset.requested`` event that
can never become a job. It is never published straight to the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops_common.audit import AuditEntry
from llmops_common.errors import DomainError, ErrorCode
from llmops_common.events import Envelope
from llmops_common.events.ingestion import DatasetIngested, DatasetIngestionFailed, DatasetRequested
from llmops_common.hashing import file_sha256
from llmops_common.storage import ArtifactStore
from llmops_ingestion import handlers, metrics
from llmops_ingestion.domain.model import DatasetVersion, IngestionJob, JobStatus, SourceKind, SourceSpec
from llmops_ingestion.preparation.pipeline import Outcome, PreparationFailed, Progress, SourceFile
from llmops_ingestion.settings import IngestionSettings
from llmops_ingestion.sources import SourceRules
from llmops_ingestion.store import IngestionUnitOfWork, UnitOfWorkFactory
from llmops_ingestion.worker import Interrupted, PreparationTask, run_in_child

log = logging.getLogger(__name__)
ACTOR = "ingestion-service"


@dataclass
class JobRunner:
    uow: UnitOfWorkFactory
    artifacts: ArtifactStore
    settings: IngestionSettings

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None  # the service's loop, for calls from worker threads
        self._stop = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Work through the queue until ``stop``; poll as well, for jobs other instances accepted."""
        self._stop = stop
        while not stop.is_set():
            self._wake.clear()
            try:
                async with self.uow() as tx:
                    job = await tx.claim_job(self.settings.job_stale_seconds)
                    await tx.commit()
            except Exception:  # Postgres away: try again on the next poll
                log.warning("could not claim an ingestion job", exc_info=True)
                job = None
            if job is not None:
                await self.process(job)
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(_first(self._wake.wait(), stop.wait()), self.settings.job_poll_seconds)

    async def process(self, job: IngestionJob, stop: asyncio.Event | None = None) -> None:
        """Run one claimed job to its end; if ``stop`` (default: the runner's) is set meanwhile, the job
        goes back to the queue instead."""
        self._loop = asyncio.get_running_loop()
        workdir = self.settings.work_dir / str(job.job_id)
        shutil.rmtree(workdir, ignore_errors=True)
        uploaded_to: str | None = None
        progress = _ProgressBox(stop or self._stop)
        beat = asyncio.create_task(self._heartbeat(job, progress))
        started = time.monotonic()
        try:
            source_uri = await self._upload_uri(job.request.source.location) \
                if job.request.source.kind is SourceKind.UPLOAD else job.request.source.location
            source, files = await asyncio.to_thread(self._stage, job.request.source, source_uri,
                                                    workdir / "source", job.request.dataset_name)
            outcome = await asyncio.to_thread(self._prepare, job, files, workdir, source, progress)
            if outcome.folder is not None:
                uploaded_to = self._version_uri(job.request.dataset_name, outcome.version)
                progress.set(step="upload")
                await asyncio.to_thread(self._upload, outcome.folder, uploaded_to)
            await self._succeed(job, outcome, source, progress.snapshot())
            uploaded_to = None
        except JobInterrupted:
            async with self.uow() as tx:
                await tx.release_job(job.job_id)
                await tx.commit()
            log.info("ingestion job %s interrupted by shutdown; queued again", job.job_id)
        except PreparationFailed as exc:
            await self._fail(job, handlers.job_error(exc.problem, code=ErrorCode.INVALID, file=exc.file,
                                                     line=exc.line))
        except DomainError as exc:
            await self._fail(job, handlers.job_error(exc.message, code=exc.code, file=exc.field))
        except Exception as exc:  # an infrastructure fault still ends the job, loudly
            log.exception("ingestion job %s failed", job.job_id)
            await self._fail(job, handlers.job_error(f"internal error: {exc!r}", code=ErrorCode.INTERNAL))
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            if uploaded_to and not await self._version_exists(job.request.dataset_name, outcome.version):
                await asyncio.to_thread(self.artifacts.delete_prefix, uploaded_to)
            shutil.rmtree(workdir, ignore_errors=True)
            metrics.JOB_SECONDS.observe(time.monotonic() - started)

    # -- steps -------------------------------------------------------------------------------

    def _stage(self, spec: SourceSpec, uri: str, folder: Path,
               dataset_name: str) -> tuple[dict[str, Any], list[SourceFile]]:
        """Bring the source (``uri``: an upload's stored object) onto local disk, checked again against
        the allowed roots and prefixes (``sources``); record what was read."""
        folder.mkdir(parents=True, exist_ok=True)
        rules = SourceRules.from_settings(self.settings)
        rules.check(spec)
        if spec.kind is SourceKind.LOCAL:
            files = [SourceFile(path, name, spec.format) for path, name in rules.stage_local(spec.location, folder)]
        else:
            objects = [(u, size) for u, size in self.artifacts.list_objects(uri) if not u.endswith("/")]
            if not objects:
                raise DomainError(f"no objects at {uri}", code=ErrorCode.NOT_FOUND, field=uri)
            files = []
            for i, (object_uri, _) in enumerate(objects):
                local = folder / f"{i:05d}-{Path(object_uri).name}"
                self.artifacts.get_file(object_uri, local)
                name = object_uri if spec.kind is SourceKind.S3 else Path(object_uri).name
                files.append(SourceFile(local, name, spec.format))
        if not files:
            raise DomainError(f"no files under {spec.location}", code=ErrorCode.NOT_FOUND, field=spec.location)
        lineage = [{"name": f.name, "size_bytes": f.path.stat().st_size, "sha256": file_sha256(f.path)} for f in files]
        return {"dataset_name": dataset_name, "uri": spec.uri, "format": str(spec.format or "detect"),
                "files": lineage}, files

    async def _upload_uri(self, upload_id: str) -> str:
        async with self.uow(readonly=True) as tx:
            upload = await tx.get_upload(uuid.UUID(upload_id))
        if upload is None:
            raise DomainError(f"no upload {upload_id}", code=ErrorCode.NOT_FOUND, field="source.upload_id")
        return upload.uri

    def _prepare(self, job: IngestionJob, files: list[SourceFile], workdir: Path, source: dict[str, Any],
                 progress: _ProgressBox) -> Outcome:
        """The preparation and its report, in a child process (``worker``)."""
        request = job.request
        SourceRules.from_settings(self.settings).check_tokenizer(request.preparation.length_filter.tokenizer)
        task = PreparationTask(request.preparation, request.shape, request.column_mapping, workdir / "work",
                               self.settings.max_record_bytes, self.settings.shard_records, files, source,
                               self.settings.expansion)

        def version_exists(version: str) -> bool:
            return asyncio.run_coroutine_threadsafe(self._version_exists(request.dataset_name, version),
                                                    self._loop).result()

        try:
            outcome, peak = run_in_child(task, version_exists=version_exists, on_progress=progress.update,
                                         should_stop=progress.stop.is_set)
        except Interrupted:
            raise JobInterrupted from None
        progress.set(peak_memory_bytes=peak)
        metrics.WORKER_PEAK_BYTES.observe(peak)
        return outcome

    def _upload(self, folder: Path, uri: str) -> None:
        last = ("profile.json", "profile.html", "manifest.json")  # the manifest marks a complete version
        hashed = {s["path"]: s["sha256"] for s in json.loads((folder / "manifest.json").read_text())["shards"]}
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in last):
            relative = path.relative_to(folder).as_posix()
            self.artifacts.put_file(f"{uri}{relative}", path, sha256=hashed.get(relative, ""))
        for name in last:
            self.artifacts.put_file(f"{uri}{name}", folder / name)

    def _version_uri(self, dataset_name: str, version: str) -> str:
        return f"s3://{self.settings.s3_bucket_datasets}/{dataset_name}/{version}/"

    async def _succeed(self, job: IngestionJob, outcome: Outcome, source: dict[str, Any],
                       progress: dict[str, Any]) -> None:
        name = job.request.dataset_name
        uri = self._version_uri(name, outcome.version)
        async with self.uow() as tx:
            reused = True
            if outcome.folder is not None:
                reused = not await tx.add_version(DatasetVersion(
                    name, outcome.version, uri, f"{uri}manifest.json", outcome.shape, outcome.record_count,
                    outcome.split_counts, job.request.preparation.model_dump(mode="json"),
                    job.request.preparation.config_hash(), source, outcome.steps, f"{uri}profile.json",
                    f"{uri}profile.html", job.job_id, job.created_by))
            version = await tx.get_version(name, outcome.version)
            assert version is not None
            await tx.heartbeat(job.job_id, {**progress, "step": "done"})
            await tx.finish_job(job.job_id, JobStatus.SUCCEEDED, version=outcome.version, reused=reused)
            counts = {"records": version.record_count, **version.split_counts}
            tx.record(AuditEntry(ACTOR, "version.reused" if reused else "version.created", name, outcome.version,
                                 detail={"job_id": str(job.job_id)}, correlation_id=job.correlation_id or None),
                      DatasetIngested(dataset_name=name, version=outcome.version, uri=uri, counts=counts))
            await tx.commit()
        metrics.JOBS.labels("reused" if reused else "created").inc()
        if outcome.profile is not None:
            metrics.observe_steps(outcome.steps, outcome.profile["pii_counts"])
        log.info("ingestion job %s: %s@%s (%s)", job.job_id, name, outcome.version, "reused" if reused else "new")

    async def _fail(self, job: IngestionJob, error: dict[str, Any]) -> None:
        async with self.uow() as tx:
            await tx.finish_job(job.job_id, JobStatus.FAILED, error=error)
            reason = record_failure(tx, job.request.dataset_name, error, action="ingestion.failed",
                                    correlation_id=job.correlation_id or None)
            await tx.commit()
        metrics.JOBS.labels("failed").inc()
        log.warning("ingestion job %s failed: %s", job.job_id, reason)

    async def _version_exists(self, dataset_name: str, version: str) -> bool:
        async with self.uow(readonly=True) as tx:
            return await tx.get_version(dataset_name, version) is not None

    async def _heartbeat(self, job: IngestionJob, progress: _ProgressBox) -> None:
        while True:
            await asyncio.sleep(self.settings.job_heartbeat_seconds)
            with contextlib.suppress(Exception):
                async with self.uow() as tx:
                    await tx.heartbeat(job.job_id, progress.snapshot())
                    await tx.commit()


def record_failure(tx: IngestionUnitOfWork, dataset_name: str, error: dict[str, Any], *, action: str,
                   correlation_id: str | None) -> str:
    """Queue ``dataset.failed`` and its audit row in ``tx`` (written to the outbox at its commit);
    return the reason the event carries."""
    reason = f"{error['field']}: {error['message']}" if error.get("field") else error["message"]
    tx.record(AuditEntry(ACTOR, action, dataset_name, detail=error, correlation_id=correlation_id),
              DatasetIngestionFailed(dataset_name=dataset_name, reason=reason))
    return reason


async def reject_request(uow: UnitOfWorkFactory, envelope: Envelope[DatasetRequested], exc: DomainError) -> bool:
    """Answer a ``dataset.requested`` event that can never become a job with ``dataset.failed``, once per
    event (the inbox); False when this event was answered already."""
    async with uow() as tx:
        if not await tx.claim_event(handlers.REQUEST_CONSUMER, envelope.event_id):
            return False
        tx.follow(envelope)
        record_failure(tx, envelope.payload.dataset_name,
                       handlers.job_error(exc.message, code=exc.code, file=exc.field),
                       action="ingestion.rejected", correlation_id=envelope.correlation_id)
        await tx.commit()
    return True


class JobInterrupted(Exception):
    """The service is stopping; the job goes back to the queue."""


class _ProgressBox:
    """The latest progress, written by the worker thread and read by the heartbeat, and the stop event
    the worker thread watches."""

    def __init__(self, stop: asyncio.Event) -> None:
        self._value: dict[str, Any] = {"records_read": 0, "bytes_read": 0, "total_bytes": 0, "step": "stage"}
        self.stop = stop

    def update(self, progress: Progress) -> None:
        self._value = {**self._value, "records_read": progress.records_read, "bytes_read": progress.bytes_read,
                       "total_bytes": progress.total_bytes, "step": progress.step}

    def set(self, **fields: Any) -> None:
        self._value = {**self._value, **fields}

    def snapshot(self) -> dict[str, Any]:
        return dict(self._value)


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
