"""Domain entities <-> protobuf messages. Proto zero values mean "the default" (the spec module lists
them), except where presence is explicit: a set ``learning_rate`` or ``lora.r`` is taken as given."""

from __future__ import annotations

from google.protobuf import json_format

from llmops.common.v1 import common_pb2
from llmops.training.v1 import training_pb2 as pb
from llmops_common.errors import InvalidArgument
from llmops_common.proto_convert import from_struct, struct, timestamp
from llmops_training.domain.run import Checkpoint, ProgressPoint, Run, RunError, RunStatus
from llmops_training.domain.spec import Distributed, Hyperparameters, LoraSpec, Method, RunSpec
from llmops_training.domain.sweep import Dimension, Sweep, SweepSpec, Trial

STATUS_TO_PB = {
    RunStatus.PENDING: pb.RUN_STATUS_PENDING, RunStatus.QUEUED: pb.RUN_STATUS_QUEUED,
    RunStatus.RUNNING: pb.RUN_STATUS_RUNNING, RunStatus.SUCCEEDED: pb.RUN_STATUS_SUCCEEDED,
    RunStatus.FAILED: pb.RUN_STATUS_FAILED, RunStatus.CANCELLING: pb.RUN_STATUS_CANCELLING,
    RunStatus.CANCELLED: pb.RUN_STATUS_CANCELLED,
}
STATUS_FROM_PB = {v: k for k, v in STATUS_TO_PB.items()}
METHOD_TO_PB = {Method.LORA: pb.TRAINING_METHOD_LORA, Method.FULL: pb.TRAINING_METHOD_FULL}
ALGORITHMS = {pb.SWEEP_ALGORITHM_UNSPECIFIED: "random", pb.SWEEP_ALGORITHM_RANDOM: "random",
              pb.SWEEP_ALGORITHM_GRID: "grid"}
GOALS = {pb.GOAL_UNSPECIFIED: "min", pb.GOAL_MINIMIZE: "min", pb.GOAL_MAXIMIZE: "max"}
#: sweep paths name TrainingSpec fields; where the spec's own name differs, this maps one to the other
PATH_FROM_PB = {"hyperparameters.per_device_batch_size": "hyperparameters.micro_batch_size",
                "hyperparameters.num_epochs": "hyperparameters.epochs"}
PATH_TO_PB = {v: k for k, v in PATH_FROM_PB.items()}


def statuses_from_pb(values: list[int]) -> tuple[RunStatus, ...]:
    out = []
    for i, value in enumerate(values):
        if value not in STATUS_FROM_PB:
            raise InvalidArgument(f"unknown status {value}", field=f"statuses[{i}]")
        out.append(STATUS_FROM_PB[value])
    return tuple(out)


def _method(value: int, where: str) -> Method:
    if value in (pb.TRAINING_METHOD_UNSPECIFIED, pb.TRAINING_METHOD_LORA):
        return Method.LORA
    if value == pb.TRAINING_METHOD_FULL:
        return Method.FULL
    if value == pb.TRAINING_METHOD_QLORA:
        raise InvalidArgument("QLoRA is not supported; use lora or full", field=f"{where}method")
    raise InvalidArgument(f"unknown method {value}", field=f"{where}method")


def spec_from_pb(m: pb.TrainingSpec, where: str = "spec.") -> RunSpec:
    """A RunSpec from the proto; ``where`` prefixes field paths in errors."""
    if m.HasField("extra") and from_struct(m.extra):
        raise InvalidArgument("extra trainer arguments are not supported; use the spec's fields",
                              field=f"{where}extra")
    if m.distributed.HasField("deepspeed_config") and from_struct(m.distributed.deepspeed_config):
        raise InvalidArgument("a full DeepSpeed config is not supported; set deepspeed_stage and cpu_offload",
                              field=f"{where}distributed.deepspeed_config")
    d, h, lo = Hyperparameters(), m.hyperparameters, m.lora
    lora = LoraSpec(lo.r if lo.HasField("r") else LoraSpec.r, lo.alpha or LoraSpec.alpha,
                    lo.dropout or LoraSpec.dropout, tuple(lo.target_modules))
    hyper = Hyperparameters(
        learning_rate=h.learning_rate if h.HasField("learning_rate") else d.learning_rate,
        epochs=h.num_epochs or d.epochs, max_steps=h.max_steps, micro_batch_size=h.per_device_batch_size or
        d.micro_batch_size, gradient_accumulation_steps=h.gradient_accumulation_steps or d.gradient_accumulation_steps,
        max_seq_length=h.max_seq_length or d.max_seq_length, warmup_ratio=h.warmup_ratio, warmup_steps=h.warmup_steps,
        weight_decay=h.weight_decay, lr_scheduler=h.lr_scheduler or d.lr_scheduler, seed=h.seed,
        checkpoint_every_steps=h.checkpoint_every_steps, eval_every_steps=h.eval_every_steps, packing=h.packing,
        max_grad_norm=h.max_grad_norm or d.max_grad_norm)
    dist = m.distributed
    distributed = Distributed(workers=dist.num_workers or 1, use_gpu=dist.use_gpu,
                              gpus_per_worker=dist.gpus_per_worker, zero_stage=dist.deepspeed_stage,
                              cpu_offload=dist.cpu_offload, precision=dist.mixed_precision)
    return RunSpec(m.base_model, m.dataset_version, m.prompt_version, _method(m.method, where), lora, hyper,
                   distributed, m.output_model_name, m.code_version, dict(m.tags))


def spec_to_pb(s: RunSpec) -> pb.TrainingSpec:
    h, d = s.hyperparameters, s.distributed
    return pb.TrainingSpec(
        base_model=s.base_model, dataset_version=s.dataset_version, prompt_version=s.prompt_version,
        method=METHOD_TO_PB[s.method],
        lora=pb.LoraConfig(r=s.lora.r, alpha=s.lora.alpha, dropout=s.lora.dropout,
                           target_modules=list(s.lora.target_modules)),
        hyperparameters=pb.Hyperparameters(
            learning_rate=h.learning_rate, num_epochs=h.epochs, max_steps=h.max_steps,
            per_device_batch_size=h.micro_batch_size, gradient_accumulation_steps=h.gradient_accumulation_steps,
            max_seq_length=h.max_seq_length, warmup_ratio=h.warmup_ratio, weight_decay=h.weight_decay,
            lr_scheduler=h.lr_scheduler, seed=h.seed, checkpoint_every_steps=h.checkpoint_every_steps,
            eval_every_steps=h.eval_every_steps, packing=h.packing, warmup_steps=h.warmup_steps,
            max_grad_norm=h.max_grad_norm),
        distributed=pb.DistributedConfig(num_workers=d.workers, use_gpu=d.use_gpu, gpus_per_worker=d.gpus_per_worker,
                                         deepspeed_stage=d.zero_stage, mixed_precision=d.precision,
                                         cpu_offload=d.cpu_offload),
        output_model_name=s.output_model_name, code_version=s.code_version, tags=s.tags)


def _error(error: RunError | None) -> common_pb2.ErrorDetail | None:
    if error is None:
        return None
    return common_pb2.ErrorDetail(code=error.code, message=error.message,
                                  metadata={"step": str(error.step)} if error.step else {})


def checkpoint(c: Checkpoint) -> pb.Checkpoint:
    return pb.Checkpoint(step=c.step, uri=c.uri, metrics=c.metrics, created_at=timestamp(c.created_at))


def run(r: Run) -> pb.TrainingRun:
    p = r.progress
    return pb.TrainingRun(
        run_id=r.run_id, name=r.name, status=STATUS_TO_PB[r.status], spec=spec_to_pb(r.spec),
        progress=pb.Progress(step=p.step, total_steps=p.total_steps, epoch=p.epoch, metrics=p.metrics,
                             updated_at=timestamp(p.updated_at)),
        checkpoints=[checkpoint(c) for c in r.checkpoints], output_uri=r.output_uri, model_version=r.model_version,
        metrics=r.metrics, error=_error(r.error), sweep_id=r.sweep_id, ray_job_id=r.run_id if r.submitted else "",
        correlation_id=r.correlation_id, config_hash=r.config_hash, created_by=r.created_by,
        created_at=timestamp(r.created_at), started_at=timestamp(r.started_at), finished_at=timestamp(r.finished_at))


def progress_update(run_id: str, point: ProgressPoint) -> pb.StreamProgressResponse:
    return pb.StreamProgressResponse(
        run_id=run_id, status=STATUS_TO_PB[point.status],
        progress=pb.Progress(step=point.step, total_steps=point.total_steps, epoch=point.epoch, metrics=point.metrics,
                             updated_at=timestamp(point.occurred_at)),
        checkpoint=pb.Checkpoint(step=point.step, uri=point.checkpoint_uri, metrics=point.metrics,
                                 created_at=timestamp(point.occurred_at)) if point.checkpoint_uri else None,
        message=point.message, occurred_at=timestamp(point.occurred_at))


def sweep_spec_from_pb(m: pb.SweepSpec) -> SweepSpec:
    dims = []
    for i, p in enumerate(m.parameters):
        which, path = p.WhichOneof("space"), PATH_FROM_PB.get(p.path, p.path)
        if which == "choices":
            dims.append(Dimension(path, tuple(json_format.MessageToDict(p.choices))))
        elif which == "range":
            dims.append(Dimension(path, (), p.range.min, p.range.max, p.range.log_scale, p.range.integer))
        else:
            raise InvalidArgument("give choices or a range", field=f"parameters[{i}]")
    if m.algorithm not in ALGORITHMS:
        raise InvalidArgument(f"unsupported algorithm {m.algorithm}; use random or grid", field="algorithm")
    if m.goal not in GOALS:
        raise InvalidArgument(f"unknown goal {m.goal}", field="goal")
    return SweepSpec(spec_from_pb(m.base, "spec.base."), tuple(dims), ALGORITHMS[m.algorithm],
                     m.objective_metric or "val_loss", GOALS[m.goal], m.max_trials or 4,
                     m.max_concurrent_trials or 1, m.early_stopping if m.early_stopping != "none" else "",
                     m.quality_margin or 0.05)


def trial(t: Trial) -> pb.Trial:
    return pb.Trial(run_id=t.run_id, status=STATUS_TO_PB[t.status], parameters=struct(t.parameters),
                    objective=t.objective, compute_seconds=t.compute_seconds, tokens=t.tokens,
                    peak_memory_bytes=t.peak_memory_bytes, estimated_cost=t.estimated_cost,
                    stopped_early=t.stopped_early, steps=t.steps)


def sweep(s: Sweep) -> pb.Sweep:
    spec = s.spec
    params = []
    for d in spec.dimensions:
        path = PATH_TO_PB.get(d.path, d.path)
        if d.choices:
            value = pb.ParameterSpace(path=path)
            value.choices.extend(list(d.choices))
        else:
            value = pb.ParameterSpace(path=path, range=pb.Range(min=d.low or 0.0, max=d.high or 0.0,
                                                                log_scale=d.log_scale, integer=d.integer))
        params.append(value)
    return pb.Sweep(
        sweep_id=s.sweep_id, name=s.name, status=STATUS_TO_PB[s.status],
        spec=pb.SweepSpec(base=spec_to_pb(spec.base), parameters=params,
                          algorithm=pb.SWEEP_ALGORITHM_GRID if spec.algorithm == "grid" else pb.SWEEP_ALGORITHM_RANDOM,
                          objective_metric=spec.objective,
                          goal=pb.GOAL_MAXIMIZE if spec.goal == "max" else pb.GOAL_MINIMIZE,
                          max_trials=spec.max_trials, max_concurrent_trials=spec.max_concurrent_trials,
                          early_stopping=spec.early_stopping, quality_margin=spec.quality_margin),
        trial_run_ids=[t.run_id for t in s.trials], best_run_id=s.best_run_id, best_metric=s.best_metric,
        created_at=timestamp(s.created_at), finished_at=timestamp(s.finished_at), cheapest_run_id=s.cheapest_run_id,
        trials=[trial(t) for t in s.trials], error=_error(s.error), correlation_id=s.correlation_id)
