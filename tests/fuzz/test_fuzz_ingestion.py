"""Every RPC of the ingestion service, fed generated hostile requests over the wire (the UploadFile
stream too): never UNKNOWN or INTERNAL, never a hang, always healthy, and nothing half-written by a
call that failed."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import uuid
from typing import Any

import pytest
from hypothesis import strategies as st

from llmops.common.v1 import common_pb2
from llmops.ingestion.v1 import ingestion_pb2 as pb
from llmops.ingestion.v1 import ingestion_pb2_grpc as pb_grpc
from llmops_common.testing.fuzz import INCOMPRESSIBLE_TEXT, LONG_TEXT, requests, rpcs, texts
from llmops_common.testing.fuzz_runner import FuzzTarget, fuzz_rpc
from llmops_common.testing.waiting import wait_for_sync

pytestmark = pytest.mark.e2e
RPCS = rpcs(pb.DESCRIPTOR.services_by_name["IngestionService"])
#: tables the job runner fills in the background: compared by row count, or (when it adds rows) left
#: out; a failed call's rows are still found there by its correlation id
PROBE = {"count_only": frozenset({"outbox", "datasets", "ingestion_jobs"}),
         "ignore": frozenset({"schema_migrations", "inbox", "dataset_versions", "dataset_usages", "audit_log",
                              "outbox"})}
ROWS = [{"question": f"question {i} about topic {i % 7}", "answer": f"answer number {i} " * 3} for i in range(40)]


def b64json(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def upload_stream(dataset: str, filename: str, data: bytes, *, chunk: int = 1024) -> list[pb.UploadFileRequest]:
    header = pb.UploadFileHeader(dataset_name=dataset, filename=filename, size_bytes=len(data),
                                 sha256=hashlib.sha256(data).hexdigest())
    return [pb.UploadFileRequest(header=header)] + [pb.UploadFileRequest(chunk=data[i:i + chunk])
                                                    for i in range(0, len(data), chunk)]


def finished(stub: pb_grpc.IngestionServiceStub, job: pb.IngestionJob, md: Any, timeout: float = 90) -> pb.IngestionJob:
    def ended() -> pb.IngestionJob | None:
        got = stub.GetIngestionJob(pb.GetIngestionJobRequest(job_id=job.job_id), metadata=md)
        return got if got.status in (pb.JOB_STATUS_SUCCEEDED, pb.JOB_STATUS_FAILED) else None

    job = wait_for_sync(ended, timeout, what=f"job {job.job_id} to end", interval=0.3)
    assert job.status == pb.JOB_STATUS_SUCCEEDED, job.error
    return job


@pytest.fixture(scope="module")
def ingestion(fuzz_service, tmp_path_factory) -> tuple[FuzzTarget, dict[str, list[Any]]]:
    """The ingestion service with two datasets, an upload, two versions and issued page tokens, and an
    allowed local root holding data and a symlink to /etc/passwd."""
    folder = tmp_path_factory.mktemp("fuzz-ingestion")
    root = folder / "shared"
    (root / "dir").mkdir(parents=True)
    (root / "dir" / "data.jsonl").write_bytes(jsonl(ROWS[10:]))
    (root / "dir" / "passwd.txt").symlink_to("/etc/passwd")
    target, _ = fuzz_service("ingestion", "llmops_ingestion.main", {
        "LLMOPS_INGESTION_WORK_DIR": str(folder / "work"),
        "LLMOPS_INGESTION_LOCAL_SOURCE_ROOTS": json.dumps([str(root)]),
        "LLMOPS_INGESTION_JOB_POLL_SECONDS": "0.5", "LLMOPS_INGESTION_JOB_HEARTBEAT_SECONDS": "0.5"}, **PROBE)
    run = uuid.uuid4().hex[:8]
    dataset, other = f"fz-{run}-qa", f"fz-{run}-other"
    stub, md = pb_grpc.IngestionServiceStub(target.channel), target.metadata
    for name in (dataset, other):
        stub.CreateDataset(pb.CreateDatasetRequest(name=name, description="seed", tags={"team": "fz"}), metadata=md)
    data = jsonl(ROWS[:30])
    uploaded = stub.UploadFile(iter(upload_stream(dataset, "qa.jsonl", data)), metadata=md)
    first = finished(stub, stub.IngestDataset(pb.IngestDatasetRequest(
        dataset_name=dataset, source=pb.DataSource(upload_id=uploaded.upload_id), request_id="seed"), metadata=md), md)
    second = finished(stub, stub.IngestDataset(pb.IngestDatasetRequest(
        dataset_name=dataset, source=pb.DataSource(local_path=str(root / "dir" / "data.jsonl"))), metadata=md), md)
    page = common_pb2.PageRequest(page_size=1)
    tokens = [stub.ListDatasets(pb.ListDatasetsRequest(page=page), metadata=md).page.next_page_token,
              stub.ListDatasetVersions(pb.ListDatasetVersionsRequest(dataset_name=dataset, page=page),
                                       metadata=md).page.next_page_token]
    assert all(tokens), tokens
    versions = [first.version.version, second.version.version]
    corpus: dict[str, list[Any]] = {
        "name": [dataset, other], "dataset_name": [dataset, other], "name_prefix": [f"fz-{run}", "fz-"],
        "upload_id": [uploaded.upload_id], "s3_uri": [uploaded.s3_uri, first.version.uri, "s3://llmops-models/x"],
        "local_path": [str(root / "dir"), str(root / "dir" / "data.jsonl"), str(root / "dir" / "passwd.txt"),
                       str(root / "dir" / ".." / ".." / "work")],
        "version": versions, "from_version": versions, "to_version": versions,
        "job_id": [first.job_id, second.job_id], "request_id": ["seed"], "tags.key": ["team"], "tags.value": ["fz"],
        "filename": ["qa.jsonl", "qa.parquet", "qa.csv", "qa.jsonl.gz", "../qa.jsonl"],
        "sha256": [uploaded.sha256], "form": ["NFC", "NFKC"], "kinds": ["email", "phone", "secret"],
        "tokenizer": ["whitespace", "/etc/passwd", "/proc/self/environ", "/etc", str(root / "dir")],
        "column_mapping.key": ["instruction", "output", "text"], "column_mapping.value": ["question", "answer"],
        "salt": ["s"], "page_token": tokens, "threshold": [0.8], "num_perm": [64, 128], "shingle_size": [5],
        "min_chars": [0, 10], "max_chars": [0, 10_000], "min_tokens": [0], "max_tokens": [0, 512],
        "validation_fraction": [0.1, 0.0], "test_fraction": [0.1, 0.0], "limit": [1, 5], "sample_limit": [1, 3],
    }
    return target, corpus


def upload_streams(corpus: dict[str, list[Any]]) -> st.SearchStrategy[list[pb.UploadFileRequest]]:
    """Plausible streams (a header matching its chunks) with hostile header fields and contents."""
    contents = st.sampled_from([jsonl(ROWS[:3]), b"{not json\n", b"\x00" * 64, "é\n".encode() * 10, b"a,b\n1,2\n"])
    names = texts(corpus["filename"])
    datasets = texts(corpus["dataset_name"])
    return st.builds(lambda d, f, data: upload_stream(d, f, data), datasets, names, contents)


def explicit(rpc: str, c: dict[str, list[Any]]) -> list[Any]:
    """The hostile inputs issue 9 names, as regression examples for ``rpc``."""
    dataset, upload, version, token = c["dataset_name"][0], c["upload_id"][0], c["version"][0], c["page_token"][0]
    forged = [b64json(["abc"]), b64json([1]), b64json([1, 2, 3]), b64json([dataset, "abc"]), "!!!", token[:-1] + "A"]
    pages = [common_pb2.PageRequest(page_token=t) for t in forged]

    def ingest(**fields: Any) -> pb.IngestDatasetRequest:
        return pb.IngestDatasetRequest(dataset_name=dataset, **{"source": pb.DataSource(upload_id=upload), **fields})

    examples: dict[str, list[Any]] = {
        "CreateDataset": [pb.CreateDatasetRequest(name=f"{dataset}-nul", description="a\x00b"),
                          pb.CreateDatasetRequest(name=f"{dataset}-tag", tags={"k": "v\x00"}),
                          pb.CreateDatasetRequest(name=f"{dataset}\n"), pb.CreateDatasetRequest(name=LONG_TEXT)],
        "GetDataset": [pb.GetDatasetRequest(name=LONG_TEXT), pb.GetDatasetRequest(name="\x00")],
        "ListDatasets": [pb.ListDatasetsRequest(page=p) for p in pages] + [pb.ListDatasetsRequest(name_prefix="\x00")],
        "IngestDataset": [
            ingest(request_id="r\x00"), ingest(request_id=INCOMPRESSIBLE_TEXT),
            ingest(column_mapping={"text": "a\x00"}),
            ingest(preparation=pb.PreparationConfig(dedup=pb.DedupStep(threshold=math.nan))),
            ingest(preparation=pb.PreparationConfig(split=pb.SplitStep(validation_fraction=math.inf,
                                                                       test_fraction=-math.inf))),
            ingest(preparation=pb.PreparationConfig(length_filter=pb.LengthFilterStep(min_chars=2**63 - 1,
                                                                                      max_chars=-1))),
            ingest(preparation=pb.PreparationConfig(length_filter=pb.LengthFilterStep(tokenizer="/etc/passwd"))),
            ingest(preparation=pb.PreparationConfig(normalize=pb.NormalizeStep(form="\x00"))),
            ingest(source=pb.DataSource(upload_id="not-a-uuid")),
            ingest(source=pb.DataSource(local_path=c["local_path"][2])),
            ingest(source=pb.DataSource(local_path="/etc/passwd")),
            ingest(source=pb.DataSource(local_path="\x00"))]
        + [ingest(source=pb.DataSource(s3_uri=uri)) for uri in (
            "s3://llmops-datasets/../llmops-models/x", "s3://127.0.0.1:9000/llmops-datasets/x",
            "s3://llmops datasets/x", "s3://llmops-datasets", "file:///etc/passwd")],
        "GetIngestionJob": [pb.GetIngestionJobRequest(job_id="\x00"), pb.GetIngestionJobRequest(job_id=LONG_TEXT)],
        "UploadFile": [
            upload_stream("\x00", "qa.jsonl", b"{}\n"), upload_stream(dataset, "q\x00.jsonl", b"{}\n"),
            upload_stream(dataset, "../../etc/passwd", b"{}\n"),
            upload_stream(LONG_TEXT[:100_000], "qa.jsonl", b"{}\n"),
            [pb.UploadFileRequest(chunk=b"x")], [],
            upload_stream(dataset, "qa.jsonl", b"{}\n") + [pb.UploadFileRequest(header=pb.UploadFileHeader())],
            [pb.UploadFileRequest(header=pb.UploadFileHeader(dataset_name=dataset, filename="qa.jsonl",
                                                             size_bytes=-1, sha256="z" * 64))]],
        "GetDatasetVersion": [pb.GetDatasetVersionRequest(dataset_name=LONG_TEXT),
                              pb.GetDatasetVersionRequest(dataset_name=dataset, version="\x00")],
        "ListDatasetVersions": [pb.ListDatasetVersionsRequest(dataset_name=dataset, page=p) for p in pages],
        "GetProfile": [pb.GetProfileRequest(dataset_name=dataset, version="../" + version)],
        "SampleRecords": [pb.SampleRecordsRequest(dataset_name=dataset, version=version, limit=2**31 - 1,
                                                  seed=-(2**63)),
                          pb.SampleRecordsRequest(dataset_name=dataset, version=version, limit=-1, split=999)],
        "DiffVersions": [pb.DiffVersionsRequest(dataset_name=dataset, from_version=c["version"][0],
                                                to_version=c["version"][1], sample_limit=2**31 - 1),
                         pb.DiffVersionsRequest(dataset_name=dataset, from_version="..", to_version="\x00")],
    }
    assert set(examples) <= {r.name for r in RPCS}, set(examples) - {r.name for r in RPCS}  # renamed RPCs
    return examples.get(rpc, [])


@pytest.mark.parametrize("rpc", RPCS, ids=lambda r: r.name)
def test_ingestion_rpc_survives_hostile_requests(ingestion, rpc):
    target, corpus = ingestion
    strategy = requests(rpc, corpus)
    if rpc.name == "UploadFile":
        strategy = st.one_of(strategy, upload_streams(corpus))
    fuzz_rpc(target, rpc, strategy, explicit=explicit(rpc.name, corpus))

