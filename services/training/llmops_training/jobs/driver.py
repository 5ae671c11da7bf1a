"""The driver of one job on Ray: a detached, named actor that owns the job's work and its event log.

The work itself runs in a Ray task the driver starts (``TorchTrainer.fit`` for a run, ``Tuner.fit``
for a sweep). Cancelling is cooperative first: the workers ask the driver at most once a second and
stop together, so Ray Train ends normally and frees their placement group; the task is killed only
if it does not stop in time.
Workers append events to the log through the actor; the service reads it with a cursor and can
re-attach after a restart because the actor is named and outlives its creator. A driver whose job
ended leaves after ``LINGER_SECONDS``, long after the service has read the end.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import ray

from llmops_training.jobs.protocol import NAMESPACE, SweepPlan, TrainPlan, driver_name

log = logging.getLogger(__name__)
LINGER_SECONDS = 900.0
CANCEL_GRACE_SECONDS = 30.0
_REASON_CHARS = 600


def failure_reason(exc: BaseException) -> str:
    """A one-paragraph reason from an error raised through Ray (its last meaningful line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cause = next((line for line in reversed(lines) if not line.startswith(("File ", "^", "~"))), type(exc).__name__)
    return f"{type(exc).__name__}: {cause}"[:_REASON_CHARS]


@ray.remote(num_cpus=0, max_concurrency=16, max_restarts=0)
class JobDriver:
    def __init__(self, plan_json: str, kind: str) -> None:
        self._plan_json, self._kind = plan_json, kind
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._task: Any = None
        self._ended = threading.Event()
        self._cancelled = threading.Event()

    # -- the log ------------------------------------------------------------------------------------
    def record(self, kind: str, fields: dict[str, Any]) -> int:
        """Append an event; events after a terminal one are dropped. Returns its seq (0 if dropped)."""
        with self._lock:
            if self._ended.is_set():
                return 0
            event = {"seq": len(self._events) + 1, "kind": kind, "at": time.time(), **fields}
            self._events.append(event)
            if kind in ("succeeded", "failed", "cancelled"):
                self._ended.set()
            return event["seq"]

    def poll(self, after: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events[max(0, after):])

    # -- the work -----------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the work once; later calls (a re-submitted job) do nothing."""
        with self._lock:
            if self._task is not None:
                return False
            if self._kind == "sweep":
                from llmops_training.jobs.sweep import run_sweep

                self._task = ray.remote(num_cpus=0, max_calls=1)(run_sweep).remote(self._plan_json)
            else:
                self._task = ray.remote(num_cpus=0, max_calls=1)(run_training).remote(self._plan_json)
        threading.Thread(target=self._watch, daemon=True, name="job-watch").start()
        return True

    def _watch(self) -> None:
        try:
            ray.get(self._task)
        except BaseException as exc:  # noqa: BLE001 - whatever ended the work is reported, not raised
            self.record("failed", {"message": failure_reason(exc)})
        else:
            self.record("failed", {"message": "the job ended without reporting a result"})
        self._ended.wait()
        time.sleep(LINGER_SECONDS)
        ray.kill(ray.get_runtime_context().current_actor)

    def cancel(self) -> None:
        """End the log with ``cancelled`` and stop the work: the workers see the request at their
        next step and return together (Ray Train then removes their placement group); work that has
        not stopped within ``CANCEL_GRACE_SECONDS`` (still loading, or stuck) is killed."""
        self.record("cancelled", {"message": "cancelled on request"})
        self._cancelled.set()
        if self._task is None:
            return
        ready, _ = ray.wait([self._task], timeout=CANCEL_GRACE_SECONDS)
        if not ready:
            ray.cancel(self._task, force=True)

    def cancel_requested(self) -> bool:
        return self._cancelled.is_set()


def run_training(plan_json: str) -> None:
    """The driver's task for a run: one ``TorchTrainer`` over the plan's workers; the workers report
    progress and the outcome to the driver themselves."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from llmops_training.jobs.s3fs import s3_filesystem
    from llmops_training.jobs.worker import train_worker

    plan = TrainPlan.model_validate_json(plan_json)
    dist = plan.distributed
    resources = {"GPU": dist.gpus_per_worker} if dist.use_gpu and dist.gpus_per_worker else None
    trainer = TorchTrainer(
        train_worker,
        train_loop_config={"plan": plan_json},
        scaling_config=ScalingConfig(num_workers=dist.workers, use_gpu=dist.use_gpu,
                                     resources_per_worker=resources),
        run_config=RunConfig(name=plan.run_id, storage_path=plan.checkpoint_uri.removeprefix("s3://"),
                             storage_filesystem=s3_filesystem(plan.storage),
                             failure_config=FailureConfig(max_failures=plan.max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=2)),
    )
    trainer.fit()


def handle(job_id: str) -> Any:
    """The driver actor of ``job_id``; raises ``ValueError`` if there is none."""
    return ray.get_actor(driver_name(job_id), namespace=NAMESPACE)


def create(job_id: str, plan: TrainPlan | SweepPlan) -> Any:
    """The job's driver, created detached (or the existing one), with its work started."""
    kind = "sweep" if isinstance(plan, SweepPlan) else "train"
    driver = JobDriver.options(name=driver_name(job_id), namespace=NAMESPACE, lifetime="detached",
                               get_if_exists=True).remote(plan.model_dump_json(), kind)
    ray.get(driver.start.remote())
    return driver
