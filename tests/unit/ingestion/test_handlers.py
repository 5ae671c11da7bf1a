"""Ingestion use cases against the in-memory unit of work: datasets, requests, uploads, versions, lineage."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from llmops_common.auth import Principal, Role
from llmops_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from llmops_common.pagination import Page
from llmops_ingestion import handlers
from llmops_ingestion.domain.config import PreparationConfig
from llmops_ingestion.domain.model import (
    Dataset,
    DatasetVersion,
    IngestionRequest,
    JobStatus,
    SourceKind,
    SourceSpec,
    Upload,
)
from llmops_ingestion.domain.shapes import Shape
from llmops_ingestion.sources import SourceRules
from llmops_ingestion.store.memory import InMemoryIngestion

ACTOR = Principal("k1", "alice", Role.DEVELOPER)
ARTIFACTS_ONLY = SourceRules(s3_prefixes=("s3://llmops-artifacts/",))


@pytest.fixture
def state() -> InMemoryIngestion:
    return InMemoryIngestion()


def s3_request(name: str = "qa", request_id: str = "") -> IngestionRequest:
    return IngestionRequest(name, SourceSpec(SourceKind.S3, "s3://llmops-artifacts/raw/"), request_id=request_id)


def version(name: str, vid: str) -> DatasetVersion:
    uri = f"s3://llmops-datasets/{name}/{vid}/"
    return DatasetVersion(name, vid, uri, f"{uri}manifest.json", Shape.TEXT, 3, {"train": 3}, {}, "h", {}, [],
                          f"{uri}profile.json", f"{uri}profile.html", uuid.uuid4(), "alice")


async def test_create_dataset_is_audited_and_unique(state):
    created = await handlers.create_dataset(state.unit_of_work, Dataset("qa", "support answers", {"team": "s"}),
                                            actor=ACTOR)
    assert (created.name, created.created_by, created.tags) == ("qa", "alice", {"team": "s"})
    assert [(a.action, a.subject) for a in state.audit] == [("dataset.created", "qa")]
    with pytest.raises(AlreadyExists):
        await handlers.create_dataset(state.unit_of_work, Dataset("qa"), actor=ACTOR)
    with pytest.raises(InvalidArgument, match="dataset names"):
        await handlers.create_dataset(state.unit_of_work, Dataset("Not Valid"), actor=ACTOR)


async def test_submit_queues_a_job_creates_the_dataset_and_is_idempotent_by_request_id(state):
    woken = []
    job = await handlers.submit_ingestion(state.unit_of_work, s3_request(request_id="r1"), actor=ACTOR,
                                          sources=ARTIFACTS_ONLY, correlation_id="c1", wake=lambda: woken.append(1))
    assert job.status is JobStatus.PENDING and job.correlation_id == "c1" and woken == [1]
    assert "qa" in state.datasets
    again = await handlers.submit_ingestion(state.unit_of_work, s3_request(request_id="r1"), actor=ACTOR,
                                            sources=ARTIFACTS_ONLY)
    assert again.job_id == job.job_id and len(state.jobs) == 1
    assert [a.action for a in state.audit] == ["dataset.created", "ingestion.requested"]


async def test_local_sources_only_under_allowed_roots(state, tmp_path):
    inside = tmp_path / "data.jsonl"
    inside.write_text('{"text": "x"}\n')
    local = IngestionRequest("qa", SourceSpec(SourceKind.LOCAL, str(inside)))
    with pytest.raises(InvalidArgument, match="outside the allowed local roots: none configured"):
        await handlers.submit_ingestion(state.unit_of_work, local, actor=ACTOR, sources=ARTIFACTS_ONLY)
    escape = IngestionRequest("qa", SourceSpec(SourceKind.LOCAL, str(tmp_path / ".." / "etc")))
    with pytest.raises(InvalidArgument, match="outside"):
        await handlers.submit_ingestion(state.unit_of_work, escape, actor=ACTOR, sources=SourceRules((tmp_path,)))
    missing = IngestionRequest("qa", SourceSpec(SourceKind.LOCAL, str(tmp_path / "missing.jsonl")))
    with pytest.raises(NotFound, match="no file or folder"):
        await handlers.submit_ingestion(state.unit_of_work, missing, actor=ACTOR, sources=SourceRules((tmp_path,)))
    job = await handlers.submit_ingestion(state.unit_of_work, local, actor=ACTOR, sources=SourceRules((tmp_path,)))
    assert job.request.source.location == str(inside)
    # the refused requests left nothing behind: one job, and only the accepted request's audit rows
    assert len(state.jobs) == 1 and [a.action for a in state.audit] == ["dataset.created", "ingestion.requested"]


async def test_an_upload_must_exist_and_belong_to_the_dataset(state):
    upload_id = uuid.uuid4()
    request = IngestionRequest("qa", SourceSpec(SourceKind.UPLOAD, str(upload_id)))
    with pytest.raises(NotFound, match="no upload"):
        await handlers.submit_ingestion(state.unit_of_work, request, actor=ACTOR, sources=ARTIFACTS_ONLY)
    await handlers.record_upload(state.unit_of_work, Upload(upload_id, "other", "f.jsonl", "s3://b/k", 1, "0" * 64,
                                                            "alice"))
    with pytest.raises(FailedPrecondition, match="made for dataset 'other'"):
        await handlers.submit_ingestion(state.unit_of_work, request, actor=ACTOR, sources=ARTIFACTS_ONLY)
    assert not state.jobs and "qa" not in state.datasets


def tokenizer_request(tokenizer: str) -> IngestionRequest:
    return IngestionRequest("qa", SourceSpec(SourceKind.S3, "s3://llmops-artifacts/raw/"),
                            preparation=PreparationConfig(length_filter={"tokenizer": tokenizer}))


async def test_an_unloadable_tokenizer_is_refused_when_the_request_arrives(state, tmp_path):
    rules = SourceRules((tmp_path,), ARTIFACTS_ONLY.s3_prefixes)
    with pytest.raises(NotFound, match="no file or folder"):
        await handlers.submit_ingestion(state.unit_of_work, tokenizer_request(str(tmp_path / "none")), actor=ACTOR,
                                        sources=rules)
    (tmp_path / "tokenizer.json").write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(InvalidArgument, match="not a tokenizer.json") as caught:
        await handlers.submit_ingestion(state.unit_of_work, tokenizer_request(str(tmp_path)), actor=ACTOR,
                                        sources=rules)
    assert caught.value.field == "preparation.length_filter.tokenizer"
    assert not state.jobs


async def test_a_tokenizer_outside_the_local_roots_is_never_read(state, tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir(), outside.mkdir()
    (outside / "tokenizer.json").write_text("{}")
    (root / "link.json").symlink_to(outside / "tokenizer.json")
    rules = SourceRules((root,), ARTIFACTS_ONLY.s3_prefixes)
    for path in ("/etc/passwd", str(outside / "tokenizer.json"), str(root / "link.json")):
        with pytest.raises(InvalidArgument, match="outside the allowed local roots") as caught:
            await handlers.submit_ingestion(state.unit_of_work, tokenizer_request(path), actor=ACTOR, sources=rules)
        assert caught.value.field == "preparation.length_filter.tokenizer"
    assert not state.jobs


async def test_jobs_are_claimed_once_released_on_shutdown_and_reclaimed_when_stale(state):
    job = await handlers.submit_ingestion(state.unit_of_work, s3_request(), actor=ACTOR, sources=ARTIFACTS_ONLY)
    async with state.unit_of_work() as tx:
        claimed = await tx.claim_job(stale_seconds=60)
        assert claimed.job_id == job.job_id and claimed.attempts == 1
        assert await tx.claim_job(stale_seconds=60) is None  # running, fresh heartbeat
        assert (await tx.claim_job(stale_seconds=-1)).attempts == 2  # stale: its worker is gone
        await tx.release_job(job.job_id)
        assert (await tx.get_job(job.job_id)).status is JobStatus.PENDING
        await tx.commit()


async def test_versions_latest_listing_pages_and_lineage_forward(state):
    await handlers.create_dataset(state.unit_of_work, Dataset("qa"), actor=ACTOR)
    with pytest.raises(NotFound, match="has no any version yet"):
        await handlers.get_version(state.unit_of_work, "qa", "")
    ids = [f"{i:032x}" for i in (1, 2, 3)]
    async with state.unit_of_work() as tx:
        for vid in ids:
            assert await tx.add_version(version("qa", vid))
        assert not await tx.add_version(version("qa", ids[0]))  # content-addressed: already there
        await tx.commit()
    assert (await handlers.get_version(state.unit_of_work, "qa", "")).version == ids[2]
    assert (await handlers.get_dataset(state.unit_of_work, "qa")).latest_version == ids[2]
    first, token = await handlers.list_versions(state.unit_of_work, "qa", Page(2, None))
    rest, end = await handlers.list_versions(state.unit_of_work, "qa", Page(2, token))
    assert [v.version for v in first + rest] == ids[::-1] and end is None
    with pytest.raises(NotFound, match="no dataset 'nope'"):
        await handlers.list_versions(state.unit_of_work, "nope", Page(2, None))

    event = uuid.uuid4()
    assert await handlers.record_usage(state.unit_of_work, event, f"qa@{ids[0]}", "llmops.training.run.requested",
                                       "s3://models/base")
    assert not await handlers.record_usage(state.unit_of_work, event, f"qa@{ids[0]}", "x", "y")  # redelivered
    assert not await handlers.record_usage(state.unit_of_work, uuid.uuid4(), "qa@latest", "x", "y")
    used = (await handlers.get_version(state.unit_of_work, "qa", ids[0])).used_by
    assert used == [{"used_by": "llmops.training.run.requested", "reference": "s3://models/base"}]


async def test_get_job_validates_its_id(state):
    with pytest.raises(InvalidArgument, match="not a job id"):
        await handlers.get_job(state.unit_of_work, "x")
    with pytest.raises(NotFound):
        await handlers.get_job(state.unit_of_work, str(uuid.uuid4()))


def test_upload_headers_are_validated():
    for header, field in [(handlers.UploadHeader("qa", "../x.jsonl"), "header.filename"),
                          (handlers.UploadHeader("qa", "x\rjsonl"), "header.filename"),
                          (handlers.UploadHeader("qa", "x\x1b[2J.jsonl"), "header.filename"),
                          (handlers.UploadHeader("qa", "x.jsonl", sha256="abc"), "header.sha256"),
                          (handlers.UploadHeader("QA", "x.jsonl"), "header.dataset_name"),
                          (handlers.UploadHeader("qa", "x.jsonl", size_bytes=-1), "header.size_bytes")]:
        with pytest.raises(InvalidArgument) as caught:
            header.validate()
        assert caught.value.field == field
    handlers.UploadHeader("qa", "x.jsonl", 10, "a" * 64).validate()


def test_local_path_check_resolves_symlinks(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(Path("/etc"))
    with pytest.raises(InvalidArgument, match="outside"):
        SourceRules((root,)).check_local(str(root / "link"))
