"""LLM-as-judge: a served model scores each output with a judge prompt from the prompt store.

The prompt is rendered by the shared sandboxed renderer with the variables ``input`` (the rendered
model input), ``output`` and ``reference`` (only those it declares); the judge's answer must end its
verdict with a ``Score: N`` line. A failed generation, a prompt that cannot be rendered, a failed
call and an answer without a usable score are judge failures with a reason: they leave NaN in the
scores and are reported, never silently dropped.
"""

from __future__ import annotations

import abc
import asyncio
import inspect
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import numpy as np
import openai

from llmops_common.errors import DomainError, FailedPrecondition
from llmops_common.templating import Template, as_text, render
from llmops_common.validation import quote
from llmops_evaluation.domain.results import Example, JudgeFailure, ModelOutputs
from llmops_evaluation.domain.spec import JudgeSpec

VARIABLES = ("input", "output", "reference")
#: prompts rendered and sent between two progress reports
BATCH = 64
#: characters of an error kept in a failure's reason
REASON_CHARS = 300

# The last line holding "Score: <rest>" (any case; words or markdown before it, "=" for ":"), then the
# first number in <rest>. Tried at line starts only, with no nested quantifiers: linear in the answer.
_SCORE_LINE = re.compile(r"^[^\n]*?\bscore\b[ \t*_]*[:=](?P<rest>[^\n]*)$", re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(r"[ \t*_]*(?P<n>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)")


class JudgeParseError(ValueError):
    """A judge answer without a usable score; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_score(answer: str, low: float, high: float) -> float:
    """The number on the answer's last ``Score: N`` line, if finite and within ``low..high``."""
    if not isinstance(answer, str):
        raise JudgeParseError(f"the answer is a {type(answer).__name__}, not text")
    found = deque(_SCORE_LINE.finditer(answer), maxlen=1)
    if not found:
        raise JudgeParseError("no 'Score: N' line")
    last = found[0]
    number = _NUMBER.match(last["rest"])
    if number is None:
        raise JudgeParseError(f"the score line has no number: {quote(last['rest'].strip())}")
    value = float(number["n"])
    if not math.isfinite(value):
        raise JudgeParseError(f"score {quote(number['n'])} is not a finite number")
    if not low <= value <= high:
        raise JudgeParseError(f"score {value:g} is outside {low:g}..{high:g}")
    return value


class Judge(abc.ABC):
    """A model that answers judge prompts."""

    @abc.abstractmethod
    async def score(self, model: str, prompts: list[str]) -> list[str | Exception]:
        """One answer per prompt, in order; a prompt whose call failed gets its exception instead."""


class OpenAIJudge(Judge):
    """A judge served behind an OpenAI-compatible chat API (serving's REST API), at most
    ``concurrency`` calls in flight, greedy (temperature 0)."""

    def __init__(self, base_url: str, api_key: str, *, concurrency: int = 8, timeout: float = 60.0,
                 max_tokens: int = 256, max_retries: int = 2) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries)
        self._concurrency = concurrency
        self._max_tokens = max_tokens

    async def score(self, model: str, prompts: list[str]) -> list[str | Exception]:
        slots = asyncio.Semaphore(self._concurrency)

        async def ask(prompt: str) -> str:
            async with slots:
                reply = await self._client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": prompt}], temperature=0,
                    max_tokens=self._max_tokens)
            if not reply.choices or reply.choices[0].message.content is None:
                raise ValueError("the judge returned no text")
            return reply.choices[0].message.content

        return list(await asyncio.gather(*(ask(p) for p in prompts), return_exceptions=True))

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> OpenAIJudge:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def check_template(template: Template, prompt_version: str = "") -> None:
    """Refuse a judge prompt that cannot be filled from an example (FAILED_PRECONDITION)."""
    declared = {v.name for v in template.variables}
    where = "spec.judge.prompt_version"
    if "output" not in declared:
        raise FailedPrecondition(f"judge prompt {quote(prompt_version)} does not declare the variable 'output'",
                                 field=where)
    unfillable = sorted(v.name for v in template.variables
                        if v.name not in VARIABLES and v.required and v.default is None)
    if unfillable:
        raise FailedPrecondition(f"judge prompt {quote(prompt_version)} requires variables the evaluation cannot "
                                 f"fill: {[quote(n) for n in unfillable[:5]]} (it fills {', '.join(VARIABLES)})",
                                 field=where)


def _reason(prefix: str, error: BaseException) -> str:
    text = error.message if isinstance(error, DomainError) else str(error)
    return f"{prefix}: {type(error).__name__}: {text[:REASON_CHARS]}"


def _render(template: Template, declared: frozenset[str], example: Example, output: str) -> str:
    values = {"input": example.prompt, "output": output, "reference": example.reference}
    return as_text(render(template, {k: v for k, v in values.items() if k in declared}))


def _render_batch(template: Template, declared: frozenset[str], batch: Sequence[tuple[int, Example, str]]
                  ) -> list[tuple[int, str | None, str]]:
    """(index, prompt or None, failure reason) per item."""
    rendered: list[tuple[int, str | None, str]] = []
    for index, example, output in batch:
        try:
            rendered.append((index, _render(template, declared, example, output), ""))
        except DomainError as exc:
            rendered.append((index, None, _reason("the judge prompt could not be rendered", exc)))
    return rendered


async def _notify(on_progress: Callable[[int, int], Awaitable[None] | None] | None, done: int, total: int) -> None:
    if on_progress is not None:
        result = on_progress(done, total)
        if inspect.isawaitable(result):
            await result


async def judge_outputs(judge: Judge, spec: JudgeSpec, template: Template, examples: Sequence[Example],
                        outputs: ModelOutputs,
                        on_progress: Callable[[int, int], Awaitable[None] | None] | None = None,
                        ) -> tuple[np.ndarray, tuple[JudgeFailure, ...]]:
    """Judge scores of ``outputs``, one per example (NaN where judging failed), and the failures.

    Prompts render in a worker thread (the renderer is synchronous) and go to the judge ``BATCH``
    at a time; ``on_progress(done, total)`` follows each batch."""
    if len(examples) != len(outputs.generations):
        raise ValueError("examples and generations are not aligned")
    check_template(template, spec.prompt_version)
    declared = frozenset(v.name for v in template.variables)
    total = len(examples)
    scores = np.full(total, np.nan)
    reasons: dict[int, str] = {}
    todo: list[tuple[int, Example, str]] = []
    for index, (example, generation) in enumerate(zip(examples, outputs.generations, strict=True)):
        if generation.failed:
            reasons[index] = "no output to judge (generation failed)"
        else:
            todo.append((index, example, generation.output))
    done = total - len(todo)
    for start in range(0, len(todo), BATCH):
        rendered = await asyncio.to_thread(_render_batch, template, declared, todo[start:start + BATCH])
        for index, _, reason in rendered:
            if reason:
                reasons[index] = reason
        asked = [(index, prompt) for index, prompt, _ in rendered if prompt is not None]
        answers = await judge.score(spec.model, [prompt for _, prompt in asked]) if asked else []
        for (index, _), answer in zip(asked, answers, strict=True):
            if isinstance(answer, BaseException):
                reasons[index] = _reason("the judge call failed", answer)
                continue
            try:
                scores[index] = parse_score(answer, spec.min_score, spec.max_score)
            except JudgeParseError as exc:
                reasons[index] = exc.reason
        done += len(rendered)
        await _notify(on_progress, done, total)
    if not todo:
        await _notify(on_progress, done, total)
    failures = tuple(JudgeFailure(examples[i].record_id, reasons[i]) for i in sorted(reasons))
    return scores, failures
