"""Hot reload: follow registry aliases.

On ``llmops.registry.alias.moved`` (every replica gets every move) the new version is downloaded,
verified and loaded beside the old one, smoke-tested, and only then routed: one assignment, so no
request fails during the switch. Any failure keeps the old version serving and is reported as
``llmops.serving.deployment.failed`` with the stage and reason; success as ``.updated``, which the
registry adds to the version's lineage. At start-up a replica loads what every followed alias holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from llmops_common.artifact_fetch import ArtifactMismatch
from llmops_common.errors import DomainError, Unavailable
from llmops_common.events.envelope import EventPayload
from llmops_common.events.registry import AliasMoved
from llmops_common.events.serving import DeploymentFailed, DeploymentUpdated
from llmops_serving.domain.names import ModelName
from llmops_serving.hosting import Deployment, Host

log = logging.getLogger(__name__)

Emit = Callable[[EventPayload, str | None], Awaitable[None]]  # payload, correlation id


class Reloader:
    def __init__(self, host: Host, emit: Emit, *, replica: str, models: list[str]) -> None:
        self.host, self.emit, self.replica, self.models = host, emit, replica, set(models)
        self._lock = asyncio.Lock()  # one reload at a time per replica: memory, and ordered switches

    def follows(self, model_name: str) -> bool:
        return not self.models or model_name in self.models

    async def startup(self, stop: asyncio.Event, *, retry_seconds: float = 5.0) -> bool:
        """Load what every followed alias holds now, retrying while the registry is unreachable; False
        if ``stop`` came first."""
        while not stop.is_set():
            try:
                for model_name, alias in await self.host.registry.aliases(sorted(self.models)):
                    await self.reload(model_name, alias, None)
                return True
            except Unavailable as exc:
                log.warning("the current aliases cannot be loaded yet (%s); retrying", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), retry_seconds)
        return False

    async def on_alias_moved(self, moved: AliasMoved, correlation_id: str | None) -> None:
        if not self.follows(moved.model_name):
            return
        route = str(ModelName(moved.model_name, alias=moved.alias))
        if moved.new_version is None:
            async with self._lock:
                self.host.remove(route)
            return
        await self.reload(moved.model_name, moved.alias, correlation_id, expected=moved.new_version)

    async def _failed(self, deployment: Deployment, route: str, version: int, stage: str, reason: str,
                      correlation_id: str | None) -> None:
        log.warning("reload of %s to version %s failed at %s: %s", route, version, stage, reason)
        deployment.status = "ready" if deployment.target else "failed"
        deployment.error, deployment.updated_at = f"{stage}: {reason}", datetime.now(UTC)
        await self.emit(DeploymentFailed(deployment=route, model_name=deployment.model_name, alias=deployment.alias,
                                         version=version, replica=self.replica, stage=stage, reason=reason),
                        correlation_id)

    async def reload(self, model_name: str, alias: str, correlation_id: str | None, *,
                     expected: int | None = None) -> None:
        name = ModelName(model_name, alias=alias)
        route = str(name)
        async with self._lock:
            deployment = self.host.deployments.setdefault(route, Deployment(route, model_name, alias))
            stage, version = "resolve", expected or 0
            try:
                info, release = await self.host.registry.resolve(name)
                version = info.version
                current = deployment.target
                if current is not None and current.version == info.version and current.release == release:
                    return  # a redelivery, or a replica that already loaded it
                deployment.status = "updating" if current else "loading"
                stage = "load"
                target = await self.host.prepare(info, release)
                stage = "smoke"
                await self.host.smoke(target)
                stage = "switch"
                previous = self.host.switch(route, target)
            except Unavailable:
                if stage == "resolve":  # the registry is down: the event is redelivered later
                    raise
                await self._failed(deployment, route, version, stage, "a dependency is unavailable", correlation_id)
                return
            except (DomainError, OSError, RuntimeError, ValueError) as exc:
                stage = "verify" if isinstance(exc, ArtifactMismatch) else stage
                await self._failed(deployment, route, version, stage, str(exc)[:1000], correlation_id)
                return
            deployment.target, deployment.status, deployment.error = target, "ready", ""
            deployment.updated_at = datetime.now(UTC)
            log.info("%s now serves %s", route, target.model_version)
            await self.emit(DeploymentUpdated(
                deployment=route, model_name=model_name, version=target.version, alias=alias, replica=self.replica,
                previous_version=previous.version if previous else None, model_version_uri=target.model_version,
                prompt_version=(release.prompt_version or None) if release else None), correlation_id)
