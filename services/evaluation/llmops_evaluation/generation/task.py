"""One shard's generations: every model's output for every example, through serving's engine.

Runs in a Ray worker or in-process. The folders are downloaded and verified against the registry's
sha256 (``fetch_verified``, cached by digest); models that share a base share one ``Engine``, each
adapter loaded under its role's name. Every (model, example) request is submitted at once, so the
engine's continuous batching runs them together (mixed-adapter batches included). A per-example
failure (a prompt that fills the context, a failed step) becomes that example's ``error``; a model
that cannot be fetched or loaded fails the shard, naming its role. Reference perplexity runs after
generation, through ``Engine.score`` (between the engine's steps).

Prompts are tokenized as serving does (BOS, then the text without special tokens). ``max_tokens``
is cut to the room the prompt leaves in the context (the engine would stop there anyway). Sampled
generation is seeded per example (the run's seed and the record id), so a rerun, and any sharding,
gives the same text; greedy is the default.

The result is plain data: role -> the shard's ``Generation`` fields as dicts, in example order, and
``WALL_KEY`` -> {role: seconds from the first submission to that model's last output}.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from llmops_common.errors import DomainError, FailedPrecondition
from llmops_evaluation.domain.results import Generation
from llmops_evaluation.generation.plan import ModelArtifacts, ShardPlan

WALL_KEY = "__wall_seconds__"


def generate_shard(plan: ShardPlan) -> dict[str, Any]:
    """The shard's generations (blocking: run it in a thread or a Ray task)."""
    if not plan.examples:
        return {**{m.role: [] for m in plan.models}, WALL_KEY: {m.role: 0.0 for m in plan.models}}
    from minio import Minio

    from llmops_common.storage import ArtifactStore

    storage = plan.storage
    store = ArtifactStore(Minio(storage.endpoint, access_key=storage.access_key, secret_key=storage.secret_key,
                                secure=storage.secure, region=storage.region))
    # "" is the system's temp folder, not the Ray worker's working directory
    cache = Path(plan.cache_dir) if plan.cache_dir else Path(tempfile.gettempdir()) / "llmops-evaluation-models"
    cache.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, str], list[ModelArtifacts]] = defaultdict(list)
    for model in plan.models:
        groups[model.base_folder].append(model)
    engines: list[tuple[Any, list[ModelArtifacts]]] = []
    try:
        for (uri, sha256), models in groups.items():
            engines.append((_engine(store, cache, uri, sha256, models, plan), models))
        result, walls = asyncio.run(_generate(engines, plan))
        if plan.perplexity:
            for engine, models in engines:
                _add_perplexity(engine, models, plan, result)
    finally:
        for engine, _ in engines:
            engine.close()
    return {**{role: [dataclasses.asdict(g) for g in gens] for role, gens in result.items()}, WALL_KEY: walls}


def _engine(store: Any, cache: Path, uri: str, sha256: str, models: list[ModelArtifacts], plan: ShardPlan) -> Any:
    from llmops_common.artifact_fetch import fetch_verified
    from llmops_inference.engine import Engine

    roles = ", ".join(m.role for m in models)
    folder = _fetch(fetch_verified, store, uri, sha256, cache, roles)
    adapters = [m for m in models if m.kind == "adapter"]
    requests = len(plan.examples) * len(models)
    try:
        engine = Engine.from_folder(folder, device="auto", max_batch=plan.max_batch, max_queue=requests + 1,
                                    max_adapters=max(1, len(adapters)), name=f"eval-{plan.shard}-{sha256[:8]}")
    except Exception as exc:  # noqa: BLE001 - any loading failure fails the shard, with its reason
        raise _model_error(roles, "cannot load its base model", exc) from None
    try:
        for model in adapters:
            adapter_folder = _fetch(fetch_verified, store, model.artifact_uri, model.sha256, cache, model.role)
            try:
                engine.load_adapter(model.role, adapter_folder)
            except Exception as exc:  # noqa: BLE001
                raise _model_error(model.role, "cannot load its adapter", exc) from None
    except BaseException:
        engine.close()
        raise
    return engine.start()


def _fetch(fetch_verified: Any, store: Any, uri: str, sha256: str, cache: Path, roles: str) -> Path:
    try:
        return fetch_verified(store, uri, sha256, cache)
    except DomainError as exc:
        raise type(exc)(f"model {roles}: {exc.message}", field="models") from None
    except Exception as exc:  # noqa: BLE001 - the S3 client's transport errors, among others
        raise _model_error(roles, f"cannot fetch {uri}", exc) from None


def _model_error(roles: str, what: str, exc: Exception) -> FailedPrecondition:
    reason = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {str(exc)[:300]}"
    return FailedPrecondition(f"model {roles} {what}: {reason}", field="models")


def request_seed(seed: int, record_id: str) -> int:
    """The sampling seed of one example: the same for every model (paired samples) and any sharding."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{record_id}".encode()).digest()[:8], "big") >> 1


async def _generate(engines: list[tuple[Any, list[ModelArtifacts]]],
                    plan: ShardPlan) -> tuple[dict[str, list[Generation]], dict[str, float]]:
    # tokenize everything before the first submission: the engine thread detokenizes meanwhile
    prompts = {id(engine): _prompt_ids(engine.tokenizer, [p for _, p, _ in plan.examples]) for engine, _ in engines}
    started = time.perf_counter()
    calls, owners = [], []
    for engine, models in engines:
        for model in models:
            adapter = model.role if model.kind == "adapter" else None
            for (record_id, _, _), ids in zip(plan.examples, prompts[id(engine)], strict=True):
                calls.append(_one(engine, record_id, ids, adapter, plan.params))
                owners.append(model.role)
    outcomes = await asyncio.gather(*calls)
    result: dict[str, list[Generation]] = {m.role: [] for m in plan.models}
    walls = {m.role: 0.0 for m in plan.models}
    for role, (generation, ended) in zip(owners, outcomes, strict=True):
        result[role].append(generation)
        walls[role] = max(walls[role], ended - started)
    return result, walls


def _prompt_ids(tokenizer: Any, prompts: list[str]) -> list[tuple[int, ...]]:
    bos = (tokenizer.bos_token_id,) if tokenizer.bos_token_id is not None else ()
    return [bos + tuple(tokenizer.encode(p, add_special_tokens=False)) for p in prompts]


async def _one(engine: Any, record_id: str, ids: tuple[int, ...], adapter: str | None,
               params: dict[str, Any]) -> tuple[Generation, float]:
    from llmops_inference.engine import GenerationRequest
    from llmops_inference.params import SamplingParams

    begun = time.perf_counter()
    room = engine.max_context - len(ids)
    if room < 1:
        error = f"the prompt ({len(ids)} tokens) leaves no room in the model's context of {engine.max_context} tokens"
        return Generation(record_id, error=error, prompt_tokens=len(ids)), begun
    temperature = float(params.get("temperature", 0.0))
    sampling = SamplingParams(max_tokens=min(int(params.get("max_tokens", 128)), room), temperature=temperature,
                              top_p=float(params.get("top_p", 1.0)), top_k=int(params.get("top_k", 0)),
                              stop=tuple(params.get("stop", ())))
    if not sampling.greedy:
        sampling = dataclasses.replace(sampling, seed=request_seed(int(params.get("seed", 0)), record_id))
    text, last = [], None
    try:
        async for delta in engine.generate(GenerationRequest(record_id, ids, sampling, adapter)):
            text.append(delta.text)
            last = delta
    except DomainError as exc:
        ended = time.perf_counter()
        return Generation(record_id, error=exc.message, prompt_tokens=len(ids),
                          latency_ms=(ended - begun) * 1000), ended
    ended = time.perf_counter()
    assert last is not None  # a stream ends with a finish_reason or raises
    return Generation(record_id, output="".join(text), prompt_tokens=len(ids), output_tokens=last.completion_tokens,
                      latency_ms=(ended - begun) * 1000, finish_reason=last.finish_reason or ""), ended


def _add_perplexity(engine: Any, models: list[ModelArtifacts], plan: ShardPlan,
                    result: dict[str, list[Generation]]) -> None:
    from llmops_inference.scoring import ScoreRequest, split_pair

    pairs = [split_pair(engine.tokenizer, prompt, reference) for _, prompt, reference in plan.examples]
    for model in models:
        adapter = model.role if model.kind == "adapter" else None
        scores = engine.score([ScoreRequest(p, c, adapter) for p, c in pairs])
        result[model.role] = [
            dataclasses.replace(g, reference_nll=s.nll, reference_tokens=s.tokens) if s is not None and s.tokens else g
            for g, s in zip(result[model.role], scores, strict=True)]
