"""What a run asks the other services for: the training request, the evaluation request, and the
registry promotion, built from the run's definition and what its earlier steps produced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmops_common.events.evaluation import EvaluationRunRequested
from llmops_common.events.training import TrainingRunRequested
from llmops_pipelines.domain.run import PipelineRun


def training_request(run: PipelineRun) -> TrainingRunRequested:
    """Train on the run's pinned inputs; the result registers under the pipeline's model name, with the
    pipeline's code version."""
    train = run.definition.train
    spec: dict[str, Any] = {**train.spec, "output_model_name": run.definition.model_name,
                            "code_version": run.inputs["code_version"]}
    return TrainingRunRequested(base_model_uri=run.inputs["base_model"], dataset_version=run.inputs["dataset_version"],
                                prompt_version=run.inputs.get("prompt_version", ""),
                                name=f"{run.pipeline}-{run.run_id[:8]}", spec=spec)


def evaluation_request(run: PipelineRun) -> EvaluationRunRequested:
    """Evaluate the trained version on the run's evaluation dataset against its pinned baselines: the
    base it was trained from, and the champion as it was when the step was requested."""
    evaluate = run.definition.evaluate
    baselines = []
    if "champion" in evaluate.compare_with and run.inputs.get("champion_version"):
        baselines.append({"role": "champion", "model_version": run.inputs["champion_version"]})
    if "base" in evaluate.compare_with:
        baselines.append({"role": "base", "model_version": run.output("train", "base_model_version")})
    spec: dict[str, Any] = {**evaluate.spec, "split": evaluate.split, "baselines": baselines,
                            "training_run_id": run.output("train", "training_run_id")}
    if evaluate.max_samples:
        spec["max_samples"] = str(evaluate.max_samples)  # int64 in protobuf JSON
    if prompt := run.output("train", "prompt_version"):
        spec["prompt_version"] = prompt
    return EvaluationRunRequested(model_uri=run.output("train", "model_version"),
                                  dataset_version=run.inputs["evaluation_dataset"], metrics=list(evaluate.metrics),
                                  spec=spec)


@dataclass(frozen=True)
class PromotionRequest:
    model_name: str
    alias: str
    version: int
    prompt_version: str
    reason: str
    request_id: str  # the same for every attempt: the registry returns the promotion it opened


def promotion_request(run: PipelineRun, alias: str) -> PromotionRequest:
    model_version = run.output("train", "model_version")  # models:/name/N
    version = int(model_version.rsplit("/", 1)[1])
    return PromotionRequest(run.definition.model_name, alias, version, run.output("train", "prompt_version"),
                            f"pipeline {run.pipeline} run {run.run_id}", f"pipeline:{run.run_id}:{alias}")
