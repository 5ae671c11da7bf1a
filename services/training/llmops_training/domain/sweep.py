"""Sweeps: a search over a run spec's hyperparameters, run as one Ray Tune job whose trials are each
a tracked run; what each trial cost; the best trial and the cheapest one within a quality margin.

Cost: a trial's ``compute_seconds`` are worker wall time times the CPUs (or GPUs) it held, priced per
CPU-hour (or GPU-hour). The cheapest acceptable trial is the one of least cost whose objective lies
within ``quality_margin`` (relative, e.g. 0.05 = 5%) of the best.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote
from llmops_training.domain.run import RunError, RunStatus
from llmops_training.domain.spec import BOUNDS, RunSpec, spec_from_dict

#: the paths a sweep may vary (numeric fields of the spec; ``lora.*`` only for LoRA runs)
SWEEPABLE = tuple(p for p in BOUNDS if p.startswith(("hyperparameters.", "lora.")))
INTEGER_PATHS = frozenset(p for p in SWEEPABLE if p.endswith(("_steps", "_size", "_length", ".r", ".seed")))
OBJECTIVES = ("val_loss", "loss")
MAX_TRIALS = 256
MAX_CHOICES = 64


@dataclass(frozen=True)
class Dimension:
    path: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    log_scale: bool = False
    integer: bool = False


@dataclass(frozen=True)
class SweepSpec:
    base: RunSpec
    dimensions: tuple[Dimension, ...]
    algorithm: str = "random"  # random or grid
    objective: str = "val_loss"
    goal: str = "min"  # min or max
    max_trials: int = 4
    max_concurrent_trials: int = 1
    early_stopping: str = "asha"  # asha or ""
    quality_margin: float = 0.05

    def validate(self) -> SweepSpec:
        base = self.base.validate()
        if not 1 <= len(self.dimensions) <= 16:
            raise InvalidArgument("give 1 to 16 parameters to vary", field="parameters")
        for i, dim in enumerate(self.dimensions):
            _check_dimension(base, dim, f"parameters[{i}]")
        if len({d.path for d in self.dimensions}) != len(self.dimensions):
            raise InvalidArgument("each path at most once", field="parameters")
        if self.algorithm not in ("random", "grid"):
            raise InvalidArgument(f"unsupported algorithm {quote(self.algorithm)}; use random or grid",
                                  field="algorithm")
        if self.algorithm == "grid" and any(not d.choices for d in self.dimensions):
            raise InvalidArgument("a grid needs choices for every parameter", field="algorithm")
        if self.objective not in OBJECTIVES:
            raise InvalidArgument(f"unknown objective {quote(self.objective)}; use val_loss or loss",
                                  field="objective_metric")
        if self.goal not in ("min", "max"):
            raise InvalidArgument("use min or max", field="goal")
        if not 1 <= self.max_trials <= MAX_TRIALS:
            raise InvalidArgument(f"must lie between 1 and {MAX_TRIALS}", field="max_trials")
        if not 1 <= self.max_concurrent_trials <= self.max_trials:
            raise InvalidArgument("must lie between 1 and max_trials", field="max_concurrent_trials")
        if self.early_stopping not in ("", "asha"):
            raise InvalidArgument(f"unknown scheduler {quote(self.early_stopping)}; use asha or leave it empty",
                                  field="early_stopping")
        if not (math.isfinite(self.quality_margin) and 0 <= self.quality_margin <= 10):
            raise InvalidArgument("must lie between 0 and 10", field="quality_margin")
        dims = tuple(Dimension(d.path, tuple(int(v) for v in d.choices) if d.path in INTEGER_PATHS else d.choices,
                               d.low, d.high, d.log_scale, d.integer or d.path in INTEGER_PATHS)
                     for d in self.dimensions)
        return SweepSpec(base, dims, self.algorithm, self.objective, self.goal, self.max_trials,
                         self.max_concurrent_trials, self.early_stopping, self.quality_margin)


def _check_dimension(base: RunSpec, dim: Dimension, where: str) -> None:
    if dim.path not in SWEEPABLE:
        raise InvalidArgument(f"cannot sweep {quote(dim.path)}; sweepable: {', '.join(SWEEPABLE)}",
                              field=f"{where}.path")
    if dim.path.startswith("lora.") and base.method.value != "lora":
        raise InvalidArgument("LoRA settings only apply to LoRA runs", field=f"{where}.path")
    low, high = BOUNDS[dim.path]
    if dim.choices:
        if len(dim.choices) > MAX_CHOICES:
            raise InvalidArgument(f"at most {MAX_CHOICES} choices", field=f"{where}.choices")
        for j, value in enumerate(dim.choices):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or not low <= value <= high or (dim.path in INTEGER_PATHS and value != int(value)):
                raise InvalidArgument(f"{quote(value)} is not a valid {dim.path} ({low:g}..{high:g})",
                                      field=f"{where}.choices[{j}]")
        return
    if dim.low is None or dim.high is None or not (math.isfinite(dim.low) and math.isfinite(dim.high)):
        raise InvalidArgument("give choices or a finite range", field=f"{where}.range")
    if not low <= dim.low < dim.high <= high:
        raise InvalidArgument(f"need {low:g} <= min < max <= {high:g}", field=f"{where}.range")
    if dim.log_scale and dim.low <= 0:
        raise InvalidArgument("a log scale needs min > 0", field=f"{where}.range")


@dataclass(frozen=True)
class Prices:
    cpu_hour: float
    gpu_hour: float

    def cost(self, compute_seconds: float, *, gpu: bool) -> float:
        return round(max(compute_seconds, 0.0) / 3600.0 * (self.gpu_hour if gpu else self.cpu_hour), 6)


@dataclass
class Trial:
    run_id: str
    index: int
    status: RunStatus = RunStatus.RUNNING
    parameters: dict[str, Any] = field(default_factory=dict)
    objective: float | None = None
    compute_seconds: float = 0.0
    tokens: int = 0
    peak_memory_bytes: int = 0
    estimated_cost: float = 0.0
    stopped_early: bool = False
    steps: int = 0


def trial_run_id(sweep_id: str, index: int) -> str:
    """Trial run ids are derived, so a redelivered trial event updates the same run."""
    return str(uuid.uuid5(uuid.UUID(sweep_id), f"trial-{index}"))


TRIAL_STATUS = {"running": RunStatus.RUNNING, "succeeded": RunStatus.SUCCEEDED, "stopped": RunStatus.SUCCEEDED,
                "failed": RunStatus.FAILED}


def update_trial(trial: Trial, data: dict[str, Any], metrics: dict[str, float], objective: str, prices: Prices,
                 gpu: bool) -> Trial:
    """A trial after a ``trial`` event (data: status, parameters, steps; metrics: latest figures)."""
    status = str(data.get("status", "running"))
    trial.status = TRIAL_STATUS.get(status, trial.status)
    trial.stopped_early = status == "stopped"
    if isinstance(data.get("parameters"), dict):
        trial.parameters = dict(data["parameters"])
    trial.steps = max(trial.steps, int(data.get("steps") or 0))
    value = metrics.get("objective", metrics.get(objective))
    if value is not None and math.isfinite(value):
        trial.objective = float(value)
    trial.compute_seconds = float(metrics.get("compute_seconds", trial.compute_seconds))
    trial.tokens = int(metrics.get("tokens", trial.tokens))
    trial.peak_memory_bytes = int(metrics.get("peak_memory_bytes", trial.peak_memory_bytes))
    trial.estimated_cost = prices.cost(trial.compute_seconds, gpu=gpu)
    return trial


def best_trial(trials: list[Trial], goal: str) -> Trial | None:
    """The trial with the best objective among those that reported one and did not fail."""
    scored = [t for t in trials if t.objective is not None and t.status is not RunStatus.FAILED]
    if not scored:
        return None
    sign = 1 if goal == "min" else -1
    return min(scored, key=lambda t: (sign * t.objective, t.index))


def cheapest_within(trials: list[Trial], goal: str, margin: float) -> Trial | None:
    """The least costly trial whose objective is within ``margin`` (relative) of the best."""
    best = best_trial(trials, goal)
    if best is None or best.objective is None:
        return None
    slack = abs(best.objective) * margin
    def acceptable(t: Trial) -> bool:
        if t.objective is None or t.status is RunStatus.FAILED:
            return False
        return t.objective <= best.objective + slack if goal == "min" else t.objective >= best.objective - slack
    sign = 1 if goal == "min" else -1
    return min((t for t in trials if acceptable(t)), key=lambda t: (t.estimated_cost, sign * t.objective, t.index))


@dataclass
class Sweep:
    sweep_id: str
    name: str
    spec: SweepSpec
    created_by: str
    config_hash: str = ""
    status: RunStatus = RunStatus.PENDING
    request_id: str = ""
    correlation_id: str = ""
    resolved: dict[str, str] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    job_cursor: int = 0
    submitted: bool = False
    cancel_sent: bool = False
    trials: list[Trial] = field(default_factory=list)
    best_run_id: str = ""
    best_metric: float = 0.0
    cheapest_run_id: str = ""
    error: RunError | None = None
    created_at: datetime | None = None
    queued_at: datetime | None = None
    finished_at: datetime | None = None

    def rank(self) -> None:
        """Name the best trial and the cheapest acceptable one."""
        best = best_trial(self.trials, self.spec.goal)
        cheapest = cheapest_within(self.trials, self.spec.goal, self.spec.quality_margin)
        self.best_run_id = best.run_id if best else ""
        self.best_metric = best.objective if best and best.objective is not None else 0.0
        self.cheapest_run_id = cheapest.run_id if cheapest else ""


def sweep_spec_to_dict(spec: SweepSpec) -> dict[str, Any]:
    return {"base": spec.base.to_dict(),
            "dimensions": [{"path": d.path, "choices": list(d.choices), "low": d.low, "high": d.high,
                            "log_scale": d.log_scale, "integer": d.integer} for d in spec.dimensions],
            "algorithm": spec.algorithm, "objective": spec.objective, "goal": spec.goal,
            "max_trials": spec.max_trials, "max_concurrent_trials": spec.max_concurrent_trials,
            "early_stopping": spec.early_stopping, "quality_margin": spec.quality_margin}


def sweep_spec_from_dict(data: dict[str, Any]) -> SweepSpec:
    """The inverse of ``sweep_spec_to_dict`` (stored rows only: they were validated when written)."""
    dims = tuple(Dimension(d["path"], tuple(d["choices"]), d["low"], d["high"], d["log_scale"], d["integer"])
                 for d in data["dimensions"])
    rest = {k: v for k, v in data.items() if k not in ("base", "dimensions")}
    return SweepSpec(spec_from_dict(data["base"]), dims, **rest)
