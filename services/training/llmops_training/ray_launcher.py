"""``JobLauncher`` on a Ray cluster: each job is a detached, named driver actor (``jobs.driver``).

The service connects as a Ray driver (``ray.init(address)``), only after a plain TCP probe of the
address answers, so an unreachable cluster costs a failed connect, not a blocked service. Every Ray
call runs in a worker thread with a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from llmops_common.errors import Unavailable
from llmops_common.ray_client import RayConnection
from llmops_training.jobs.protocol import NAMESPACE, JobEvent, SweepPlan, TrainPlan
from llmops_training.launcher import JobLauncher, JobLost

log = logging.getLogger(__name__)
_CALL_SECONDS = 30.0
_INIT_SECONDS = 90.0  # the first connection: ray.init starts this process's core worker (slow on a busy machine)


class RayLauncher(JobLauncher):
    def __init__(self, address: str, *, connect_timeout: float = 5.0) -> None:
        self.address, self.connect_timeout = address, connect_timeout
        self._ray = RayConnection(address, NAMESPACE, connect_timeout=connect_timeout)

    async def _call(self, work: Any, *args: Any) -> Any:
        def run() -> Any:
            self._ray.connect()
            return work(*args)

        import ray

        budget = _CALL_SECONDS + self.connect_timeout + (0.0 if ray.is_initialized() else _INIT_SECONDS)
        return await asyncio.wait_for(asyncio.to_thread(run), budget)

    async def reachable(self) -> bool:
        try:
            await self._call(lambda: None)
        except Exception as exc:  # noqa: BLE001 - reachability is a yes or no, with the reason logged
            log.warning("the Ray cluster at %s is not reachable: %s", self.address, exc)
            return False
        return True

    async def submit(self, job_id: str, plan: TrainPlan | SweepPlan) -> None:
        from llmops_training.jobs import driver

        await self._call(driver.create, job_id, plan)

    async def poll(self, job_id: str, after: int) -> list[JobEvent]:
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError

        from llmops_training.jobs import driver

        def fetch() -> list[dict[str, Any]]:
            try:
                return ray.get(driver.handle(job_id).poll.remote(after), timeout=_CALL_SECONDS)
            except (ValueError, RayActorError) as exc:
                raise JobLost(f"the job's driver is gone ({type(exc).__name__})") from None
            except GetTimeoutError:
                raise Unavailable("the job's driver did not answer in time") from None

        return [JobEvent.model_validate(event) for event in await self._call(fetch)]

    async def cancel(self, job_id: str) -> None:
        import ray
        from ray.exceptions import RayActorError

        from llmops_training.jobs import driver

        def stop() -> None:
            try:
                ray.get(driver.handle(job_id).cancel.remote(), timeout=_CALL_SECONDS)
            except (ValueError, RayActorError):
                return  # already gone

        await self._call(stop)

    async def close(self) -> None:
        import ray

        if ray.is_initialized():
            await asyncio.to_thread(ray.shutdown)
