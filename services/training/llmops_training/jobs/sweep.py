"""A sweep: Ray Tune over the plan's search space, with ASHA early stopping, each trial the same
``loop.Session`` as a run (one process, one CPU or GPU, no checkpoints, no output).

Each trial reports its validation figures to Tune (which ASHA reads) and ``trial`` events to the
sweep's driver: parameters, status, steps, the objective, compute seconds, tokens and peak memory,
from which the service prices it. The sweep ends with ``succeeded`` holding every trial's summary.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import ray
from ray import tune

from llmops_training.jobs.loop import LossDiverged, Session
from llmops_training.jobs.protocol import NAMESPACE, SearchDimension, SweepPlan, TrainPlan, driver_name
from llmops_training.jobs.s3fs import s3_filesystem

_NO_CHECKPOINTS = 1 << 40
_TRIAL_FIGURES = ("objective", "loss", "val_loss", "steps", "tokens", "compute_seconds", "peak_memory_bytes")


def domain(dimension: SearchDimension, algorithm: str) -> Any:
    """The Tune search domain of one dimension."""
    if dimension.choices:
        choices = list(dimension.choices)
        return tune.grid_search(choices) if algorithm == "grid" else tune.choice(choices)
    low, high = dimension.low, dimension.high
    if low is None or high is None:
        raise ValueError(f"{dimension.path}: a range needs low and high")
    if dimension.integer:
        sample = tune.lograndint if dimension.log_scale else tune.randint
        return sample(int(low), int(high) + 1)
    return tune.loguniform(low, high) if dimension.log_scale else tune.uniform(low, high)


def trial_plan(base: TrainPlan, parameters: dict[str, Any], trial: int) -> TrainPlan:
    """The base plan with the trial's parameters set by their dotted paths, as one process."""
    values = base.model_dump(mode="json")
    for path, value in parameters.items():
        *parents, leaf = path.split(".")
        node = values
        for part in parents:
            node = node[part]
        node[leaf] = value
    hp = values["hyperparameters"]
    hp["checkpoint_every_steps"] = _NO_CHECKPOINTS
    if not hp["eval_every_steps"]:
        hp["eval_every_steps"] = max(1, (hp["max_steps"] or 40) // 4)
    values["distributed"] = {**values["distributed"], "workers": 1, "zero_stage": 0, "cpu_offload": False}
    values.update(run_id=f"{base.run_id}-t{trial}", output_uri="")
    return TrainPlan.model_validate(values)


def trial_index(trial_id: str) -> int:
    """Tune numbers trials ``<experiment>_<nnnnn>``."""
    suffix = trial_id.rsplit("_", 1)[-1]
    return int(suffix) if suffix.isdigit() else abs(hash(trial_id)) % 100_000


class TrialHooks:
    def __init__(self, driver: Any, trial: int, parameters: dict[str, Any], objective: str) -> None:
        self.driver, self.trial, self.parameters, self.objective = driver, trial, parameters, objective
        self.session: Session | None = None

    def report_trial(self, status: str, step: int, metrics: dict[str, float], blocking: bool = False) -> None:
        call = self.driver.record.remote("trial", {
            "step": step, "metrics": metrics,
            "data": {"trial": self.trial, "parameters": self.parameters, "status": status, "steps": step}})
        if blocking:
            ray.get(call)

    def _figures(self) -> dict[str, float]:
        assert self.session is not None
        return {"compute_seconds": self.session.compute_seconds(), "tokens": self.session.tokens}

    def event(self, kind: str, **fields: Any) -> None:
        if kind == "progress" and self.session is not None:
            self.report_trial("running", fields["step"], fields["metrics"] | self._figures())

    def checkpoint(self, step: int, folder: Path, metrics: dict[str, float]) -> str:
        return ""

    def evaluated(self, step: int, metrics: dict[str, float]) -> None:
        figures = metrics | self._figures() | {"step": step}
        if self.objective in figures:
            figures["objective"] = figures[self.objective]
        tune.report(figures)


def run_trial(config: dict[str, Any], *, base_json: str, objective: str) -> None:
    base = TrainPlan.model_validate_json(base_json)
    trial = trial_index(tune.get_context().get_trial_id())
    driver = ray.get_actor(driver_name(base.run_id), namespace=NAMESPACE)
    hooks = TrialHooks(driver, trial, dict(config), objective)
    plan = trial_plan(base, config, trial)
    with tempfile.TemporaryDirectory(prefix="llmops-trial-") as work:
        session = Session(plan, 0, 1, hooks, Path(work))
        hooks.session = session
        hooks.report_trial("running", 0, {})
        try:
            session.run()
        except LossDiverged as exc:
            hooks.report_trial("failed", exc.step, {"compute_seconds": session.compute_seconds()}, blocking=True)
            tune.report({"step": exc.step, "objective": float("inf") if objective.endswith("loss") else 0.0})
            return
        metrics, _ = session.finish()
        if objective in metrics:
            metrics["objective"] = metrics[objective]
        hooks.report_trial("succeeded", session.step, metrics, blocking=True)
        tune.report(metrics | {"step": session.step})


def run_sweep(plan_json: str) -> None:
    """The driver's task for a sweep."""
    from ray.tune.schedulers import ASHAScheduler

    plan = SweepPlan.model_validate_json(plan_json)
    driver = ray.get_actor(driver_name(plan.sweep_id), namespace=NAMESPACE)
    base = plan.base.model_copy(update={"run_id": plan.sweep_id})
    max_steps = base.hyperparameters.max_steps or 10_000
    eval_every = base.hyperparameters.eval_every_steps or max(1, max_steps // 4)
    scheduler = (ASHAScheduler(time_attr="step", max_t=max_steps, grace_period=eval_every, reduction_factor=2)
                 if plan.early_stopping == "asha" else None)
    resources = {"gpu": base.distributed.gpus_per_worker or 1} if base.distributed.use_gpu else {"cpu": 1}
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, base_json=base.model_dump_json(), objective=plan.objective), resources)
    tuner = tune.Tuner(
        trainable,
        param_space={d.path: domain(d, plan.algorithm) for d in plan.dimensions},
        tune_config=tune.TuneConfig(metric="objective", mode=plan.goal, scheduler=scheduler,
                                    num_samples=1 if plan.algorithm == "grid" else plan.max_trials,
                                    max_concurrent_trials=plan.max_concurrent_trials),
        run_config=tune.RunConfig(name=plan.sweep_id, storage_path=f"{base.checkpoint_uri.removeprefix('s3://')}/sweeps",
                                  storage_filesystem=s3_filesystem(base.storage), verbose=0),
    )
    results = tuner.fit()
    trials = []
    for result in results:
        metrics = copy.deepcopy(result.metrics or {})
        steps = int(metrics.get("step", 0))
        status = "failed" if result.error else ("succeeded" if steps >= max_steps or "peak_memory_bytes" in metrics
                                                else "stopped")
        trials.append({"trial": trial_index(metrics.get("trial_id", "")), "status": status, "steps": steps,
                       "parameters": dict(result.config or {}),
                       "metrics": {k: float(metrics[k]) for k in _TRIAL_FIGURES if k in metrics}})
    ray.get(driver.record.remote("succeeded", {"metrics": {"trials": float(len(trials))},
                                               "data": {"trials": trials}}))
