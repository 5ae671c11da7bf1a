"""Where shards run: in this process (a worker thread) or on a Ray cluster, one task per shard.

Both return the shards' results in plan order and call ``on_shard_done(done, total)`` as each shard
finishes. Plans go to Ray as JSON and results come back as plain dicts; a failed shard's domain
error travels as (code, message, field) and is raised here again as the same kind of error. Ray is
imported only by ``RayExecutor``: the service connects as a Ray driver only after a plain TCP probe
of the address answers.
"""

from __future__ import annotations

import abc
import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from llmops_common.errors import (
    DomainError,
    ErrorCode,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from llmops_common.ray_client import RayConnection
from llmops_evaluation.generation.plan import ShardPlan
from llmops_evaluation.generation.task import generate_shard

log = logging.getLogger(__name__)

OnShardDone = Callable[[int, int], Awaitable[None] | None]
_ERRORS: dict[str, type[DomainError]] = {cls.code.value: cls for cls in (
    NotFound, InvalidArgument, FailedPrecondition, Unavailable, ResourceExhausted)}
_INIT_SECONDS = 90.0  # the first connection starts this process's Ray core worker (slow on a busy machine)
_WAIT_SECONDS = 5.0  # one ray.wait; the loop goes on until every shard ended
NAMESPACE = "llmops-evaluation"


class Executor(abc.ABC):
    @abc.abstractmethod
    async def run(self, plans: list[ShardPlan], on_shard_done: OnShardDone) -> list[dict]:
        """Every shard's ``generate_shard`` result, in plan order; the first failure raises."""


async def _notify(callback: OnShardDone, done: int, total: int) -> None:
    outcome = callback(done, total)
    if inspect.isawaitable(outcome):
        await outcome


class LocalExecutor(Executor):
    """One shard after another in a worker thread (unit tests, the bench, a service without Ray)."""

    async def run(self, plans: list[ShardPlan], on_shard_done: OnShardDone) -> list[dict]:
        results = []
        for plan in plans:
            results.append(await asyncio.to_thread(generate_shard, plan))
            await _notify(on_shard_done, len(results), len(plans))
        return results


def run_shard(plan_json: str) -> dict[str, Any]:
    """The Ray task's body: a plan in, the result or the domain error out, as plain data."""
    try:
        return {"result": generate_shard(ShardPlan.model_validate_json(plan_json))}
    except DomainError as exc:
        return {"error": {"code": exc.code.value, "message": exc.message, "field": exc.field or ""}}


def shard_error(shard: int, error: dict[str, str]) -> DomainError:
    """The domain error a shard reported, as the same kind of error here."""
    cls = _ERRORS.get(error["code"])
    message = f"shard {shard}: {error['message']}"
    if cls is None:
        return DomainError(message, field=error["field"] or None, code=ErrorCode(error["code"]))
    return cls(message, field=error["field"] or None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}"


class RayExecutor(Executor):
    """One Ray task per shard, each reserving ``num_cpus_per_task`` CPUs (Ray sets the task's
    ``OMP_NUM_THREADS`` to that). Unavailable when the cluster does not answer."""

    def __init__(self, address: str, *, num_cpus_per_task: float = 1, connect_timeout: float = 5.0) -> None:
        self.address, self.num_cpus_per_task, self.connect_timeout = address, num_cpus_per_task, connect_timeout
        self._ray = RayConnection(address, NAMESPACE, connect_timeout=connect_timeout)

    async def run(self, plans: list[ShardPlan], on_shard_done: OnShardDone) -> list[dict]:
        if not plans:
            return []
        import ray
        from ray.exceptions import RayError, RayTaskError

        budget = self.connect_timeout + (0.0 if ray.is_initialized() else _INIT_SECONDS)
        try:
            await asyncio.wait_for(asyncio.to_thread(self._ray.connect), budget)
        except TimeoutError:
            raise Unavailable(f"the Ray cluster at {self.address} did not accept this process "
                              f"in {budget:g} s") from None
        task = ray.remote(num_cpus=self.num_cpus_per_task, max_retries=1)(run_shard)
        refs = [task.remote(plan.model_dump_json()) for plan in plans]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[dict | None] = [None] * len(plans)
        pending, done = list(refs), 0
        try:
            while pending:
                ready, pending = await asyncio.to_thread(ray.wait, pending, num_returns=1, timeout=_WAIT_SECONDS)
                for ref in ready:
                    shard = plans[index[ref]].shard
                    try:
                        reply = await asyncio.to_thread(ray.get, ref)
                    except RayTaskError as exc:  # the task raised something other than a domain error
                        reason = _first_line(exc.cause or exc)
                        raise DomainError(f"shard {shard}: generation failed: {reason}") from None
                    except RayError as exc:  # the worker or its node went away
                        raise Unavailable(f"shard {shard}: the Ray task was lost: {_first_line(exc)}") from None
                    if "error" in reply:
                        raise shard_error(shard, reply["error"])
                    results[index[ref]] = reply["result"]
                    done += 1
                    await _notify(on_shard_done, done, len(plans))
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
        return [r for r in results if r is not None]

    async def close(self) -> None:
        """Disconnect this process from the cluster (if it connected)."""
        import ray

        if ray.is_initialized():
            await asyncio.to_thread(ray.shutdown)
