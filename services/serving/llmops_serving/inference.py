"""The gateway the transports call: name -> target, request -> prompt tokens and checked sampling
parameters, then the engine; every request is measured and logged once it ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from llmops_common.errors import NotFound
from llmops_common.events.serving import InferenceCompleted
from llmops_inference.engine import GenerationRequest, Stream
from llmops_inference.outputs import Delta
from llmops_serving import metrics
from llmops_serving.domain import sampling
from llmops_serving.domain.chat import chat_prompt
from llmops_serving.domain.names import parse_model_name
from llmops_serving.gateway import ContextTooLong, Gateway, Generation, InferenceCall, ModelCard
from llmops_serving.hosting import Host, Target
from llmops_serving.inference_log import InferenceLog


@dataclass(frozen=True)
class Limits:
    default_max_tokens: int
    max_tokens_limit: int
    redact_text: bool = False


class ServingGateway(Gateway):
    def __init__(self, host: Host, log: InferenceLog, limits: Limits, *, ready: Any = None) -> None:
        self.host, self.log, self.limits = host, log, limits
        self.ready = ready  # an asyncio.Event set once start-up loading is done

    def models(self) -> list[ModelCard]:
        return self.host.models()

    def health(self) -> dict[str, Any]:
        loading = self.ready is not None and not self.ready.is_set()
        failed = [r for r, d in self.host.deployments.items() if d.status == "failed"]
        status = "loading" if loading else "degraded" if failed else "ok"
        return {"status": status, **self.host.describe(), "failed": failed}

    async def start(self, call: InferenceCall) -> Generation:
        target = await self.host.target(parse_model_name(call.model))
        tokenizer = target.engine.tokenizer
        if call.messages is not None:
            text, field = chat_prompt(call.messages, template=target.template, tokenizer=tokenizer), "messages"
        else:
            text, field = call.prompt or "", "prompt"
        bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        ids = tuple(bos + tokenizer.encode(text, add_special_tokens=False))
        release = target.release.parameters if target.release else {}
        params, asked = sampling.resolve(call.sampling, release, default_max_tokens=self.limits.default_max_tokens,
                                         max_tokens_limit=self.limits.max_tokens_limit)
        context = target.engine.max_context
        if len(ids) >= context:
            raise ContextTooLong(f"this model's maximum context length is {context} tokens; the prompt has "
                                 f"{len(ids)}", field=field)
        if len(ids) + params.max_tokens > context:
            if asked:
                raise ContextTooLong(f"this model's maximum context length is {context} tokens; the prompt has "
                                     f"{len(ids)} and max_tokens asks {params.max_tokens} more", field="max_tokens")
            room = context - len(ids)
            params = replace(params, max_tokens=room, min_tokens=min(params.min_tokens, room))
        request = GenerationRequest(call.request_id, ids, params, target.adapter)
        await self.host.ensure_adapter(target)
        try:
            stream = target.engine.submit(request)
        except NotFound:  # evicted between the check and the submit
            await self.host.ensure_adapter(target)
            stream = target.engine.submit(request)
        return LoggedGeneration(stream, call, target, self.log, self.limits.redact_text)


class LoggedGeneration(Generation):
    def __init__(self, stream: Stream, call: InferenceCall, target: Target, log: InferenceLog, redact: bool) -> None:
        self.stream, self.call, self.target, self.log, self.redact = stream, call, target, log, redact
        self.request_id = call.request_id
        self.model = call.model
        self.model_version = target.model_version
        self.prompt_tokens = len(stream.request.prompt_ids)
        self._started = time.perf_counter()
        self._first: float | None = None
        self._text: list[str] = []
        self._completion_tokens = 0
        self._finish = ""
        self._recorded = False

    def __aiter__(self) -> AsyncIterator[Delta]:
        return self._deltas()

    async def _deltas(self) -> AsyncIterator[Delta]:
        try:
            async for delta in self.stream:
                if self._first is None and delta.token_ids:
                    self._first = time.perf_counter()
                self._text.append(delta.text)
                self._completion_tokens = delta.completion_tokens
                if delta.finish_reason:
                    self._finish = delta.finish_reason
                yield delta
        except (asyncio.CancelledError, GeneratorExit):  # the client went away
            self._finish = self._finish or "abort"
            raise
        except Exception:
            self._finish = self._finish or "error"
            raise
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        self.stream.cancel()
        if not self._recorded:
            self._recorded = True
            self._record(self._finish or "abort")

    def _record(self, finish: str) -> None:
        now = time.perf_counter()
        model, api = self.call.model, self.call.api
        metrics.REQUESTS.labels(model, api, finish).inc()
        metrics.LATENCY.labels(model, api).observe(now - self._started)
        if self._first is not None:
            metrics.TTFT.labels(model, api).observe(self._first - self._started)
        metrics.TOKENS.labels(model, "prompt").inc(self.prompt_tokens)
        metrics.TOKENS.labels(model, "completion").inc(self._completion_tokens)
        call, target = self.call, self.target
        prompt: Any = None
        if not self.redact:
            prompt = call.prompt if call.messages is None else [{"role": m.role, "content": m.content}
                                                                for m in call.messages]
        self.log.record(InferenceCompleted(
            request_id=call.request_id, deployment=call.model, model_name=target.model_name, version=target.version,
            release=target.release.alias if target.release else "", api=call.api, prompt=prompt,
            output=None if self.redact else "".join(self._text), prompt_tokens=self.prompt_tokens,
            completion_tokens=self._completion_tokens, latency_ms=(now - self._started) * 1000,
            ttft_ms=((self._first or now) - self._started) * 1000, finish_reason=finish, key_id=call.key_id,
            user=call.user, session=call.session, metadata=dict(call.metadata), created_at=datetime.now(UTC)),
            correlation_id=call.request_id)
