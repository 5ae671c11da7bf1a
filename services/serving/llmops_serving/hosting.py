"""What this replica has loaded, and the routes that name it.

Engines are keyed by base model (one per base version, however many adapters ride on it); an
adapter version loads into its base's engine as ``name/version``. A route (``name@alias``,
``name/3``, or a local name) points at a ``Target``; switching a route is one dict assignment, so a
request sees the old target or the new one, never a mix, and requests already running keep the
adapter they started with (it is pinned until they finish).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmops_common.artifact_fetch import fetch_verified
from llmops_common.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from llmops_common.storage import ArtifactStore
from llmops_common.templating.schema import Template
from llmops_inference.engine import Engine, GenerationRequest
from llmops_inference.params import SamplingParams
from llmops_serving.domain.names import ModelName, parse_model_name
from llmops_serving.gateway import ModelCard
from llmops_serving.registry_client import RegistryReader, ReleaseInfo, VersionInfo

PromptSource = Callable[[str], Awaitable[Template]]


@dataclass(frozen=True)
class EngineOptions:
    device: str = "auto"
    max_batch: int = 64
    max_adapters: int = 16
    max_queue: int = 1024
    max_bases: int = 4


@dataclass(frozen=True)
class Target:
    engine: Engine
    adapter: str | None  # the engine's adapter name; None: the base itself
    adapter_folder: Path | None
    model_name: str
    version: int  # 0 for a local model
    model_version: str  # "models:/name/3" or "local:name"
    root: str
    parent: str | None
    release: ReleaseInfo | None = None
    template: Template | None = None
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Deployment:
    """A followed alias: what it serves, and how its last reload went."""

    route: str
    model_name: str
    alias: str
    target: Target | None = None
    status: str = "loading"  # loading | ready | updating | failed
    error: str = ""
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class Host:
    def __init__(self, store: ArtifactStore, registry: RegistryReader, prompts: PromptSource, *, cache: Path,
                 options: EngineOptions, smoke_prompt: str = "Hello", smoke_tokens: int = 4) -> None:
        self.store, self.registry, self.prompts = store, registry, prompts
        self.cache, self.options = cache, options
        self.smoke_prompt, self.smoke_tokens = smoke_prompt, smoke_tokens
        self.routes: dict[str, Target] = {}
        self.deployments: dict[str, Deployment] = {}
        self.engines: dict[str, Engine] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # -- requests ----------------------------------------------------------------------------------

    async def target(self, name: ModelName) -> Target:
        """The route's target, loading a version or a release not loaded yet (NotFound if unknown)."""
        route = str(name)
        found = self.routes.get(route)
        if found is not None:
            return found
        if name.alias is None and name.version is None:
            raise NotFound(f"the model {route!r} does not exist; name a release as {route}@alias or a version "
                           f"as {route}/3", field="model")
        async with self._lock(f"route:{route}"):
            if route not in self.routes:
                version, release = await self.registry.resolve(name)
                target = await self.prepare(version, release)
                if name.alias is not None:
                    await self.smoke(target)
                self.routes[route] = target
            return self.routes[route]

    async def ensure_adapter(self, target: Target) -> None:
        """Reload an adapter the engine's LRU evicted since the route was set."""
        if target.adapter is None or target.adapter in target.engine.adapters:
            return
        async with self._lock(f"adapter:{target.model_version}"):
            if target.adapter not in target.engine.adapters:
                assert target.adapter_folder is not None
                await asyncio.to_thread(target.engine.load_adapter, target.adapter, target.adapter_folder)

    # -- loading -----------------------------------------------------------------------------------

    async def prepare(self, version: VersionInfo, release: ReleaseInfo | None) -> Target:
        """Download, verify and load ``version`` beside whatever is served; route nothing."""
        template = await self.prompts(release.prompt_version) if release and release.prompt_version else None
        if version.kind == "adapter":
            if not version.base_model_version.startswith("models:/"):
                raise FailedPrecondition(f"{version.uri} names no base model version", field="base_model_version")
            base_version, _ = await self.registry.resolve(
                parse_model_name(version.base_model_version.removeprefix("models:/")))
            engine = await self._engine(base_version)
            folder = await self._fetch(version)
            adapter = version.uri.removeprefix("models:/")
            async with self._lock(f"adapter:{version.uri}"):
                if adapter not in engine.adapters:
                    await asyncio.to_thread(engine.load_adapter, adapter, folder)
            return Target(engine, adapter, folder, version.model_name, version.version, version.uri,
                          base_version.uri, base_version.uri, release, template)
        engine = await self._engine(version)
        return Target(engine, None, None, version.model_name, version.version, version.uri, version.uri, None,
                      release, template)

    async def _fetch(self, version: VersionInfo) -> Path:
        self.cache.mkdir(parents=True, exist_ok=True)
        return await asyncio.to_thread(fetch_verified, self.store, version.artifact_uri, version.sha256, self.cache)

    async def _engine(self, version: VersionInfo) -> Engine:
        async with self._lock(f"engine:{version.uri}"):
            engine = self.engines.get(version.uri)
            if engine is None:
                if len(self.engines) >= self.options.max_bases:
                    raise ResourceExhausted(f"this replica already holds {len(self.engines)} base models "
                                            "(max_bases)", retry_after=60)
                folder = await self._fetch(version)
                engine = await self._start_engine(folder, version.uri)
                self.engines[version.uri] = engine
            return engine

    async def _start_engine(self, folder: Path, name: str) -> Engine:
        o = self.options
        engine = await asyncio.to_thread(Engine.from_folder, folder, device=o.device, max_batch=o.max_batch,
                                         max_adapters=o.max_adapters, max_queue=o.max_queue, name=name)
        return engine.start()

    async def load_local(self, models: dict[str, str | dict[str, str]]) -> None:
        """Serve local folders by name: bases first, then adapters on them."""
        bases = {n: s for n, s in models.items() if isinstance(s, str) or "base" not in s}
        for name, spec in bases.items():
            path = Path(spec if isinstance(spec, str) else spec["path"])
            engine = await self._start_engine(path, f"local:{name}")
            self.engines[f"local:{name}"] = engine
            self.routes[name] = Target(engine, None, None, name, 0, f"local:{name}", name, None)
        for name, spec in models.items():
            if name in bases:
                continue
            assert isinstance(spec, dict)
            base = self.routes.get(spec["base"])
            if base is None or base.adapter is not None:
                raise InvalidArgument(f"local adapter {name!r} names {spec['base']!r}, which is no local base model",
                                      field="local_models")
            folder = Path(spec["path"])
            await asyncio.to_thread(base.engine.load_adapter, name, folder)
            self.routes[name] = Target(base.engine, name, folder, name, 0, f"local:{name}", base.root, base.root)

    async def smoke(self, target: Target) -> None:
        """A short greedy generation must give at least one token, each with a finite log-probability."""
        await self.ensure_adapter(target)
        ids = tuple(target.engine.tokenizer.encode(self.smoke_prompt)) or (0,)
        request = GenerationRequest(f"smoke-{uuid.uuid4().hex[:8]}", ids,
                                    SamplingParams(max_tokens=self.smoke_tokens, temperature=0.0, logprobs=0),
                                    target.adapter)
        tokens, finite = 0, True
        async for delta in target.engine.generate(request):
            tokens += len(delta.token_ids)
            finite = finite and all(math.isfinite(lp.logprob) for lp in delta.logprobs)
        if tokens == 0 or not finite:
            raise FailedPrecondition(f"the smoke test of {target.model_version} gave "
                                     f"{'no tokens' if tokens == 0 else 'a non-finite log-probability'}",
                                     field="smoke")

    # -- routes ------------------------------------------------------------------------------------

    def switch(self, route: str, target: Target) -> Target | None:
        previous = self.routes.get(route)
        self.routes[route] = target
        return previous

    def remove(self, route: str) -> None:
        self.routes.pop(route, None)
        self.deployments.pop(route, None)

    def models(self) -> list[ModelCard]:
        return [ModelCard(route, int(t.loaded_at.timestamp()), "llmops", t.root, t.parent)
                for route, t in sorted(self.routes.items())]

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()
        self.engines.clear()
        self.routes.clear()

    def describe(self) -> dict[str, Any]:
        return {"engines": sorted(self.engines), "routes": sorted(self.routes),
                "deployments": {r: d.status for r, d in sorted(self.deployments.items())}}
