"""The ingestion job runner on real PostgreSQL and S3: a job becomes a version with its event in the
outbox; an upload that fails half-way leaves neither objects nor a version; a stopping service puts
its job back in the queue; metrics count what happened."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psutil
import pytest
from prometheus_client import REGISTRY

from llmops_common.auth import Principal, Role
from llmops_common.db import migrate
from llmops_common.events import Envelope
from llmops_common.events.ingestion import DatasetIngestionFailed, DatasetRequested
from llmops_common.storage import ArtifactStore
from llmops_common.testing.waiting import wait_for
from llmops_ingestion import handlers
from llmops_ingestion.api import events
from llmops_ingestion.domain.model import IngestionRequest, JobStatus, SourceKind, SourceSpec
from llmops_ingestion.jobs import JobRunner
from llmops_ingestion.schema import migrations
from llmops_ingestion.settings import IngestionSettings
from llmops_ingestion.sources import SourceRules
from llmops_ingestion.store.postgres import PostgresUnitOfWork

pytestmark = pytest.mark.integration
ACTOR = Principal("k1", "dev", Role.DEVELOPER)


class FailingManifestStore(ArtifactStore):
    """S3 that goes away just before the manifest: the shards are already stored."""

    def put_file(self, uri: str, path: Path, *, sha256: str = ""):
        if uri.endswith("manifest.json"):
            raise ConnectionError("S3 went away")
        return super().put_file(uri, path, sha256=sha256)


@pytest.fixture
async def setup(pg_pool, settings_for, unique_name, tmp_path):
    async with pg_pool.connection() as conn:
        await migrate(conn, unique_name, migrations())
    settings = settings_for(IngestionSettings, work_dir=tmp_path / "work", local_source_roots=[tmp_path])

    def uow(*, readonly: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(pg_pool, readonly=readonly)

    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"question": f"question {i} about things", "answer": f"answer {i} "
                                        f"with mail{i}@example.com"}) + "\n" for i in range(300)))
    return uow, settings, data


async def submit_and_claim(uow, name: str, data: Path, roots: list[Path]):
    request = IngestionRequest(name, SourceSpec(SourceKind.LOCAL, str(data)))
    job = await handlers.submit_ingestion(uow, request, actor=ACTOR, sources=SourceRules(tuple(roots)))
    async with uow() as tx:
        claimed = await tx.claim_job(60)
        await tx.commit()
    assert claimed.job_id == job.job_id
    return claimed


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_job_becomes_a_version_with_its_event_in_the_outbox(setup, pg_pool, settings_for, unique_name):
    uow, settings, data = setup
    artifacts = ArtifactStore.from_settings(settings)
    artifacts.ensure_buckets()
    created_before, emails_before = metric("llmops_ingestion_jobs_total", outcome="created"), metric(
        "llmops_ingestion_pii_redactions_total", kind="email")
    job = await submit_and_claim(uow, unique_name, data, [data.parent])
    await JobRunner(uow, artifacts, settings).process(job)

    done = await handlers.get_job(uow, str(job.job_id))
    assert done.status is JobStatus.SUCCEEDED and done.version
    version = await handlers.get_version(uow, unique_name, done.version)
    assert version.record_count == 300 and version.source["files"][0]["size_bytes"] == data.stat().st_size
    manifest = json.loads(artifacts.get_bytes(version.manifest_uri))
    assert sum(s["records"] for s in manifest["shards"]) == 300
    assert all(artifacts.stat(f"{version.uri}{s['path']}").sha256 == s["sha256"] for s in manifest["shards"])
    async with pg_pool.connection() as conn:
        rows = await (await conn.execute("SELECT subject FROM outbox ORDER BY id")).fetchall()
    assert [r[0] for r in rows] == ["llmops.ingestion.dataset.ingested"]
    assert metric("llmops_ingestion_jobs_total", outcome="created") == created_before + 1
    assert metric("llmops_ingestion_pii_redactions_total", kind="email") == emails_before + 300
    assert not (settings.work_dir / str(job.job_id)).exists()  # scratch space cleaned up


async def test_a_failed_upload_leaves_no_objects_and_no_version(setup, pg_pool, unique_name):
    uow, settings, data = setup
    artifacts = FailingManifestStore.from_settings(settings)
    artifacts.ensure_buckets()
    failed_before = metric("llmops_ingestion_jobs_total", outcome="failed")
    job = await submit_and_claim(uow, unique_name, data, [data.parent])
    await JobRunner(uow, artifacts, settings).process(job)

    done = await handlers.get_job(uow, str(job.job_id))
    assert done.status is JobStatus.FAILED and "S3 went away" in done.error["message"]
    assert artifacts.list_objects(f"s3://{settings.s3_bucket_datasets}/{unique_name}/") == []
    async with uow(readonly=True) as tx:
        assert await tx.get_version(unique_name, "") is None
    async with pg_pool.connection() as conn:
        rows = await (await conn.execute("SELECT subject, created_at FROM outbox")).fetchall()
        finished = (await (await conn.execute("SELECT finished_at FROM ingestion_jobs")).fetchone())[0]
    assert [r[0] for r in rows] == ["llmops.ingestion.dataset.failed"]
    assert rows[0][1] == finished  # one transaction (one now()): the job's failure and its event
    assert metric("llmops_ingestion_jobs_total", outcome="failed") == failed_before + 1


class SubscribingOnlyBus:
    """Takes subscriptions; publishing straight to it (past the outbox) fails the test."""

    def __init__(self) -> None:
        self.handlers: dict[str, object] = {}

    def subscribe(self, subject: str, *, durable: str, handler, accept=None) -> None:
        self.handlers[subject] = handler

    async def publish(self, envelope) -> None:
        raise AssertionError(f"{envelope.type} was published straight to the bus, not through the outbox")


async def test_a_request_event_that_can_never_be_valid_is_answered_through_the_outbox_once(setup, pg_pool,
                                                                                           unique_name):
    uow, _, data = setup
    bus = SubscribingOnlyBus()
    events.subscribe(bus, uow, SourceRules((data.parent,)), lambda: None)
    request = Envelope.wrap(DatasetRequested(dataset_name=unique_name, source_uri=str(data),
                                             config={"shape": "nonsense"}), producer="tests", correlation_id="c-1")
    for _ in range(2):  # a redelivery is answered once
        await bus.handlers[DatasetRequested.event_type](request)
    async with pg_pool.connection() as conn:
        outbox = await (await conn.execute("SELECT subject, payload, created_at FROM outbox")).fetchall()
        audit = await (await conn.execute("SELECT action, occurred_at FROM audit_log")).fetchall()
        inbox = await (await conn.execute("SELECT handled_at FROM inbox WHERE event_id = %s",
                                          (request.event_id,))).fetchall()
    assert [row[0] for row in outbox] == [DatasetIngestionFailed.event_type]
    failed = Envelope[DatasetIngestionFailed].model_validate_json(bytes(outbox[0][1]))
    assert failed.payload.dataset_name == unique_name and failed.payload.reason.startswith("config.shape: unknown")
    assert (failed.correlation_id, failed.causation_id) == ("c-1", str(request.event_id))
    assert [row[0] for row in audit] == ["ingestion.rejected"]
    assert outbox[0][2] == audit[0][1] == inbox[0][0]  # event, audit row and inbox claim: one transaction


async def test_a_stopping_service_puts_its_job_back_in_the_queue(setup, unique_name):
    uow, settings, data = setup
    artifacts = ArtifactStore.from_settings(settings)
    runner = JobRunner(uow, artifacts, settings)
    job = await submit_and_claim(uow, unique_name, data, [data.parent])
    stop = asyncio.Event()
    stop.set()
    await runner.process(job, stop)  # the service received SIGTERM while this job was claimed
    again = await handlers.get_job(uow, str(job.job_id))
    assert again.status is JobStatus.PENDING and again.version is None


async def test_a_worker_killed_mid_job_fails_the_job_not_the_service(setup, unique_name):
    uow, settings, data = setup
    artifacts = ArtifactStore.from_settings(settings)
    artifacts.ensure_buckets()
    runner = JobRunner(uow, artifacts, settings)
    job = await submit_and_claim(uow, unique_name, data, [data.parent])
    task = asyncio.create_task(runner.process(job))
    me = psutil.Process()

    def spawned() -> list[psutil.Process]:
        assert not task.done(), "the job ran without a worker process"
        return [c for c in me.children() if "spawn_main" in " ".join(c.cmdline())]

    workers = await wait_for(spawned, 30, what="the job's worker process", interval=0.02)
    workers[0].kill()
    await task
    done = await handlers.get_job(uow, str(job.job_id))
    assert done.status is JobStatus.FAILED and "preparation process" in done.error["message"]

    # the runner is still fine: the next job gets a new worker and succeeds
    again = await submit_and_claim(uow, unique_name, data, [data.parent])
    await runner.process(again)
    assert (await handlers.get_job(uow, str(again.job_id))).status is JobStatus.SUCCEEDED


async def test_a_symlink_out_of_the_roots_fails_the_job_naming_it(setup, unique_name, tmp_path):
    uow, settings, data = setup
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "data.jsonl").write_text(data.read_text())
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    job = await submit_and_claim(uow, unique_name, folder, [tmp_path])
    await JobRunner(uow, ArtifactStore.from_settings(settings), settings).process(job)
    done = await handlers.get_job(uow, str(job.job_id))
    assert done.status is JobStatus.FAILED and done.version is None
    assert (done.error["code"], done.error["file"]) == ("permission_denied", f"{folder}/passwd.txt")
    assert "symlink to '/etc/passwd', outside the allowed local roots" in done.error["message"]


async def test_a_request_event_naming_the_models_bucket_is_refused_when_accepted(setup, pg_pool, unique_name):
    uow, settings, _ = setup
    bus = SubscribingOnlyBus()
    events.subscribe(bus, uow, SourceRules.from_settings(settings), lambda: None)
    request = Envelope.wrap(DatasetRequested(dataset_name=unique_name, source_uri="s3://llmops-models/base/"),
                            producer="tests")
    await bus.handlers[DatasetRequested.event_type](request)
    async with pg_pool.connection() as conn:
        outbox = await (await conn.execute("SELECT payload FROM outbox")).fetchall()
        jobs = await (await conn.execute("SELECT count(*) FROM ingestion_jobs")).fetchone()
    failed = Envelope[DatasetIngestionFailed].model_validate_json(bytes(outbox[0][0]))
    assert failed.payload.reason.startswith("source.s3_uri: 's3://llmops-models/base/' is outside the S3 prefixes")
    assert jobs[0] == 0
