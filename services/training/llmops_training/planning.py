"""From a validated spec and what its references resolved to, the plan a job runs on Ray
(``jobs.protocol``): plain data, with storage credentials added only when it is submitted."""

from __future__ import annotations

from typing import Any

from llmops_training.domain.resolution import Resolution
from llmops_training.domain.spec import RunSpec
from llmops_training.domain.sweep import SweepSpec
from llmops_training.jobs.protocol import (
    DataPlan,
    Distributed,
    Hyperparameters,
    LoraPlan,
    SearchDimension,
    StorageAccess,
    SweepPlan,
    TrainPlan,
)
from llmops_training.settings import TrainingSettings


def train_plan(run_id: str, spec: RunSpec, resolved: Resolution, settings: TrainingSettings) -> TrainPlan:
    hp, dist = spec.hyperparameters, spec.distributed
    prefix = settings.output_prefix.strip("/")
    return TrainPlan(
        run_id=run_id, base_uri=resolved.base.artifact_uri,
        data=DataPlan(shape=resolved.dataset.shape, train_uris=resolved.dataset.train_uris,
                      validation_uris=resolved.dataset.validation_uris,
                      template=resolved.prompt.template if resolved.prompt else None),
        method=spec.method.value,
        lora=LoraPlan(r=spec.lora.r, alpha=spec.lora.alpha, dropout=spec.lora.dropout,
                      target_modules=spec.lora.target_modules),
        hyperparameters=Hyperparameters(
            learning_rate=hp.learning_rate, max_steps=hp.max_steps, epochs=hp.epochs,
            micro_batch_size=hp.micro_batch_size, gradient_accumulation_steps=hp.gradient_accumulation_steps,
            max_seq_length=hp.max_seq_length, warmup_steps=hp.warmup_steps, warmup_ratio=hp.warmup_ratio,
            weight_decay=hp.weight_decay, lr_scheduler=hp.lr_scheduler, seed=hp.seed,
            checkpoint_every_steps=hp.checkpoint_every_steps, eval_every_steps=hp.eval_every_steps,
            packing=hp.packing, max_grad_norm=hp.max_grad_norm),
        distributed=Distributed(workers=dist.workers, use_gpu=dist.use_gpu, gpus_per_worker=dist.gpus_per_worker,
                                zero_stage=dist.zero_stage, cpu_offload=dist.cpu_offload, precision=dist.precision),
        output_uri=f"s3://{settings.s3_bucket_models}/{prefix}/{run_id}",
        checkpoint_uri=f"s3://{settings.s3_bucket_artifacts}/{prefix}/checkpoints/{run_id}",
        storage=StorageAccess.from_settings(settings),
        max_failures=settings.max_failures, loss_limit=settings.loss_limit,
        progress_every_seconds=settings.job_progress_interval_seconds,
    )


def sweep_plan(sweep_id: str, spec: SweepSpec, resolved: Resolution, settings: TrainingSettings) -> SweepPlan:
    base = train_plan(sweep_id, spec.base, resolved, settings)
    return SweepPlan(
        sweep_id=sweep_id, base=base,
        dimensions=tuple(SearchDimension(path=d.path, choices=d.choices, low=d.low, high=d.high,
                                         log_scale=d.log_scale, integer=d.integer) for d in spec.dimensions),
        algorithm=spec.algorithm, objective=spec.objective, goal=spec.goal, max_trials=spec.max_trials,
        max_concurrent_trials=spec.max_concurrent_trials, early_stopping=spec.early_stopping,
    )


def stored_plan(plan: TrainPlan | SweepPlan) -> dict[str, Any]:
    """The plan as stored with the run: everything but the storage credentials."""
    data = plan.model_dump(mode="json")
    target = data.get("base", data)
    target.pop("storage")
    return data


def submittable(stored: dict[str, Any], settings: TrainingSettings) -> TrainPlan | SweepPlan:
    """A stored plan with today's storage credentials, ready for ``JobLauncher.submit``."""
    storage = StorageAccess.from_settings(settings).model_dump()
    if "base" in stored:
        return SweepPlan.model_validate({**stored, "base": {**stored["base"], "storage": storage}})
    return TrainPlan.model_validate({**stored, "storage": storage})
