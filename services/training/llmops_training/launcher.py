"""The port through which the service starts, follows and stops jobs: Ray in production
(``ray_launcher.RayLauncher``), a fake in unit tests. A caller cannot tell them apart."""

from __future__ import annotations

from abc import ABC, abstractmethod

from llmops_training.jobs.protocol import JobEvent, SweepPlan, TrainPlan


class JobLost(Exception):
    """The job's driver is gone (cluster restarted, actor killed) without a terminal event."""


class JobLauncher(ABC):
    @abstractmethod
    async def reachable(self) -> bool:
        """Whether the cluster answers now (connecting first if needed); never raises."""

    @abstractmethod
    async def submit(self, job_id: str, plan: TrainPlan | SweepPlan) -> None:
        """Start the job; idempotent per ``job_id`` (a job already running is left alone).
        Raises ``llmops_common.errors.Unavailable`` when the cluster cannot be reached."""

    @abstractmethod
    async def poll(self, job_id: str, after: int) -> list[JobEvent]:
        """The job's events with ``seq > after``, in order. Raises ``JobLost`` when the job is gone
        and ``Unavailable`` when the cluster cannot be reached."""

    @abstractmethod
    async def cancel(self, job_id: str) -> None:
        """Stop the job and free its resources; the log then ends with ``cancelled``. A job that is
        already gone is not an error."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect (running jobs keep running)."""
