"""``train_loop_per_worker`` of a run's ``TorchTrainer``: a ``loop.Session`` with Ray Train's
context, checkpoints through ``ray.train.report`` into the run's S3 storage, and rank 0 reporting to
the job's driver actor."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import ray
import ray.train

from llmops_training.jobs.loop import LossDiverged, Session
from llmops_training.jobs.protocol import NAMESPACE, TrainPlan, driver_name


class TrainHooks:
    def __init__(self, plan: TrainPlan, rank: int) -> None:
        self.plan, self.rank = plan, rank
        self.driver = ray.get_actor(driver_name(plan.run_id), namespace=NAMESPACE) if rank == 0 else None
        self._asked = 0.0

    def stop_requested(self) -> bool:
        """Rank 0 asks the driver whether the run was cancelled, at most once a second."""
        if self.driver is None or time.monotonic() - self._asked < 1.0:
            return False
        self._asked = time.monotonic()
        return bool(ray.get(self.driver.cancel_requested.remote()))

    def event(self, kind: str, **fields: Any) -> None:
        if self.driver is not None:
            self.driver.record.remote(kind, fields)

    def final(self, kind: str, **fields: Any) -> None:
        """A terminal event, delivered before the worker returns."""
        if self.driver is not None:
            ray.get(self.driver.record.remote(kind, fields))

    def checkpoint(self, step: int, folder: Path, metrics: dict[str, float]) -> str:
        name = f"step-{step:08d}"
        ray.train.report(metrics | {"step": step}, checkpoint=ray.train.Checkpoint.from_directory(str(folder)),
                         checkpoint_dir_name=name)
        uri = f"{self.plan.checkpoint_uri.rstrip('/')}/{self.plan.run_id}/{name}"
        self.event("checkpoint", step=step, uri=uri, metrics=metrics)
        return uri

    def evaluated(self, step: int, metrics: dict[str, float]) -> None:
        """Validation results travel with progress events for a run."""


def train_worker(config: dict[str, Any]) -> None:
    plan = TrainPlan.model_validate_json(config["plan"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    hooks = TrainHooks(plan, rank)
    with tempfile.TemporaryDirectory(prefix="llmops-train-") as work:
        session = Session(plan, rank, world, hooks, Path(work))
        checkpoint = ray.train.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as folder:
                session.restore(Path(folder))
            hooks.event("resumed", step=session.step, data={"pid": os.getpid()})
        else:
            hooks.event("started", data={"workers": world, "total_steps": session.total_steps, "pid": os.getpid()})
        try:
            if not session.run(hooks.stop_requested):
                return  # cancelled: the driver has ended the log
        except LossDiverged as exc:
            hooks.final("failed", step=exc.step, message=exc.reason)
            return
        metrics, files = session.finish()
        hooks.final("succeeded", uri=plan.output_uri, metrics=metrics, step=session.step, data={"files": files})
