"""The ingestion service as its own process on the embedded stack (NATS, PostgreSQL, S3), driven by
gRPC, by events and by the CLI: upload, ingest, idempotent re-ingestion, profile, sample, diff, lineage,
and bad input that ends a job failed and leaves no version behind."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import pytest

from llmops.ingestion.v1 import ingestion_pb2 as pb
from llmops.ingestion.v1 import ingestion_pb2_grpc as pb_grpc
from llmops_cli.migrations import migrate
from llmops_common.events import Envelope
from llmops_common.events.ingestion import DatasetIngested, DatasetIngestionFailed, DatasetRequested
from llmops_common.events.training import TrainingRunRequested
from llmops_common.storage import ArtifactStore
from llmops_common.testing.cli import Cli
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess
from llmops_common.testing.waiting import wait_for

pytestmark = pytest.mark.e2e
METADATA = [("authorization", f"Bearer {TEST_ADMIN_KEY}")]
WORDS = [f"w{i}" for i in range(3000)]


def sentence(seed: int, n: int = 40) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def jsonl(path: Path, seeds: range, extra: list[dict[str, Any]] = ()) -> Path:
    rows = [{"question": f"q{s} {sentence(s, 10)}", "answer": sentence(10_000 + s)} for s in seeds]
    rows += list(extra)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
async def ingestion(stack_env, tmp_path):
    await migrate(["ingestion"], stack_env)
    env = {**stack_env, "LLMOPS_INGESTION_WORK_DIR": str(tmp_path / "work"),
           "LLMOPS_INGESTION_LOCAL_SOURCE_ROOTS": json.dumps([str(tmp_path / "shared")]),
           "LLMOPS_INGESTION_JOB_POLL_SECONDS": "0.5", "LLMOPS_INGESTION_JOB_HEARTBEAT_SECONDS": "0.5"}
    service = ServiceProcess("ingestion", "llmops_ingestion.main", env, tmp_path / "ingestion.log").start()
    try:
        await service.wait_serving()
        yield service
    finally:
        service.stop()


@pytest.fixture
def artifacts(settings_for) -> ArtifactStore:
    store = ArtifactStore.from_settings(settings_for())
    store.ensure_buckets()
    return store


async def upload(stub: pb_grpc.IngestionServiceStub, name: str, path: Path, chunk: int = 4096) -> pb.UploadFileResponse:
    data = path.read_bytes()

    async def messages():
        yield pb.UploadFileRequest(header=pb.UploadFileHeader(dataset_name=name, filename=path.name,
                                                              size_bytes=len(data),
                                                              sha256=hashlib.sha256(data).hexdigest()))
        for i in range(0, len(data), chunk):
            yield pb.UploadFileRequest(chunk=data[i:i + chunk])

    return await stub.UploadFile(messages(), metadata=METADATA)


async def finished(stub: pb_grpc.IngestionServiceStub, job: pb.IngestionJob, timeout: float = 90) -> pb.IngestionJob:
    async def ended() -> pb.IngestionJob | None:
        got = await stub.GetIngestionJob(pb.GetIngestionJobRequest(job_id=job.job_id), metadata=METADATA)
        return got if got.status in (pb.JOB_STATUS_SUCCEEDED, pb.JOB_STATUS_FAILED) else None

    return await wait_for(ended, timeout, what=f"job {job.job_id} to end", interval=0.3)


async def outcomes_of(bus, name: str, *event_types: str) -> list[Envelope]:
    """Start ``bus`` with durable consumers collecting the given events about dataset ``name``."""
    received: list[Envelope] = []

    async def collect(envelope: Envelope) -> None:
        if envelope.payload.dataset_name == name:
            received.append(envelope)

    for event_type in event_types:
        bus.subscribe(event_type, durable=f"e2e-{name}-{event_type.rsplit('.', 1)[-1]}", handler=collect)
    await bus.start()
    return received


async def test_grpc_upload_ingest_reingest_profile_sample_diff(ingestion, artifacts, make_bus, unique_name, tmp_path):
    name = f"qa-{unique_name}"
    ingested = await outcomes_of(make_bus(), name, DatasetIngested.event_type)

    duplicate = {"question": "q1 " + sentence(1, 10), "answer": sentence(10_001)}
    first_file = jsonl(tmp_path / "qa.jsonl", range(120), extra=[duplicate, {"question": "email me",
                                                                            "answer": "at jo@example.org please"}])
    async with grpc.aio.insecure_channel(ingestion.endpoint) as channel:
        stub = pb_grpc.IngestionServiceStub(channel)
        uploaded = await upload(stub, name, first_file)
        assert uploaded.size_bytes == first_file.stat().st_size
        assert uploaded.sha256 == hashlib.sha256(first_file.read_bytes()).hexdigest()

        job = await stub.IngestDataset(pb.IngestDatasetRequest(
            dataset_name=name, source=pb.DataSource(upload_id=uploaded.upload_id), request_id="first"),
            metadata=METADATA)
        job = await finished(stub, job)
        assert job.status == pb.JOB_STATUS_SUCCEEDED, job.error
        version = job.version
        assert version.record_count == 121 and not job.reused_existing_version  # one exact duplicate dropped
        assert job.progress.step == "done" and job.progress.peak_memory_bytes > 50 * 2**20  # the worker's peak
        assert version.shape == pb.RECORD_SHAPE_INSTRUCTION
        assert sum(version.split_counts.values()) == 121
        steps = {s.step: s for s in version.steps}
        assert steps["exact_dedup"].dropped_by_reason["exact_duplicate"] == 1
        assert steps["pii"].records_modified == 1
        assert artifacts.exists(version.manifest_uri) and artifacts.exists(version.profile_html_uri)
        manifest = json.loads(artifacts.get_bytes(version.manifest_uri))
        assert manifest["source"]["files"][0]["sha256"] == uploaded.sha256

        # the same request id is the same job; the same data again is the same version (a no-op)
        same_job = await stub.IngestDataset(pb.IngestDatasetRequest(
            dataset_name=name, source=pb.DataSource(upload_id=uploaded.upload_id), request_id="first"),
            metadata=METADATA)
        assert same_job.job_id == job.job_id
        again = await finished(stub, await stub.IngestDataset(pb.IngestDatasetRequest(
            dataset_name=name, source=pb.DataSource(upload_id=uploaded.upload_id)), metadata=METADATA))
        assert again.reused_existing_version and again.version.version == version.version
        listed = await stub.ListDatasetVersions(pb.ListDatasetVersionsRequest(dataset_name=name), metadata=METADATA)
        assert [v.version for v in listed.versions] == [version.version]
        shown = await stub.GetDatasetVersion(pb.GetDatasetVersionRequest(dataset_name=name), metadata=METADATA)
        assert shown.version == version.version and shown.source.upload_id == uploaded.upload_id
        dataset = await stub.GetDataset(pb.GetDatasetRequest(name=name), metadata=METADATA)
        assert dataset.latest_version == version.version

        # profile: JSON fields, a plain-text summary and the HTML report with its plots
        profile = await stub.GetProfile(pb.GetProfileRequest(dataset_name=name, version=version.version),
                                        metadata=METADATA)
        assert profile.record_count == 121 and profile.pii_counts["email"] == 1
        assert profile.char_lengths.p50 > 0 and sum(profile.char_lengths.bucket_counts) == 121
        assert profile.field_completeness["question"] == 1.0 and profile.script_mix["Latin"] == 1.0
        assert f"{name}@{version.version}" in profile.summary
        html = await asyncio.to_thread(lambda: urllib.request.urlopen(profile.html_url, timeout=30).read().decode())
        assert html.count("data:image/png;base64,") >= 4 and name in html

        # samples are deterministic per seed and filter by split
        def sample(seed: int, split: int = pb.SPLIT_UNSPECIFIED):
            return stub.SampleRecords(pb.SampleRecordsRequest(dataset_name=name, version=version.version, limit=5,
                                                              seed=seed, split=split), metadata=METADATA)
        first, second, other = await sample(1), await sample(1), await sample(2)
        assert [r.record_id for r in first.records] == [r.record_id for r in second.records]
        assert len(first.records) == 5 and [r.record_id for r in first.records] != [r.record_id for r in other.records]
        assert all(r.instruction.output and r.source.file == "qa.jsonl" for r in first.records)
        train_only = await sample(3, pb.SPLIT_TRAIN)
        assert {r.split for r in train_only.records} == {pb.SPLIT_TRAIN}

        # a second version from a local path on the service's machine; diff against the first
        shared = tmp_path / "shared"
        shared.mkdir()
        jsonl(shared / "qa.jsonl", range(20, 150))
        newer = await finished(stub, await stub.IngestDataset(pb.IngestDatasetRequest(
            dataset_name=name, source=pb.DataSource(local_path=str(shared / "qa.jsonl"))), metadata=METADATA))
        assert newer.status == pb.JOB_STATUS_SUCCEEDED and newer.version.version != version.version
        diff = await stub.DiffVersions(pb.DiffVersionsRequest(dataset_name=name, from_version=version.version,
                                                              to_version=newer.version.version, sample_limit=3),
                                       metadata=METADATA)
        assert (diff.added_count, diff.removed_count, diff.unchanged_count) == (30, 21, 100)
        assert len(diff.added) == 3 and len(diff.removed) == 3

        with pytest.raises(grpc.RpcError) as outside:
            await stub.IngestDataset(pb.IngestDatasetRequest(
                dataset_name=name, source=pb.DataSource(local_path="/etc/passwd")), metadata=METADATA)
        assert (outside.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                and "allowed local roots" in outside.value.details())
        with pytest.raises(grpc.RpcError) as other_bucket:  # S3 sources: the artifacts bucket only, by default
            await stub.IngestDataset(pb.IngestDatasetRequest(
                dataset_name=name, source=pb.DataSource(s3_uri="s3://llmops-models/base/")), metadata=METADATA)
        assert other_bucket.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "source.s3_uri" in other_bucket.value.details()

    await wait_for(lambda: {e.payload.version for e in ingested} == {version.version, newer.version.version},
                   what="dataset.ingested events for both versions")
    assert ingested[0].payload.uri == version.uri


async def test_bad_input_fails_the_job_and_leaves_no_version(ingestion, artifacts, unique_name, tmp_path):
    name = f"bad-{unique_name}"
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"text": "fine line"}) + "\n" + "{this is not json\n")
    async with grpc.aio.insecure_channel(ingestion.endpoint) as channel:
        stub = pb_grpc.IngestionServiceStub(channel)
        uploaded = await upload(stub, name, broken)
        job = await finished(stub, await stub.IngestDataset(pb.IngestDatasetRequest(
            dataset_name=name, source=pb.DataSource(upload_id=uploaded.upload_id)), metadata=METADATA))
        assert job.status == pb.JOB_STATUS_FAILED
        assert job.error.field == "broken.jsonl:2" and "not valid JSON" in job.error.message
        listed = await stub.ListDatasetVersions(pb.ListDatasetVersionsRequest(dataset_name=name), metadata=METADATA)
        assert list(listed.versions) == []
        stored = [uri for uri, _ in artifacts.list_objects(f"s3://llmops-datasets/{name}/")]
        assert all("/_uploads/" in uri for uri in stored), stored

        # the same file with bad records skipped becomes a version that counts them
        skipped = await finished(stub, await stub.IngestDataset(pb.IngestDatasetRequest(
            dataset_name=name, source=pb.DataSource(upload_id=uploaded.upload_id),
            preparation=pb.PreparationConfig(bad_record_policy=pb.BAD_RECORD_POLICY_SKIP)), metadata=METADATA))
        assert skipped.status == pb.JOB_STATUS_SUCCEEDED and skipped.version.record_count == 1
        profile = await stub.GetProfile(pb.GetProfileRequest(dataset_name=name), metadata=METADATA)
        assert profile.bad_record_count == 1 and profile.bad_record_samples[0].field == "broken.jsonl:2"

        with pytest.raises(grpc.RpcError) as invalid:
            await stub.IngestDataset(pb.IngestDatasetRequest(
                dataset_name=name, source=pb.DataSource(s3_uri="s3://llmops-datasets/x"),
                preparation=pb.PreparationConfig(dedup=pb.DedupStep(near=True, threshold=1.5))), metadata=METADATA)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "preparation.dedup.threshold" in invalid.value.details()


async def test_ingestion_by_event_and_lineage_forward(ingestion, artifacts, make_bus, unique_name, tmp_path):
    name = f"ev-{unique_name}"
    source = f"s3://llmops-artifacts/{unique_name}/raw/"
    artifacts.put_file(f"{source}part-1.jsonl", jsonl(tmp_path / "p1.jsonl", range(30)))
    artifacts.put_file(f"{source}part-2.jsonl", jsonl(tmp_path / "p2.jsonl", range(30, 50)))
    bus = make_bus()
    outcomes = await outcomes_of(bus, name, DatasetIngested.event_type, DatasetIngestionFailed.event_type)
    await bus.publish(Envelope.wrap(DatasetRequested(dataset_name=name, source_uri=source,
                                                     config={"preparation": {"split": {"test_fraction": 0.2}}}),
                                    producer="tests", correlation_id=f"corr-{unique_name}"))
    await wait_for(lambda: outcomes, timeout=90, what="dataset.ingested")
    done = outcomes[0]
    assert done.type == DatasetIngested.event_type and done.correlation_id == f"corr-{unique_name}"
    assert done.payload.counts["records"] == 50 and done.payload.counts["test"] > 0

    await bus.publish(Envelope.wrap(DatasetRequested(dataset_name=name, source_uri=f"{source}missing/"),
                                    producer="tests"))
    await wait_for(lambda: len(outcomes) == 2, timeout=60, what="dataset.failed")
    assert outcomes[1].type == DatasetIngestionFailed.event_type and "no objects" in outcomes[1].payload.reason

    await bus.publish(Envelope.wrap(TrainingRunRequested(base_model_uri="s3://llmops-models/base",
                                                         dataset_version=f"{name}@{done.payload.version}"),
                                    producer="tests"))
    async with grpc.aio.insecure_channel(ingestion.endpoint) as channel:
        stub = pb_grpc.IngestionServiceStub(channel)

        async def used() -> pb.DatasetVersion | None:
            found = await stub.GetDatasetVersion(pb.GetDatasetVersionRequest(dataset_name=name), metadata=METADATA)
            return found if found.used_by else None

        found = await wait_for(used, 30, what="the training run in the version's lineage", interval=0.3)
        assert [(u.used_by, u.reference) for u in found.used_by] == [
            (TrainingRunRequested.event_type, "s3://llmops-models/base")]


async def test_cli_ingest_list_show_profile_sample_diff(embedded_stack, ingestion, unique_name, tmp_path):
    name = f"cli-{unique_name}"
    cli = Cli(embedded_stack.home, TEST_ADMIN_KEY, LLMOPS_INGESTION_ENDPOINT=ingestion.endpoint)
    first = cli.json("datasets", "ingest", name, str(jsonl(tmp_path / "one.jsonl", range(40))), "--json")
    assert first["status"] == "JOB_STATUS_SUCCEEDED" and first["version"]["record_count"] == "40"
    v1 = first["version"]["version"]
    config = tmp_path / "prep.yaml"
    config.write_text("length_filter: {enabled: true, min_chars: 1, max_chars: 100000}\nsplit: {salt: s2}\n")
    second = cli.json("datasets", "ingest", name, str(jsonl(tmp_path / "two.jsonl", range(10, 60))), "--config",
                      str(config), "--json")
    v2 = second["version"]["version"]
    assert v2 != v1

    assert name in cli.ok("datasets", "list", "--prefix", name)
    shown = cli.json("datasets", "show", f"{name}@{v1}", "--json")
    assert shown["version"] == v1 and shown["split_counts"]
    assert [v["version"] for v in cli.json("datasets", "show", name, "--versions", "--json")["versions"]] == [v2, v1]

    report = tmp_path / "report.html"
    summary = cli.ok("datasets", "profile", f"{name}@{v1}", "--html", str(report))
    assert f"{name}@{v1}" in summary and "data:image/png;base64," in report.read_text()
    sampled = cli.json("datasets", "sample", f"{name}@{v2}", "--limit", "3", "--json")["records"]
    assert len(sampled) == 3
    diff = cli.json("datasets", "diff", name, v1, v2, "--json")
    assert (int(diff["added_count"]), int(diff["removed_count"]), int(diff["unchanged_count"])) == (20, 10, 30)

    bad = tmp_path / "ragged.csv"
    bad.write_text("instruction,output\nhello there,general kenobi\nonly one field\n")
    failed = cli("datasets", "ingest", name, str(bad))
    assert failed.returncode == 1 and "ragged.csv:3" in failed.stdout + failed.stderr


async def test_a_job_survives_its_worker_being_killed(stack_env, artifacts, unique_name, tmp_path):
    """SIGKILL mid-preparation: the accepted job is not lost; a new process claims it again once the
    old heartbeat is stale, and it ends with the same version an uninterrupted run gives."""
    await migrate(["ingestion"], stack_env)
    name = f"kill-{unique_name}"
    shared = tmp_path / "shared"
    shared.mkdir()
    data = jsonl(shared / "big.jsonl", range(60_000))
    env = {**stack_env, "LLMOPS_INGESTION_WORK_DIR": str(tmp_path / "work"),
           "LLMOPS_INGESTION_LOCAL_SOURCE_ROOTS": json.dumps([str(shared)]),
           "LLMOPS_INGESTION_JOB_POLL_SECONDS": "0.3", "LLMOPS_INGESTION_JOB_HEARTBEAT_SECONDS": "0.3",
           "LLMOPS_INGESTION_JOB_STALE_SECONDS": "3"}
    first = ServiceProcess("ingestion", "llmops_ingestion.main", env, tmp_path / "first.log").start()
    await first.wait_serving()
    async with grpc.aio.insecure_channel(first.endpoint) as channel:
        stub = pb_grpc.IngestionServiceStub(channel)
        job = await stub.IngestDataset(pb.IngestDatasetRequest(
            dataset_name=name, source=pb.DataSource(local_path=str(data))), metadata=METADATA)

        async def reading() -> pb.IngestionJob | None:
            got = await stub.GetIngestionJob(pb.GetIngestionJobRequest(job_id=job.job_id), metadata=METADATA)
            assert got.status != pb.JOB_STATUS_SUCCEEDED, "the job ended before it could be killed mid-way"
            return got if got.progress.records_read else None

        job = await wait_for(reading, 60, what="the job to start reading", interval=0.1)
    assert job.status == pb.JOB_STATUS_RUNNING
    first.proc.kill()
    first.proc.wait()

    second = ServiceProcess("ingestion", "llmops_ingestion.main", env, tmp_path / "second.log").start()
    try:
        await second.wait_serving()
        async with grpc.aio.insecure_channel(second.endpoint) as channel:
            stub = pb_grpc.IngestionServiceStub(channel)
            done = await finished(stub, job, timeout=180)
            assert done.status == pb.JOB_STATUS_SUCCEEDED, done.error
            assert done.version.record_count == 60_000
            fresh = await finished(stub, await stub.IngestDataset(pb.IngestDatasetRequest(
                dataset_name=name, source=pb.DataSource(local_path=str(data))), metadata=METADATA), timeout=180)
            assert fresh.reused_existing_version and fresh.version.version == done.version.version
    finally:
        second.stop()
