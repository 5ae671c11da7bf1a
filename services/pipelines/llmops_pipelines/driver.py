"""The driver: a background loop that fires due schedules and acts on due runs (requests a pending
step, times out an unanswered one, looks again at a waiting promotion). Woken by the subscribers when
an answer moved a run; otherwise every ``poll_interval_seconds``. Any number of replicas may run it:
each run and schedule is taken under ``FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from llmops_pipelines import handlers
from llmops_pipelines.store import UnitOfWorkFactory

log = logging.getLogger(__name__)


class Driver:
    def __init__(self, uow: UnitOfWorkFactory, services: handlers.Services, poll_interval: float) -> None:
        self.uow, self.services, self.poll_interval = uow, services, poll_interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                await handlers.fire_schedules(self.uow, self.services, handlers.now())
                await handlers.drive_due_runs(self.uow, self.services)
            except Exception:  # an outage of Postgres: log, and try again on the next pass
                log.exception("pipeline driver pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait(stop), self.poll_interval)

    async def _wait(self, stop: asyncio.Event) -> None:
        waits = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
