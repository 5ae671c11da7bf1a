"""One evaluation run, start to finish: resolve what the spec names, read and render the split,
generate with every model (one Ray task per shard, on serving's engine), score, compare the candidate
with each baseline, judge, and write the reports. The worker owns the run's state; this owns the work.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from llmops_common.storage import ArtifactStore
from llmops_common.templating.wire import template_from_wire
from llmops_evaluation.domain.results import (
    CANDIDATE,
    EvaluationOutcome,
    Example,
    Generation,
    MetricValue,
    ModelOutputs,
    ModelResult,
)
from llmops_evaluation.domain.run import EvaluationRun, Progress
from llmops_evaluation.domain.spec import EvaluationSpec
from llmops_evaluation.examples import load_examples
from llmops_evaluation.generation.executor import Executor
from llmops_evaluation.generation.plan import ModelArtifacts, ShardPlan, StorageAccess
from llmops_evaluation.judge import Judge, judge_outputs
from llmops_evaluation.metrics.suite import MetricSuite
from llmops_evaluation.references import References, ResolvedModel
from llmops_evaluation.report.build import build_report, outputs_jsonl
from llmops_evaluation.report.html import render_html
from llmops_evaluation.settings import EvaluationSettings

ProgressSink = Callable[[Progress], Awaitable[None] | None]
JUDGE_METRIC = "judge_score"


@dataclass(frozen=True)
class Finished:
    resolved_models: dict[str, str]
    metrics: dict[str, float]
    report_uri: str
    html_report_uri: str
    outputs_uri: str


def flat_metrics(outcome: EvaluationOutcome) -> dict[str, float]:
    """The candidate's results as the registry's gates read them: ``name``, ``name_ci_low`` and
    ``name_ci_high``; each baseline's value as ``name_<role>``; each comparison as
    ``name_delta_<role>`` with ``_ci_low``, ``_ci_high`` and ``_p_value``. Values that are not finite
    are left out."""
    flat: dict[str, float] = {}
    for role, result in outcome.results.items():
        for name, value in result.metrics.items():
            if role == CANDIDATE:
                flat[name] = value.value
                if value.interval is not None:
                    flat[f"{name}_ci_low"], flat[f"{name}_ci_high"] = value.interval.low, value.interval.high
            else:
                flat[f"{name}_{role}"] = value.value
    for c in outcome.comparisons:
        key = f"{c.metric}_delta_{c.baseline_role}"
        flat.update({key: c.delta, f"{key}_ci_low": c.interval.low, f"{key}_ci_high": c.interval.high,
                     f"{key}_p_value": c.p_value})
    return {k: float(v) for k, v in flat.items() if math.isfinite(v)}


def _artifacts(role: str, model: ResolvedModel) -> ModelArtifacts:
    return ModelArtifacts(role=role, model_uri=model.uri, kind=model.kind, artifact_uri=model.artifact_uri,
                          sha256=model.sha256, base_artifact_uri=model.base_artifact_uri,
                          base_sha256=model.base_sha256)


class Evaluator:
    def __init__(self, references: References, executor: Executor, artifacts: ArtifactStore,
                 settings: EvaluationSettings, judge: Judge | None = None) -> None:
        self.references, self.executor, self.artifacts = references, executor, artifacts
        self.settings, self.judge = settings, judge

    async def evaluate(self, run: EvaluationRun, progress: ProgressSink) -> Finished:
        spec = run.spec
        await _tell(progress, Progress("resolving"))
        models = {CANDIDATE: await self.references.resolve_model(spec.model_version, "spec.model_version")}
        for index, baseline in enumerate(spec.baselines):
            models[baseline.role] = await self.references.resolve_model(
                baseline.model_version, f"spec.baselines[{index}].model_version")
        dataset = await self.references.resolve_dataset(spec.dataset_version, spec.split)
        prompt = await self.references.resolve_prompt(spec.prompt_version, "spec.prompt_version") \
            if spec.prompt_version else None
        suite = MetricSuite([m for m in spec.metrics if m != JUDGE_METRIC], confidence=spec.confidence,
                            bootstrap_samples=spec.bootstrap_samples, seed=self.settings.statistics_seed,
                            price_per_hour=self.settings.price_per_hour)
        judge_template = None
        if spec.judge is not None:
            judge_template = await self.references.resolve_prompt(spec.judge.prompt_version,
                                                                  "spec.judge.prompt_version")
        examples = await asyncio.to_thread(
            load_examples, self.artifacts, dataset, prompt.template if prompt else None,
            max_samples=spec.max_samples, max_examples=self.settings.max_examples,
            max_shard_bytes=self.settings.max_shard_bytes)

        outputs = await self._generate(run, spec, examples, models, progress)
        await _tell(progress, Progress("scoring", 0, len(outputs)))
        scores = {role: await asyncio.to_thread(suite.score, examples, out) for role, out in outputs.items()}
        judge_failures = {}
        if spec.judge is not None and judge_template is not None:
            judge, template = self._judge(), template_from_wire(judge_template.template)
            total = len(examples) * len(outputs)
            for index, (role, out) in enumerate(outputs.items()):
                async def judged(done: int, _: int, before: int = index * len(examples)) -> None:
                    await _tell(progress, Progress("judging", before + done, total))

                values, failures = await judge_outputs(judge, spec.judge, template, examples, out, judged)
                suite.add_per_sample(scores[role], JUDGE_METRIC, values)
                judge_failures[role] = failures
        results = {}
        for role, score in scores.items():
            summary = await asyncio.to_thread(suite.summarize, score)
            if role in judge_failures:
                summary["judge_failures"] = MetricValue("judge_failures", float(len(judge_failures[role])), None,
                                                        len(examples), greater_is_better=False)
            results[role] = ModelResult(role, outputs[role].model_uri, summary)
        comparisons = []
        for role in outputs:
            if role != CANDIDATE:
                comparisons += await asyncio.to_thread(suite.compare, scores[CANDIDATE], scores[role], role)
        outcome = EvaluationOutcome(
            tuple(examples), outputs, results, tuple(comparisons),
            {role: score.sample_scores() for role, score in scores.items()}, spec.sampling.as_dict(),
            judge_failures)
        await _tell(progress, Progress("reporting"))
        resolved = {role: model.uri for role, model in models.items()}
        return await asyncio.to_thread(self._write_reports, replace(run, resolved_models=resolved), outcome)

    def _judge(self) -> Judge:
        if self.judge is None:
            from llmops_evaluation.judge import OpenAIJudge

            self.judge = OpenAIJudge(self.settings.serving_url, self.settings.api_key())
        return self.judge

    async def _generate(self, run: EvaluationRun, spec: EvaluationSpec, examples: list[Example],
                        models: dict[str, ResolvedModel], progress: ProgressSink) -> dict[str, ModelOutputs]:
        size = self.settings.shard_size
        rows = [(e.record_id, e.prompt, e.reference) for e in examples]
        storage = StorageAccess.from_settings(self.settings)
        plans = [ShardPlan(shard=i // size, examples=tuple(rows[i:i + size]),
                           models=tuple(_artifacts(role, m) for role, m in models.items()),
                           params=spec.sampling.as_dict(), perplexity="perplexity" in (spec.metrics or ("perplexity",)),
                           storage=storage, cache_dir=self.settings.cache_dir, max_batch=self.settings.max_batch)
                 for i in range(0, len(rows), size)]
        total = len(examples)

        async def shard_done(done: int, shards: int) -> None:
            await _tell(progress, Progress("generating", min(total, done * size), total))

        await _tell(progress, Progress("generating", 0, total))
        results = await self.executor.run(plans, shard_done)
        outputs = {}
        for role, model in models.items():
            generations = [Generation(**g) for result in results for g in result[role]]
            wall = sum(result["__wall_seconds__"][role] for result in results)
            outputs[role] = ModelOutputs(role, model.uri, tuple(generations), wall)
        return outputs

    def _write_reports(self, run: EvaluationRun, outcome: EvaluationOutcome) -> Finished:
        import json

        folder = f"s3://{self.settings.s3_bucket_artifacts}/{self.settings.report_prefix}/{run.run_id}"
        report = build_report(run, outcome)
        self.artifacts.put_bytes(f"{folder}/outputs.jsonl", outputs_jsonl(outcome), content_type="application/jsonl")
        self.artifacts.put_bytes(f"{folder}/report.html", render_html(report).encode(), content_type="text/html")
        self.artifacts.put_bytes(f"{folder}/report.json", json.dumps(report, allow_nan=False).encode(),
                                 content_type="application/json")
        return Finished(dict(run.resolved_models), flat_metrics(outcome), f"{folder}/report.json",
                        f"{folder}/report.html", f"{folder}/outputs.jsonl")


async def _tell(sink: ProgressSink, progress: Progress) -> None:
    result = sink(progress)
    if result is not None:
        await result

