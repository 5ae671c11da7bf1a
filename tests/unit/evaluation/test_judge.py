"""The LLM judge: score parsing (examples and properties), judge_outputs' failure accounting, and
OpenAIJudge against a real HTTP server that answers like /v1/chat/completions."""

from __future__ import annotations

import asyncio
import math
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from llmops_common.errors import FailedPrecondition
from llmops_common.templating import ChatMessage, Template, VariableSpec, VariableType
from llmops_evaluation.domain.results import Example, Generation, ModelOutputs
from llmops_evaluation.domain.spec import JudgeSpec
from llmops_evaluation.judge import Judge, JudgeParseError, OpenAIJudge, check_template, judge_outputs, parse_score

SPEC = JudgeSpec(model="judge@production", prompt_version="rubric/1", min_score=1.0, max_score=5.0)
TEMPLATE = Template(text="Q: {{ input }}\nA: answer={{ output }}\nRef: {{ reference }}",
                    variables=(VariableSpec("input"), VariableSpec("output"), VariableSpec("reference")))


# -- parse_score ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "score"), [
    ("Reasoning: fine.\nScore: 4", 4.0),
    ("Score: 2\nOn reflection, better.\nScore: 5", 5.0),
    ("**Score:** 3/5", 3.0),
    ("  score = 2.5 out of 5", 2.5),
    ("> SCORE: 1.", 1.0),
    ("### Score: +4", 4.0),
    ("Final score: 4 (solid)", 4.0),
    ("Overall Score = 3", 3.0),
])
def test_parse_score_reads_the_last_score_line(answer: str, score: float) -> None:
    assert parse_score(answer, 1, 5) == score


@pytest.mark.parametrize(("answer", "reason"), [
    ("It is good. 5/5", "no 'Score: N' line"),
    ("Score: excellent", "has no number"),
    ("Score: nan", "has no number"),
    ("Score: inf", "has no number"),
    ("Score: 1e999", "not a finite number"),
    ("Score: 7", "score 7 is outside 1..5"),
    ("Score: 4\nScore: 0", "score 0 is outside 1..5"),
    ("The score is 4", "no 'Score: N' line"),
    ("Subscore: 4", "no 'Score: N' line"),
])
def test_parse_score_refuses_unusable_answers(answer: str, reason: str) -> None:
    with pytest.raises(JudgeParseError, match=re.escape(reason)):
        parse_score(answer, 1, 5)


@given(st.text(), st.floats(-1e6, 1e6), st.floats(0, 1e6))
def test_parse_score_never_raises_anything_else_and_respects_the_range(answer: str, low: float, width: float) -> None:
    high = low + width
    try:
        value = parse_score(answer, low, high)
    except JudgeParseError as exc:
        assert exc.reason
    else:
        assert math.isfinite(value) and low <= value <= high


@given(st.text(alphabet=st.characters(exclude_characters="\n")), st.floats(1, 5),
       st.sampled_from(["Score: {}", "**Score**: {}", "score:{} / 5"]))
def test_parse_score_finds_a_score_after_any_preamble(preamble: str, score: float, line: str) -> None:
    assert parse_score(f"{preamble}\n{line.format(repr(score))}", 1, 5) == score


def test_parse_score_refuses_long_hostile_answers() -> None:
    # quadratic backtracking on these would run past the test timeout
    for answer in ("score " * 20_000, "a" * 200_000 + "Score", ("x score" + " " * 50) * 5_000):
        with pytest.raises(JudgeParseError):
            parse_score(answer, 1, 5)


def test_parse_score_refuses_non_text() -> None:
    with pytest.raises(JudgeParseError, match="not text"):
        parse_score(None, 1, 5)  # type: ignore[arg-type]


# -- judge_outputs with an in-process judge -----------------------------------------------------------


@dataclass
class ScriptedJudge(Judge):
    """Answers each prompt by a rule over its text; records what it was asked."""

    asked: list[tuple[str, list[str]]] = field(default_factory=list)

    async def score(self, model: str, prompts: list[str]) -> list[str | Exception]:
        self.asked.append((model, prompts))
        answers: list[str | Exception] = []
        for prompt in prompts:
            if "crash" in prompt:
                answers.append(ConnectionError("judge unreachable"))
            else:
                found = re.search(r"answer=(\S+)", prompt)
                answers.append(f"Reasoning.\nScore: {found[1] if found else '?'}")
        return answers


def _outputs(*generations: Generation) -> ModelOutputs:
    return ModelOutputs("candidate", "models:/m/1", tuple(generations))


EXAMPLES = tuple(Example(f"r{i}", f"prompt {i}", f"ref {i}") for i in range(5))


async def test_judge_outputs_scores_and_counts_every_failure_with_its_reason() -> None:
    outputs = _outputs(Generation("r0", "4"), Generation("r1", error="prompt too long"), Generation("r2", "9"),
                       Generation("r3", "crash"), Generation("r4", "words"))
    judge, progress = ScriptedJudge(), []
    scores, failures = await judge_outputs(judge, SPEC, TEMPLATE, EXAMPLES, outputs,
                                           on_progress=lambda d, t: progress.append((d, t)))
    assert scores[0] == 4.0 and np.isnan(scores[1:]).all()
    reasons = {f.record_id: f.reason for f in failures}
    assert reasons["r1"] == "no output to judge (generation failed)"
    assert reasons["r2"] == "score 9 is outside 1..5"
    assert reasons["r3"].startswith("the judge call failed: ConnectionError: judge unreachable")
    assert reasons["r4"].startswith("the score line has no number")
    assert [f.record_id for f in failures] == ["r1", "r2", "r3", "r4"]
    assert progress[-1] == (5, 5)
    assert judge.asked[0][0] == "judge@production"
    assert judge.asked[0][1][0] == "Q: prompt 0\nA: answer=4\nRef: ref 0"  # the failed generation is never sent


async def test_judge_outputs_fills_only_declared_variables_and_prints_outputs_literally() -> None:
    template = Template(messages=(ChatMessage("system", "Grade."), ChatMessage("user", "answer={{ output }}")),
                        variables=(VariableSpec("output"),))
    judge = ScriptedJudge()
    scores, failures = await judge_outputs(judge, SPEC, template, EXAMPLES[:1], _outputs(Generation("r0", "{{ 7*7 }}")))
    assert judge.asked[0][1] == ["system: Grade.\nuser: answer={{ 7*7 }}\n"]
    assert failures[0].reason.startswith("the score line has no number")


async def test_an_output_the_prompt_cannot_hold_is_a_render_failure_not_a_crash() -> None:
    template = Template(text="answer={{ output }}", variables=(VariableSpec("output", type=VariableType.INTEGER),))
    outputs = _outputs(Generation("r0", "x"))
    scores, failures = await judge_outputs(ScriptedJudge(), SPEC, template, EXAMPLES[:1], outputs)
    assert np.isnan(scores[0])
    assert failures[0].reason.startswith("the judge prompt could not be rendered: InvalidArgument:")


async def test_progress_is_reported_when_nothing_reaches_the_judge() -> None:
    progress: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int) -> None:
        progress.append((done, total))

    judge = ScriptedJudge()
    _, failures = await judge_outputs(judge, SPEC, TEMPLATE, EXAMPLES[:2],
                                      _outputs(Generation("r0", error="x"), Generation("r1", error="y")), on_progress)
    assert progress == [(2, 2)] and judge.asked == [] and len(failures) == 2


def test_check_template_refuses_prompts_the_evaluation_cannot_fill() -> None:
    with pytest.raises(FailedPrecondition, match="does not declare the variable 'output'") as caught:
        check_template(Template(text="{{ input }}", variables=(VariableSpec("input"),)), "rubric/1")
    assert caught.value.field == "spec.judge.prompt_version"
    with pytest.raises(FailedPrecondition, match="'rubric'"):
        check_template(Template(text="{{ output }}{{ rubric }}",
                                variables=(VariableSpec("output"), VariableSpec("rubric"))))
    check_template(Template(text="{{ output }}{{ tone }}",
                            variables=(VariableSpec("output"), VariableSpec("tone", required=False))))


# -- OpenAIJudge over HTTP ------------------------------------------------------------------------------


@dataclass
class Server:
    requests: list[dict] = field(default_factory=list)
    active: int = 0
    peak: int = 0


def _app(server: Server) -> Starlette:
    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        server.requests.append(body)
        server.active += 1
        server.peak = max(server.peak, server.active)
        try:
            await asyncio.sleep(0.02)
        finally:
            server.active -= 1
        content = body["messages"][0]["content"]
        if "BOOM" in content:
            return JSONResponse({"error": {"message": "bad prompt", "type": "invalid_request_error"}}, status_code=400)
        found = re.search(r"answer=(\d)", content)
        text = f"Fair.\nScore: {found[1]}" if found else "I will not score this."
        return JSONResponse({"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": text}}],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@contextmanager
def serving(server: Server) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(_app(server), log_level="warning", lifespan="off", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if uv.started:
            break
        time.sleep(0.01)
    assert uv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()


async def test_openai_judge_asks_greedily_within_its_concurrency_and_captures_failed_calls() -> None:
    server = Server()
    with serving(server) as url:
        async with OpenAIJudge(url, "key", concurrency=2, max_tokens=64, max_retries=0) as judge:
            answers = await judge.score("judge@production", ["answer=3", "BOOM", "answer=x", *["answer=1"] * 5])
    assert answers[0] == "Fair.\nScore: 3"
    assert "bad prompt" in str(answers[1]) and isinstance(answers[1], Exception)
    assert answers[2] == "I will not score this."
    assert len(answers) == 8 and server.peak == 2
    assert {(r["model"], r["temperature"], r["max_tokens"]) for r in server.requests} == {("judge@production", 0, 64)}
    assert [{"role": "user", "content": "answer=3"}] in [r["messages"] for r in server.requests]


async def test_judge_outputs_through_openai_judge_end_to_end() -> None:
    outputs = _outputs(Generation("r0", "5"), Generation("r1", "BOOM"), Generation("r2", "none"),
                       Generation("r3", error="timeout"), Generation("r4", "2"))
    with serving(Server()) as url:
        async with OpenAIJudge(url, "key", max_retries=0) as judge:
            scores, failures = await judge_outputs(judge, SPEC, TEMPLATE, EXAMPLES, outputs)
    assert scores[0] == 5.0 and scores[4] == 2.0 and np.isnan(scores[1:4]).all()
    reasons = {f.record_id: f.reason for f in failures}
    assert reasons["r1"].startswith("the judge call failed: BadRequestError:")
    assert reasons["r2"] == "no 'Score: N' line"
    assert reasons["r3"] == "no output to judge (generation failed)"


async def test_an_unreachable_judge_fails_each_call_not_the_run() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    async with OpenAIJudge(f"http://127.0.0.1:{port}/v1", "key", max_retries=0, timeout=5) as judge:
        scores, failures = await judge_outputs(judge, SPEC, TEMPLATE, EXAMPLES[:2],
                                               _outputs(Generation("r0", "1"), Generation("r1", "2")))
    assert np.isnan(scores).all()
    assert all(f.reason.startswith("the judge call failed: APIConnectionError") for f in failures)
