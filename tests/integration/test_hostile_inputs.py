"""Hostile inputs over the wire against the three services on real Postgres and S3: each used to end in
INTERNAL (Postgres refusing NUL, NaN or a mistyped page key; an overflowing timestamp; a URI the S3
client chokes on) or RESOURCE_EXHAUSTED (a 1 MB name echoed in the error), or to be accepted (names
with a final newline, case variants of protected names, a whole bucket as an artifact)."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from llmops.common.v1 import common_pb2
from llmops.ingestion.v1 import ingestion_pb2 as ingestion_pb
from llmops.ingestion.v1 import ingestion_pb2_grpc as ingestion_grpc
from llmops.prompts.v1 import prompts_pb2 as prompts_pb
from llmops.prompts.v1 import prompts_pb2_grpc as prompts_grpc
from llmops.registry.v1 import registry_pb2 as registry_pb
from llmops.registry.v1 import registry_pb2_grpc as registry_grpc
from llmops_common.auth import Authenticator, PostgresApiKeyStore
from llmops_common.db import load_migrations, make_pool, migrate, service_migrations
from llmops_common.grpc_server import MAX_ERROR_MESSAGE, GrpcServer
from llmops_common.pagination import PageTokens
from llmops_common.proto_convert import struct
from llmops_common.runtime import auth_migrations
from llmops_common.storage import ArtifactStore
from llmops_ingestion.api.grpc import grpc_service as ingestion_service
from llmops_ingestion.settings import IngestionSettings
from llmops_ingestion.store.postgres import PostgresUnitOfWork as IngestionUnitOfWork
from llmops_prompts.api.grpc import grpc_service as prompts_service
from llmops_prompts.handlers import render_in_process
from llmops_prompts.store.postgres import PostgresUnitOfWork as PromptsUnitOfWork
from llmops_registry.api.grpc import grpc_service as registry_service
from llmops_registry.store.postgres import PostgresUnitOfWork as RegistryUnitOfWork

pytestmark = pytest.mark.integration
ADMIN = "llmops_bootstrap_hostile-inputs-admin"
METADATA = [("authorization", f"Bearer {ADMIN}")]
INVALID = grpc.StatusCode.INVALID_ARGUMENT


class Stubs:
    def __init__(self, channel: grpc.aio.Channel, bucket: str, prefix: str) -> None:
        self.registry = registry_grpc.RegistryServiceStub(channel)
        self.prompts = prompts_grpc.PromptServiceStub(channel)
        self.ingestion = ingestion_grpc.IngestionServiceStub(channel)
        self.artifact_uri = f"s3://{bucket}/{prefix}/model.bin"


async def _pool(dsn: str, schema: str, migrations):
    pool = make_pool(dsn, schema)
    await pool.open(wait=True, timeout=30)
    async with pool.connection() as conn:
        await migrate(conn, "auth", auth_migrations())
        await migrate(conn, schema, load_migrations("llmops_common", "migrations/service", source="common"))
        await migrate(conn, schema, migrations)
    return pool


@pytest.fixture
async def stubs(settings_for, unique_name, tmp_path: Path):
    settings = settings_for()
    registry = await _pool(settings.postgres_dsn, f"{unique_name}_r", service_migrations("llmops_registry"))
    prompts = await _pool(settings.postgres_dsn, f"{unique_name}_p", service_migrations("llmops_prompts"))
    ingestion = await _pool(settings.postgres_dsn, f"{unique_name}_i", service_migrations("llmops_ingestion"))
    artifacts = ArtifactStore.from_settings(settings)
    artifacts.ensure_buckets()
    artifacts.put_bytes(f"s3://{settings.s3_bucket_models}/{unique_name}/model.bin", b"weights")
    tokens = PageTokens(b"hostile-inputs test key")
    server = GrpcServer(
        [registry_service(lambda readonly=False: RegistryUnitOfWork(registry, readonly=readonly), artifacts, tokens),
         prompts_service(lambda readonly=False: PromptsUnitOfWork(prompts, readonly=readonly),
                         frozenset({"production"}), tokens, render_in_process),
         ingestion_service(lambda readonly=False: IngestionUnitOfWork(ingestion, readonly=readonly), artifacts,
                           settings_for(IngestionSettings, work_dir=str(tmp_path)), lambda: None)],
        service_name="hostile", host="127.0.0.1", port=0,
        authenticator=Authenticator(PostgresApiKeyStore(registry), bootstrap_admin_key=ADMIN, cache_seconds=0),
    )
    await server.start()
    await server.set_serving(True)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        found = Stubs(channel, settings.s3_bucket_models, unique_name)
        await found.registry.CreateRegisteredModel(registry_pb.CreateRegisteredModelRequest(name="m"),
                                                   metadata=METADATA)
        await found.registry.CreateModelVersion(registry_pb.CreateModelVersionRequest(
            model_name="m", artifact_uri=found.artifact_uri, kind=registry_pb.MODEL_KIND_BASE), metadata=METADATA)
        await found.prompts.CreatePrompt(prompts_pb.CreatePromptRequest(name="p"), metadata=METADATA)
        await found.prompts.CreateVersion(prompts_pb.CreateVersionRequest(prompt_name="p", text="Hi"),
                                          metadata=METADATA)
        await found.ingestion.CreateDataset(ingestion_pb.CreateDatasetRequest(name="d"), metadata=METADATA)
        yield found
    await server.stop(1)
    for pool in (registry, prompts, ingestion):
        await pool.close()


async def status(call) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


def legacy_token(values: list) -> str:
    """A page token as the services used to issue them (unsigned base64 JSON): what a forger writes."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def page(token: str, size: int = 0) -> common_pb2.PageRequest:
    return common_pb2.PageRequest(page_size=size, page_token=token)


# -- NUL, non-finite numbers, timestamps ------------------------------------------------------------

NUL_CASES = {
    "model description": ("registry", "CreateRegisteredModel",
                          registry_pb.CreateRegisteredModelRequest(name="m2", description="a\x00b"), "description"),
    "model tag": ("registry", "CreateRegisteredModel",
                  registry_pb.CreateRegisteredModelRequest(name="m2", tags={"team": "a\x00"}), "tags['team']"),
    "version request id": ("registry", "CreateModelVersion", registry_pb.CreateModelVersionRequest(
        model_name="m", artifact_uri="s3://llmops-models/x/y", kind=registry_pb.MODEL_KIND_BASE,
        request_id="r\x00"), "request_id"),
    "alias reason": ("registry", "SetAlias",
                     registry_pb.SetAliasRequest(model_name="m", alias="canary", version=1,
                                                 reason="why\x00"), "reason"),
    "prompt description": ("prompts", "CreatePrompt",
                           prompts_pb.CreatePromptRequest(name="p2", description="\x00"), "description"),
    "template text": ("prompts", "CreateVersion",
                      prompts_pb.CreateVersionRequest(prompt_name="p", text="Hello\x00"), "text"),
    "label reason": ("prompts", "SetLabel",
                     prompts_pb.SetLabelRequest(prompt_name="p", label="staging", version=1, reason="\x00"), "reason"),
    "dataset description": ("ingestion", "CreateDataset",
                            ingestion_pb.CreateDatasetRequest(name="d2", description="\x00"), "description"),
}


@pytest.mark.parametrize("case", NUL_CASES)
async def test_nul_in_any_text_field_is_invalid_argument(stubs, case):
    service, method, request, field = NUL_CASES[case]
    code, details = await status(getattr(getattr(stubs, service), method)(request, metadata=METADATA))
    assert (code, details.split(":")[0]) == (INVALID, field)


async def test_non_finite_metrics_and_thresholds_are_invalid_argument(stubs):
    for value in (math.nan, math.inf):
        code, details = await status(stubs.registry.AttachEvaluation(registry_pb.AttachEvaluationRequest(
            model_name="m", version=1, evaluation=registry_pb.EvaluationResult(
                evaluation_run_id="e", metrics={"bleu": value})), metadata=METADATA))
        assert (code, details.split(":")[0]) == (INVALID, "evaluation.metrics['bleu']")
        code, details = await status(stubs.registry.SetPolicy(registry_pb.SetPolicyRequest(
            policy=registry_pb.AliasPolicy(model_name="m", alias="production",
                                           gates=[registry_pb.MetricGate(metric_name="bleu", threshold=-value)])),
            metadata=METADATA))
        assert (code, details.split(":")[0]) == (INVALID, "policy.gates[0].threshold")
    code, _ = await status(stubs.registry.SetAlias(registry_pb.SetAliasRequest(
        model_name="m", alias="canary", version=1, sampling_parameters=struct({"temperature": math.nan})),
        metadata=METADATA))
    assert code is INVALID


@pytest.mark.parametrize("seconds", [253402300800, -62135596801, 2**62])
async def test_out_of_range_timestamps_are_invalid_argument(stubs, seconds):
    bad = common_pb2.TimeRange(start=Timestamp(seconds=seconds))
    code, details = await status(stubs.registry.SearchModelVersions(
        registry_pb.SearchModelVersionsRequest(created=bad), metadata=METADATA))
    assert (code, details.split(":")[0]) == (INVALID, "created.start")
    code, _ = await status(stubs.registry.ListAuditEvents(
        registry_pb.ListAuditEventsRequest(occurred=common_pb2.TimeRange(end=Timestamp(seconds=seconds))),
        metadata=METADATA))
    assert code is INVALID


# -- page tokens ------------------------------------------------------------------------------------

async def test_forged_page_tokens_are_invalid_argument_on_every_list(stubs):
    lists = [
        stubs.registry.ListRegisteredModels(registry_pb.ListRegisteredModelsRequest(page=page(legacy_token([1]))),
                                            metadata=METADATA),
        stubs.registry.SearchModelVersions(registry_pb.SearchModelVersionsRequest(page=page(legacy_token(["m"]))),
                                           metadata=METADATA),                       # a wrong placeholder count
        stubs.registry.SearchModelVersions(registry_pb.SearchModelVersionsRequest(
            page=page(legacy_token(["m", "abc"]))), metadata=METADATA),             # text > bigint
        stubs.registry.ListPromotions(registry_pb.ListPromotionsRequest(page=page(legacy_token(["x", "y"]))),
                                      metadata=METADATA),
        stubs.registry.ListAuditEvents(registry_pb.ListAuditEventsRequest(page=page(legacy_token(["abc"]))),
                                       metadata=METADATA),
        stubs.prompts.ListPrompts(prompts_pb.ListPromptsRequest(page=page(legacy_token(["p"]))), metadata=METADATA),
        stubs.prompts.ListVersions(prompts_pb.ListVersionsRequest(prompt_name="p", page=page(legacy_token(["abc"]))),
                                   metadata=METADATA),                               # int('abc')
        stubs.ingestion.ListDatasets(ingestion_pb.ListDatasetsRequest(page=page("%%%")), metadata=METADATA),
        stubs.ingestion.ListDatasetVersions(ingestion_pb.ListDatasetVersionsRequest(
            dataset_name="d", page=page(legacy_token(["abc"]))), metadata=METADATA),
    ]
    for call in lists:
        assert await status(call) == (INVALID, "page.page_token: not a page token this API issued")


async def test_issued_page_tokens_page_through_and_are_bound_to_their_list(stubs):
    for name in ("m3", "m4"):
        await stubs.registry.CreateRegisteredModel(registry_pb.CreateRegisteredModelRequest(name=name),
                                                   metadata=METADATA)
    seen, token = [], ""
    while True:
        response = await stubs.registry.ListRegisteredModels(
            registry_pb.ListRegisteredModelsRequest(page=page(token, 2)), metadata=METADATA)
        seen += [m.name for m in response.models]
        token = response.page.next_page_token
        if not token:
            break
        code, _ = await status(stubs.prompts.ListPrompts(prompts_pb.ListPromptsRequest(page=page(token)),
                                                         metadata=METADATA))
        assert code is INVALID  # a registry token is not a prompt-store token
    assert seen == ["m", "m3", "m4"]


# -- URIs and field names ---------------------------------------------------------------------------

@pytest.mark.parametrize("uri", ["s3://llmops-models/x/../y", "s3://minio:9000/x", "s3://my bucket/x",
                                 "s3://llmops-models", "s3://llmops-models/", "s3://llmops-models//x"])
async def test_bad_artifact_uris_are_refused_naming_artifact_uri(stubs, uri):
    code, details = await status(stubs.registry.CreateModelVersion(registry_pb.CreateModelVersionRequest(
        model_name="m", artifact_uri=uri, kind=registry_pb.MODEL_KIND_BASE), metadata=METADATA))
    assert (code, details.split(":")[0]) == (INVALID, "artifact_uri")


# -- names ------------------------------------------------------------------------------------------

async def test_names_with_a_final_newline_are_refused(stubs):
    calls = [
        stubs.registry.CreateRegisteredModel(registry_pb.CreateRegisteredModelRequest(name="m5\n"), metadata=METADATA),
        stubs.registry.SetAlias(registry_pb.SetAliasRequest(model_name="m", alias="production\n", version=1),
                                metadata=METADATA),
        stubs.registry.SetAlias(registry_pb.SetAliasRequest(model_name="m", alias="latest\n", version=1),
                                metadata=METADATA),
        stubs.prompts.CreatePrompt(prompts_pb.CreatePromptRequest(name="p5\n"), metadata=METADATA),
        stubs.prompts.SetLabel(prompts_pb.SetLabelRequest(prompt_name="p", label="staging\n", version=1),
                               metadata=METADATA),
        stubs.ingestion.CreateDataset(ingestion_pb.CreateDatasetRequest(name="d5\n"), metadata=METADATA),
    ]
    for call in calls:
        assert (await status(call))[0] is INVALID


async def test_case_variants_of_protected_names_are_refused(stubs):
    await stubs.registry.SetPolicy(registry_pb.SetPolicyRequest(policy=registry_pb.AliasPolicy(
        model_name="m", alias="production", protected=True)), metadata=METADATA)
    for alias in ("Production", "PRODUCTION"):
        code, details = await status(stubs.registry.SetAlias(registry_pb.SetAliasRequest(
            model_name="m", alias=alias, version=1), metadata=METADATA))
        assert (code, details.split(":")[0]) == (INVALID, "alias")
        code, _ = await status(stubs.registry.SetPolicy(registry_pb.SetPolicyRequest(policy=registry_pb.AliasPolicy(
            model_name="m", alias=alias, protected=False)), metadata=METADATA))
        assert code is INVALID
    for label in ("Production", "PRODUCTION", "Latest"):
        code, _ = await status(stubs.prompts.SetLabel(prompts_pb.SetLabelRequest(
            prompt_name="p", label=label, version=1), metadata=METADATA))
        assert code is INVALID
    release = await stubs.registry.Resolve(registry_pb.ResolveRequest(uri="models:/m@LATEST"), metadata=METADATA)
    assert release.model_version.version == 1


# -- echoed values ----------------------------------------------------------------------------------

async def test_a_huge_name_gets_a_short_error_not_resource_exhausted(stubs):
    code, details = await status(stubs.registry.GetRegisteredModel(
        registry_pb.GetRegisteredModelRequest(name="n" * 1_048_576), metadata=METADATA))
    assert code is INVALID and len(details) <= MAX_ERROR_MESSAGE
    code, details = await status(stubs.prompts.GetPrompt(prompts_pb.GetPromptRequest(prompt_name="n" * 60_000),
                                                         metadata=METADATA))
    assert code is grpc.StatusCode.NOT_FOUND and len(details) < 200


async def test_streamed_requests_are_checked_message_by_message(stubs):
    async def upload(filename: str):
        yield ingestion_pb.UploadFileRequest(header=ingestion_pb.UploadFileHeader(dataset_name="d", filename=filename))
        yield ingestion_pb.UploadFileRequest(chunk=b'{"text": "a\x00 NUL in bytes is data"}\n')

    code, details = await status(stubs.ingestion.UploadFile(upload("a\x00.jsonl"), metadata=METADATA))
    assert (code, details.split(":")[0]) == (INVALID, "header.filename")
    uploaded = await stubs.ingestion.UploadFile(upload("a.jsonl"), metadata=METADATA)
    assert uploaded.size_bytes > 0
