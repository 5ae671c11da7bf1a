"""Evaluation as its own process with the registry, ingestion and the prompt store, generating on the
embedded Ray head: a training completion becomes an evaluation of the candidate against the champion
and the base, whose BLEU and ROUGE equal the reference libraries' on the same outputs, whose results
(with intervals) are attached to the version and decide a gate; then a blind human review; then bad
input."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import grpc
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from llmops.evaluation.v1 import evaluation_pb2 as epb
from llmops.evaluation.v1 import evaluation_pb2_grpc as epb_grpc
from llmops.registry.v1 import registry_pb2 as rpb
from llmops.registry.v1 import registry_pb2_grpc as rpb_grpc
from llmops_common.bus import Bus
from llmops_common.events import Envelope
from llmops_common.events.training import TrainingRunCompleted
from llmops_common.settings import CommonSettings
from llmops_common.storage import ArtifactStore
from llmops_common.testing.cli import Cli
from llmops_common.testing.processes import TEST_ADMIN_KEY, ServiceProcess
from llmops_common.testing.tiny_lm import build_adapter, build_base
from llmops_common.testing.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
ADMIN = [("authorization", f"Bearer {TEST_ADMIN_KEY}")]
SERVICES = {"registry": "llmops_registry.main", "ingestion": "llmops_ingestion.main",
            "prompts": "llmops_prompts.main"}
COLOURS = ["red", "blue", "green", "amber"]


@pytest.fixture(scope="module")
async def platform(embedded_stack, ray_env, tmp_path_factory):
    logs = tmp_path_factory.mktemp("evaluation-logs")
    admin = Cli(embedded_stack.home, TEST_ADMIN_KEY)
    for name in (*SERVICES, "evaluation"):
        admin.ok("migrate", name)
    started = {name: ServiceProcess(name, module, ray_env, logs / f"{name}.log").start()
               for name, module in SERVICES.items()}
    started["evaluation"] = ServiceProcess("evaluation", "llmops_evaluation.main", ray_env | {
        "LLMOPS_EVALUATION_REGISTRY_ENDPOINT": started["registry"].endpoint,
        "LLMOPS_EVALUATION_INGESTION_ENDPOINT": started["ingestion"].endpoint,
        "LLMOPS_EVALUATION_PROMPTS_ENDPOINT": started["prompts"].endpoint,
        "LLMOPS_EVALUATION_POLL_INTERVAL_SECONDS": "0.5", "LLMOPS_EVALUATION_SHARD_SIZE": "8",
        "LLMOPS_EVALUATION_CACHE_DIR": str(logs / "cache"), "LLMOPS_EVALUATION_TRIGGER_MAX_TOKENS": "12",
    }, logs / "evaluation.log").start()
    endpoints = {f"LLMOPS_{name.upper()}_ENDPOINT": s.endpoint for name, s in started.items()}
    try:
        for service in started.values():
            await service.wait_serving(timeout=90)
        yield {"cli": Cli(embedded_stack.home, TEST_ADMIN_KEY, **endpoints), "services": started, "env": ray_env,
               "logs": logs}
    finally:
        for service in started.values():
            service.stop()


def _settings(env: dict[str, str]) -> CommonSettings:
    return CommonSettings.from_variables(env)


@pytest.fixture(scope="module")
async def assets(platform, tmp_path_factory):
    """A dataset with a test split, a prompt, a base and two adapters registered, the first holding
    ``production`` (the champion), and a ``staging`` policy that promotes on evaluation when its
    gates pass."""
    cli, uid = platform["cli"], uuid.uuid4().hex[:8]
    folder: Path = tmp_path_factory.mktemp("evaluation-assets")
    rows = [{"instruction": f"What colour is box {i}?", "output": f"Box {i} is {COLOURS[i % 4]}.\nIt is small."}
            for i in range(160)]
    (folder / "boxes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ingested = cli.json("datasets", "ingest", f"boxes-{uid}", str(folder / "boxes.jsonl"))
    dataset = f"boxes-{uid}@{ingested['version']['version']}"
    assert int(ingested["version"]["split_counts"]["test"]) > 0
    cli.ok("prompts", "create", f"boxes-{uid}")
    (folder / "prompt.txt").write_text("Question: {{ instruction }}\nAnswer:")
    cli.ok("prompts", "version", f"boxes-{uid}", "--file", str(folder / "prompt.txt"), "--var", "instruction:string")

    base = build_base(folder / "base", context=512)
    env = platform["env"]
    store = ArtifactStore.from_settings(_settings(env))
    bucket = _settings(env).s3_bucket_models
    base_name, bot = f"tiny-{uid}", f"bot-{uid}"
    async with grpc.aio.insecure_channel(platform["services"]["registry"].endpoint) as channel:
        registry = rpb_grpc.RegistryServiceStub(channel)

        async def register(model: str, path: Path, base_version: str = "") -> int:
            uri = f"s3://{bucket}/e2e-evaluation/{model}/{uuid.uuid4().hex}"
            await asyncio.to_thread(store.put_folder, uri, path)
            kind = rpb.MODEL_KIND_ADAPTER if base_version else rpb.MODEL_KIND_BASE
            reply = await registry.CreateModelVersion(rpb.CreateModelVersionRequest(
                model_name=model, artifact_uri=uri, kind=kind, base_model_version=base_version,
                request_id=uuid.uuid4().hex), metadata=ADMIN)
            return reply.version

        for name in (base_name, bot):
            await registry.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name=name), metadata=ADMIN)
        base_uri = f"models:/{base_name}/{await register(base_name, base)}"
        champion = await register(bot, build_adapter(base, folder / "v1", seed=1), base_uri)
        candidate = await register(bot, build_adapter(base, folder / "v2", seed=2), base_uri)
        await registry.SetAlias(rpb.SetAliasRequest(model_name=bot, alias="production", version=champion),
                                metadata=ADMIN)
        await registry.SetPolicy(rpb.SetPolicyRequest(policy=rpb.AliasPolicy(
            model_name=bot, alias="staging", auto_request_on_evaluation=True, required_approvals=0,
            gates=[rpb.MetricGate(metric_name="generation_failures", threshold=0.0, greater_is_better=False),
                   rpb.MetricGate(metric_name="rougeL_delta_base_ci_high", threshold=-1.0, greater_is_better=True)]),
            reason="e2e"), metadata=ADMIN)
    return {"dataset": dataset, "prompt": f"boxes-{uid}/1", "bot": bot, "base": base_uri,
            "champion": f"models:/{bot}/{champion}", "candidate": f"models:/{bot}/{candidate}", "store": store}


async def _version(platform, uri: str) -> rpb.ModelVersion:
    name, number = uri.removeprefix("models:/").split("/")
    async with grpc.aio.insecure_channel(platform["services"]["registry"].endpoint) as channel:
        return await rpb_grpc.RegistryServiceStub(channel).GetModelVersion(
            rpb.GetModelVersionRequest(model_name=name, version=int(number)), metadata=ADMIN)


def _evaluation(platform) -> tuple[grpc.aio.Channel, epb_grpc.EvaluationServiceStub]:
    channel = grpc.aio.insecure_channel(platform["services"]["evaluation"].endpoint)
    return channel, epb_grpc.EvaluationServiceStub(channel)


async def test_a_training_completion_is_evaluated_against_champion_and_base_and_attached(platform, assets):
    settings = _settings(platform["env"])
    bus = Bus(settings, producer="tests")
    await bus.start()
    try:
        await bus.publish(Envelope.wrap(TrainingRunCompleted(
            run_id=str(uuid.uuid4()), adapter_uri="s3://unused", model_version=assets["candidate"],
            base_model_version=assets["base"], dataset_version=assets["dataset"], prompt_version=assets["prompt"]),
            producer="tests", correlation_id=f"corr-{assets['bot']}"))
    finally:
        await bus.stop()

    async def attached() -> rpb.EvaluationResult | None:
        version = await _version(platform, assets["candidate"])
        return next(iter(version.evaluations), None)

    result = await wait_for(attached, 420, what="the evaluation attached to the candidate", interval=1)
    metrics = dict(result.metrics)
    for name in ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum", "exact_match", "perplexity"):
        assert name in metrics
        assert f"{name}_delta_champion" in metrics and f"{name}_delta_base" in metrics
    for key in ("bleu_delta_champion", "rougeL_delta_champion", "rougeL_delta_base"):
        assert metrics[f"{key}_ci_low"] <= metrics[key] <= metrics[f"{key}_ci_high"]
    assert metrics["generation_failures"] == 0

    # the metrics equal sacrebleu's and rouge-score's on the very outputs the run stored
    lines = assets["store"].get_bytes(result.report_uri.rsplit("/", 1)[0] + "/outputs.jsonl").decode().splitlines()
    rows = [json.loads(line) for line in lines]
    outputs = [row["outputs"]["candidate"]["output"] for row in rows]
    references = [row["reference"] for row in rows]
    assert all("\n" in r for r in references)  # Lsum sees two sentences per reference
    assert metrics["bleu"] == pytest.approx(sacrebleu.corpus_bleu(outputs, [references]).score, abs=1e-9)
    assert metrics["chrf"] == pytest.approx(sacrebleu.corpus_chrf(outputs, [references]).score, abs=1e-9)
    scorer = rouge_scorer.RougeScorer(["rougeL", "rougeLsum"], use_stemmer=True)
    scores = [scorer.score(r, o) for r, o in zip(references, outputs, strict=True)]
    for kind in ("rougeL", "rougeLsum"):
        assert metrics[kind] == pytest.approx(sum(s[kind].fmeasure for s in scores) / len(scores), abs=1e-9)

    # the gates counted the attached results: staging moved to the candidate on its own
    async with grpc.aio.insecure_channel(platform["services"]["registry"].endpoint) as channel:
        registry = rpb_grpc.RegistryServiceStub(channel)
        promotions = await registry.ListPromotions(rpb.ListPromotionsRequest(model_name=assets["bot"],
                                                                             alias="staging"), metadata=ADMIN)
        assert [p.status for p in promotions.promotions] == [rpb.PROMOTION_STATUS_APPROVED]
        assert {g.gate.metric_name for g in promotions.promotions[0].gate_results} >= {"generation_failures"}
        resolved = await registry.Resolve(rpb.ResolveRequest(uri=f"models:/{assets['bot']}@staging"), metadata=ADMIN)
        assert f"models:/{assets['bot']}/{resolved.model_version.version}" == assets["candidate"]

    # the run, its report and the command line's table
    channel, evaluation = _evaluation(platform)
    async with channel:
        report = await evaluation.GetReport(epb.GetReportRequest(run_id=result.evaluation_run_id), metadata=ADMIN)
    assert report.run.status == epb.EVALUATION_STATUS_COMPLETED
    assert dict(report.run.resolved_models) == {"candidate": assets["candidate"], "champion": assets["champion"],
                                                "base": assets["base"]}
    assert report.run.spec.training_run_id and report.run.correlation_id == f"corr-{assets['bot']}"
    bleu = next(m for m in report.metrics if m.name == "bleu" and m.model_role == "candidate")
    assert bleu.signature.startswith("nrefs:1") and bleu.ci_low <= bleu.value <= bleu.ci_high
    assert {c.baseline_role for c in report.comparisons} == {"champion", "base"}
    assert all(c.verdict in ("better", "worse", "no change") for c in report.comparisons)
    html = assets["store"].get_bytes(report.run.html_report_uri).decode()
    assert "champion" in html and "data:image/svg+xml;base64," in html
    shown = platform["cli"].ok("eval", "show", result.evaluation_run_id)
    assert "bleu" in shown and "champion" in shown and "rougeLsum" in shown


async def test_a_blind_review_becomes_a_win_rate_on_the_version(platform, assets):
    channel, evaluation = _evaluation(platform)
    async with channel:
        runs = await evaluation.ListEvaluationRuns(epb.ListEvaluationRunsRequest(
            model_version=assets["candidate"], status=epb.EVALUATION_STATUS_COMPLETED), metadata=ADMIN)
        assert runs.runs, "the evaluation of the first test"
        run = runs.runs[0]
        review = await evaluation.ExportReview(epb.ExportReviewRequest(run_id=run.run_id, baseline_role="champion",
                                                                       sample_size=6, seed=3), metadata=ADMIN)
        assert len(review.items) == 6
        exported = assets["store"].get_bytes(review.uri).decode()
        assert "candidate" not in exported  # blind: which side is which stays in the service
        verdicts = [epb.ReviewVerdict(item_id=item.item_id, choice="a", rater="ann") for item in review.items]
        result = await evaluation.ImportReviewVerdicts(epb.ImportReviewVerdictsRequest(
            review_id=review.review_id, verdicts=verdicts), metadata=ADMIN)
        assert result.wins + result.losses == 6 and result.ties == 0
        assert result.win_rate.ci_low <= result.win_rate.value <= result.win_rate.ci_high

        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await evaluation.ImportReviewVerdicts(epb.ImportReviewVerdictsRequest(
                review_id=review.review_id, verdicts=[epb.ReviewVerdict(item_id="nope", choice="a", rater="ann")]),
                metadata=ADMIN)
        assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "verdicts[0]" in unknown.value.details()

    async def win_rate() -> float | None:
        version = await _version(platform, assets["candidate"])
        return next((e.metrics["human_win_rate"] for e in version.evaluations if "human_win_rate" in e.metrics), None)

    assert await wait_for(win_rate, 60, what="the win rate attached") == pytest.approx(result.win_rate.value)


@pytest.mark.parametrize(("field", "change"), [
    ("spec.model_version", {"model_version": "models:/no-such-model/1"}),
    ("spec.dataset_version", {"dataset_version": "no-such-dataset@" + "0" * 32}),
    ("spec.prompt_version", {"prompt_version": "no-such-prompt/1"}),
    ("spec.split", {"split": "holdout"}),
])
async def test_unknown_references_are_failed_precondition_naming_the_field(platform, assets, field, change):
    spec = {"model_version": assets["candidate"], "dataset_version": assets["dataset"]} | change
    channel, evaluation = _evaluation(platform)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await evaluation.RunEvaluation(epb.RunEvaluationRequest(spec=epb.EvaluationSpec(**spec)), metadata=ADMIN)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert field in refused.value.details()
