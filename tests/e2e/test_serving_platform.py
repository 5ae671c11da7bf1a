"""Serving as its own process with the registry and the prompt store, driven through the official
``openai`` client, gRPC and NATS: a release with its pinned prompt, hot reload under load, reloads
that must fail (corrupt, tampered, NaN adapters) without touching what is served, the inference
log, and a client that disconnects."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from pathlib import Path

import grpc
import httpx2
import nats
import openai
import pytest
from google.protobuf.struct_pb2 import Struct

from llmops.prompts.v1 import prompts_pb2 as ppb
from llmops.prompts.v1 import prompts_pb2_grpc as ppb_grpc
from llmops.registry.v1 import registry_pb2 as rpb
from llmops.registry.v1 import registry_pb2_grpc as rpb_grpc
from llmops.serving.v1 import serving_pb2 as spb
from llmops.serving.v1 import serving_pb2_grpc as spb_grpc
from llmops_common.embedded import free_port
from llmops_common.storage import ArtifactStore
from llmops_common.testing.cli import Cli
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess
from llmops_common.testing.tiny_lm import build_adapter, build_base
from llmops_common.testing.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
ADMIN = [("authorization", f"Bearer {TEST_ADMIN_KEY}")]


def nan_adapter(base: Path, folder: Path) -> Path:
    """An adapter whose weights are NaN: it loads, and its smoke test must fail."""
    from safetensors.torch import load_file, save_file

    build_adapter(base, folder, seed=99)
    weights = {k: v.fill_(float("nan")) for k, v in load_file(folder / "adapter_model.safetensors").items()}
    save_file(weights, folder / "adapter_model.safetensors")
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("serving-models")
    base = build_base(root / "base", context=2048)
    other = build_base(root / "other", hidden=32)  # an adapter for it has the wrong shapes for base
    return {"base": base, "v1": build_adapter(base, root / "v1", seed=1),
            "v2": build_adapter(base, root / "v2", seed=2),
            "corrupt": build_adapter(other, root / "corrupt", seed=3),
            "nan": nan_adapter(base, root / "nan"),
            "tampered": build_adapter(base, root / "tampered", seed=4)}


def upload_plain(store: ArtifactStore, uri: str, folder: Path) -> None:
    """Like training's uploads: no sha256 metadata, so serving checks the ETag (MD5)."""
    bucket, prefix = uri.removeprefix("s3://").split("/", 1)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        store.client.put_object(bucket, f"{prefix}/{path.relative_to(folder).as_posix()}", io.BytesIO(data), len(data))


class Platform:
    def __init__(self, registry: rpb_grpc.RegistryServiceStub, url: str, grpc_endpoint: str, bot: str,
                 store: ArtifactStore, bucket: str, nats_url: str) -> None:
        self.registry, self.url, self.grpc_endpoint, self.bot = registry, url, grpc_endpoint, bot
        self.store, self.bucket, self.nats_url = store, bucket, nats_url
        self.client = openai.AsyncOpenAI(base_url=url, api_key=TEST_ADMIN_KEY, max_retries=0, timeout=60)

    async def register(self, model: str, folder: Path, *, base_version: str = "", plain: bool = True) -> int:
        uri = f"s3://{self.bucket}/e2e-serving/{model}/{uuid.uuid4().hex}"
        if plain:
            await asyncio.to_thread(upload_plain, self.store, uri, folder)
        else:
            await asyncio.to_thread(self.store.put_folder, uri, folder)
        kind = rpb.MODEL_KIND_ADAPTER if base_version else rpb.MODEL_KIND_BASE
        version = await self.registry.CreateModelVersion(rpb.CreateModelVersionRequest(
            model_name=model, artifact_uri=uri, kind=kind, base_model_version=base_version,
            request_id=uuid.uuid4().hex), metadata=ADMIN)
        return version.version

    async def move(self, version: int, **pins) -> None:
        params = Struct()
        params.update(pins.pop("params", {}))
        await self.registry.SetAlias(rpb.SetAliasRequest(model_name=self.bot, alias="production", version=version,
                                                         sampling_parameters=params, **pins), metadata=ADMIN)



@pytest.fixture(scope="module")
async def platform(embedded_stack, stack_env, models, tmp_path_factory):
    logs = tmp_path_factory.mktemp("serving-logs")
    cli = Cli(embedded_stack.home, TEST_ADMIN_KEY)
    for service in ("registry", "prompts", "serving"):
        cli.ok("migrate", service)
    registry = ServiceProcess("registry", "llmops_registry.main", stack_env, logs / "registry.log").start()
    prompts = ServiceProcess("prompts", "llmops_prompts.main", stack_env, logs / "prompts.log").start()
    processes = [registry, prompts]
    try:
        await registry.wait_serving()
        await prompts.wait_serving()
        uid = uuid.uuid4().hex[:8]
        base_name, bot, prompt = f"tiny-{uid}", f"bot-{uid}", f"bot-prompt-{uid}"
        channel = grpc.aio.insecure_channel(registry.endpoint)
        stub = rpb_grpc.RegistryServiceStub(channel)
        for name in (base_name, bot):
            await stub.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name=name), metadata=ADMIN)
        store = ArtifactStore.from_settings(_settings(stack_env))
        bucket = _settings(stack_env).s3_bucket_models
        await asyncio.to_thread(store.ensure_buckets)
        p = Platform(stub, "", "", bot, store, bucket, stack_env["LLMOPS_NATS_URL"])
        base_version = await p.register(base_name, models["base"], plain=False)
        base_uri = f"models:/{base_name}/{base_version}"
        p.versions = {key: await p.register(bot, models[key], base_version=base_uri)
                      for key in ("v1", "v2", "corrupt", "nan", "tampered")}
        async with grpc.aio.insecure_channel(prompts.endpoint) as pc:
            pstub = ppb_grpc.PromptServiceStub(pc)
            await pstub.CreatePrompt(ppb.CreatePromptRequest(name=prompt), metadata=ADMIN)
            version = await pstub.CreateVersion(ppb.CreateVersionRequest(
                prompt_name=prompt, text="Q: {{ instruction }}\nA:", variables=[ppb.VariableSpec(
                    name="instruction", type=ppb.VARIABLE_TYPE_STRING, required=True)]), metadata=ADMIN)
        p.prompt_version = f"{prompt}/{version.version}"
        await p.move(p.versions["v1"], prompt_version=p.prompt_version, params={"temperature": 0, "max_tokens": 8})
        http_port = free_port()
        env = {**stack_env, "LLMOPS_SERVING_REGISTRY_ENDPOINT": registry.endpoint,
               "LLMOPS_SERVING_PROMPTS_ENDPOINT": prompts.endpoint, "LLMOPS_SERVING_HTTP_PORT": str(http_port),
               "LLMOPS_SERVING_MODELS": json.dumps([bot]), "LLMOPS_SERVING_DEVICE": "cpu",
               "LLMOPS_SERVING_CACHE_DIR": str(logs / "cache"),
               # the load test's four clients loop as fast as the server answers; on a fast machine that is
               # over the default 600 a minute, and the limit is not what this module tests
               "LLMOPS_SERVING_RATE_LIMIT_PER_MINUTE": "60000", "LLMOPS_SERVING_RATE_LIMIT_BURST": "1000"}
        serving = ServiceProcess("serving", "llmops_serving.main", env, logs / "serving.log").start()
        processes.append(serving)
        await serving.wait_serving(timeout=120)
        p.url, p.grpc_endpoint = f"http://127.0.0.1:{http_port}/v1", serving.endpoint

        async def ready() -> bool:
            async with httpx2.AsyncClient() as http:
                return (await http.get(f"http://127.0.0.1:{http_port}/health")).status_code == 200

        await wait_for(ready, 120, what="serving to load the release", retry_on=(httpx2.HTTPError,))
        p.client = openai.AsyncOpenAI(base_url=p.url, api_key=TEST_ADMIN_KEY, max_retries=0, timeout=60)
        p.log = logs / "serving.log"
        yield p
        await channel.close()
    finally:
        for process in reversed(processes):
            process.stop()


def _settings(env: dict[str, str]):
    from llmops_common.settings import CommonSettings

    return CommonSettings.from_variables(env)


async def chat(p: Platform, model: str, text: str = "the quick brown fox", **extra) -> tuple[str, str]:
    reply = await p.client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}],
                                                   temperature=0, max_tokens=8, **extra)
    return reply.choices[0].message.content, reply.system_fingerprint


async def events(p: Platform, subject: str) -> tuple[object, list[dict]]:
    seen: list[dict] = []
    nc = await nats.connect(p.nats_url)

    async def on(msg) -> None:
        seen.append(json.loads(msg.data))

    await nc.subscribe(subject, cb=on)
    return nc, seen


async def test_release_streams_with_its_pinned_prompt_and_logs_every_request(platform: Platform) -> None:
    p = platform
    nc, logged = await events(p, "llmops.serving.inference.completed")
    try:
        listed = {m.id: m for m in (await p.client.models.list()).data}
        release = listed[f"{p.bot}@production"]
        assert release.parent == release.root and release.root.startswith("models:/tiny-")
        stream = await p.client.chat.completions.create(
            model=f"{p.bot}@production", messages=[{"role": "user", "content": "the quick brown fox"}],
            stream=True, stream_options={"include_usage": True}, user="alice")
        chunks = [chunk async for chunk in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
        assert usage.completion_tokens == 8  # the release pins max_tokens=8 (no EOS before it on this model)
        # the same request through the version route, without the release, differs: the prompt is pinned
        pinned, fingerprint = await chat(p, f"{p.bot}@production")
        assert pinned == text and fingerprint == f"models:/{p.bot}/{p.versions['v1']}"
        unpinned, _ = await chat(p, f"{p.bot}/{p.versions['v1']}")
        assert unpinned != pinned
        await wait_for(lambda: any(e["payload"]["user"] == "alice" for e in logged), 20, what="the inference event")
        event = next(e["payload"] for e in logged if e["payload"]["user"] == "alice")
        assert event["model_name"] == p.bot and event["version"] == p.versions["v1"]
        assert event["release"] == "production" and event["output"] == text
        assert event["prompt"] == [{"role": "user", "content": "the quick brown fox"}]
        assert event["completion_tokens"] == 8 and event["prompt_tokens"] == usage.prompt_tokens
        assert 0 < event["ttft_ms"] <= event["latency_ms"]
    finally:
        await nc.close()


async def test_grpc_runs_on_the_same_engine(platform: Platform) -> None:
    p = platform
    rest, _ = await chat(p, f"{p.bot}@production")
    async with grpc.aio.insecure_channel(p.grpc_endpoint) as channel:
        stub = spb_grpc.ServingServiceStub(channel)
        request = spb.GenerateRequest(model=f"{p.bot}@production", chat=spb.ChatMessages(
            messages=[spb.ChatMessage(role="user", content="the quick brown fox")]),
            sampling=spb.SamplingParameters(temperature=0, max_tokens=8))
        reply = await stub.Generate(request, metadata=ADMIN)
        assert reply.text == rest and reply.usage.completion_tokens == 8
        streamed = [c async for c in stub.GenerateStream(request, metadata=ADMIN)]
        assert "".join(c.delta for c in streamed) == rest
        assert streamed[-1].finish_reason == spb.FINISH_REASON_LENGTH
        deployment = await stub.GetDeployment(spb.GetDeploymentRequest(name=f"{p.bot}@production"), metadata=ADMIN)
        assert deployment.status == spb.DEPLOYMENT_STATUS_READY and deployment.prompt_version == p.prompt_version
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Generate(spb.GenerateRequest(model="nope@production", prompt="x"), metadata=ADMIN)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND


async def test_openai_errors(platform: Platform) -> None:
    p = platform
    with pytest.raises(openai.NotFoundError):
        await chat(p, "nope@production")
    with pytest.raises(openai.BadRequestError) as caught:
        await chat(p, f"{p.bot}@production", top_p=1.5)
    assert caught.value.body["param"] == "top_p"
    with pytest.raises(openai.BadRequestError) as caught:
        await chat(p, f"{p.bot}@production", text="the quick brown fox " * 2000)
    assert caught.value.body["code"] == "context_length_exceeded"
    bad_key = openai.AsyncOpenAI(base_url=p.url, api_key="llmops_nope_nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await bad_key.models.list()


async def test_a_disconnected_stream_frees_its_slot(platform: Platform) -> None:
    p = platform
    nc, logged = await events(p, "llmops.serving.inference.completed")
    try:
        request_body = {"model": f"{p.bot}/{p.versions['v1']}", "prompt": "the quick", "max_tokens": 2000,
                        "ignore_eos": True, "stream": True, "temperature": 0}
        headers = {"authorization": f"Bearer {TEST_ADMIN_KEY}"}
        async with httpx2.AsyncClient(timeout=30) as http, http.stream(
                "POST", f"{p.url}/completions", json=request_body, headers=headers) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: {"):
                    request_id = json.loads(line[6:])["id"]
                    break
        event = await wait_for(lambda: next((e["payload"] for e in logged
                                             if e["payload"]["request_id"] == request_id), None), 30,
                               what="the aborted request's inference event")
        assert event["finish_reason"] == "abort" and event["completion_tokens"] < 2000
        assert await wait_for(_no_active(p), 20, what="no active sequences")
    finally:
        await nc.close()


def _no_active(p: Platform):
    async def check() -> bool:
        async with httpx2.AsyncClient() as http:
            text = (await http.get(p.url.removesuffix("/v1") + "/metrics")).text
        values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                  if line.startswith("llmops_engine_active_sequences{")]
        return bool(values) and all(v == 0 for v in values)
    return check


async def test_hot_reload_under_load_and_failed_reloads_keep_the_served_version(platform: Platform) -> None:
    p = platform
    model = f"{p.bot}@production"
    direct = await p.client.completions.create(model=f"{p.bot}/{p.versions['v2']}", temperature=0, max_tokens=8,
                                               prompt="Q: the quick brown fox\nA:")  # the pinned prompt, rendered
    expected_v2 = direct.choices[0].text
    seen: list[tuple[str, str]] = []
    failures: list[BaseException] = []
    stop = asyncio.Event()

    async def client(i: int) -> None:
        while not stop.is_set():
            try:
                if i % 2:
                    seen.append(await chat(p, model))
                else:
                    stream = await p.client.chat.completions.create(
                        model=model, messages=[{"role": "user", "content": "the quick brown fox"}], stream=True,
                        temperature=0, max_tokens=8)
                    chunks = [c async for c in stream]
                    seen.append(("".join(c.choices[0].delta.content or "" for c in chunks if c.choices),
                                 chunks[0].system_fingerprint))
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                failures.append(exc)

    nc, moves = await events(p, "llmops.serving.deployment.*")
    clients = [asyncio.create_task(client(i)) for i in range(4)]
    try:
        await wait_for(lambda: len(seen) >= 8, 60, what="traffic before the switch")
        await p.move(p.versions["v2"], prompt_version=p.prompt_version, params={"temperature": 0, "max_tokens": 8})
        v2 = f"models:/{p.bot}/{p.versions['v2']}"
        await wait_for(lambda: sum(1 for _, f in seen if f == v2) >= 8, 120, what="traffic on version 2")
        for key, stage in (("corrupt", "load"), ("nan", "smoke"), ("tampered", "verify")):
            if key == "tampered":  # its bytes change after registration
                version = await p.registry.GetModelVersion(rpb.GetModelVersionRequest(
                    model_name=p.bot, version=p.versions[key]), metadata=ADMIN)
                bucket, prefix = version.artifact_uri.removeprefix("s3://").split("/", 1)
                p.store.client.put_object(bucket, f"{prefix}/adapter_config.json", io.BytesIO(b"{}"), 2)
            await p.move(p.versions[key])
            await wait_for(lambda k=key: any(e["type"].endswith(".failed") and
                                             e["payload"]["version"] == p.versions[k] for e in moves), 120,
                           what=f"the {key} reload to fail")
            failed = next(e["payload"] for e in moves if e["type"].endswith(".failed")
                          and e["payload"]["version"] == p.versions[key])
            assert failed["stage"] == stage, failed
            count = len(seen)
            await wait_for(lambda c=count: len(seen) >= c + 4, 60, what="traffic after the failed reload")
            assert all(f == v2 for _, f in seen[count:]), "a failed reload changed what is served"
    finally:
        stop.set()
        await asyncio.gather(*clients)
        await nc.close()
    assert not failures, failures[:3]
    after = [text for text, f in seen if f == v2]
    assert after and all(text == expected_v2 for text in after)
    updated = [e["payload"] for e in moves if e["type"].endswith(".updated")]
    assert [u["version"] for u in updated] == [p.versions["v2"]]

    async def deployed() -> list:
        lineage = await p.registry.GetLineage(rpb.GetLineageRequest(model_name=p.bot, version=p.versions["v2"]),
                                              metadata=ADMIN)
        return [n for n in lineage.nodes if n.kind == rpb.LINEAGE_NODE_KIND_DEPLOYMENT]

    (node,) = await wait_for(deployed, 30, what="the deployment in the registry's lineage")
    assert node.ref == f"{p.bot}@production" and node.attributes["replica"] == updated[0]["replica"]
