"""``llmops chat`` against a small real HTTP server that imitates the OpenAI chat endpoint (SSE ending
with ``data: [DONE]``, usage on request, OpenAI error bodies): one streamed answer, ``--json``, the
server's error message on an unknown model, a conversation's history, the local stack's defaults, and
Ctrl-C closing the answer's connection without ending the session."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from typer.testing import CliRunner

from llmops_cli.chat import default_url
from llmops_cli.main import app

MODEL = "tiny@production"
HANG = "hang"  # a prompt answered with one piece, then nothing until the client goes away
TOO_LONG = "too long"  # a prompt refused with 400, as one beyond the context is
KEY = "sk-test-key"
USAGE = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}


@dataclass
class FakeOpenAI:
    """What the server saw (request bodies and Authorization headers), and the hanging stream's end."""

    url: str = ""
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    hang_closed: threading.Event = field(default_factory=threading.Event)
    hang_finished: threading.Event = field(default_factory=threading.Event)

    def answer(self, body: dict[str, Any]) -> list[str]:
        """The reply's pieces: numbered by request, naming the last user message."""
        return [f"reply {len(self.requests)}", " to ", body["messages"][-1]["content"]]


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(body)}\n\n"


def _app(fake: FakeOpenAI) -> Starlette:
    async def completions(request: Request) -> Response:
        body = await request.json()
        fake.requests.append(body)
        fake.auth.append(request.headers.get("authorization", ""))
        if body["model"] != MODEL:
            error = {"message": f"The model {body['model']!r} does not exist", "type": "invalid_request_error",
                     "param": "model", "code": "model_not_found"}
            return JSONResponse({"error": error}, status_code=404)
        if body["messages"][-1]["content"] == TOO_LONG:
            error = {"message": "the prompt is beyond the model's context", "type": "invalid_request_error",
                     "param": "messages", "code": "context_length_exceeded"}
            return JSONResponse({"error": error}, status_code=400)
        if body["messages"][-1]["content"] == HANG:
            return StreamingResponse(_hang(), media_type="text/event-stream")
        pieces = fake.answer(body)
        if not body.get("stream"):
            return JSONResponse({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(pieces)},
                             "finish_reason": "stop"}],
                "usage": USAGE})

        async def events() -> Any:
            for piece in pieces:
                yield _chunk({"role": "assistant", "content": piece})
            yield _chunk({}, "stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
                         "choices": [], "usage": USAGE}
                yield f"data: {json.dumps(usage)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def _hang() -> Any:
        try:
            yield _chunk({"role": "assistant", "content": "partial"})
            for _ in range(600):  # 30 s at most; a client that goes away ends it at the next send
                await asyncio.sleep(0.05)
                yield ": keep-alive\n\n"
            fake.hang_finished.set()
        finally:
            fake.hang_closed.set()

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    uv = uvicorn.Server(uvicorn.Config(_app(fake), host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the fake server did not start"
        time.sleep(0.02)
    fake.port = uv.servers[0].sockets[0].getsockname()[1]
    fake.url = f"http://127.0.0.1:{fake.port}/v1"
    yield fake
    uv.should_exit = True
    thread.join(10)


def chat(server: FakeOpenAI, *args: str, input: str | None = None):
    return CliRunner().invoke(app, ["chat", *args, "--url", server.url, "--api-key", KEY], input=input)


def test_one_shot_streams_the_answer_and_reports_usage_on_stderr(server):
    result = chat(server, MODEL, "hello there", "--system", "Be brief.", "--temperature", "0.5",
                  "--max-tokens", "7", "--seed", "42")
    assert result.exit_code == 0, result.output
    assert result.stdout == "reply 1 to hello there\n"
    assert "usage: 3 prompt + 5 completion tokens" in result.stderr
    [request] = server.requests
    assert request["stream"] is True and request["stream_options"] == {"include_usage": True}
    assert request["messages"] == [{"role": "system", "content": "Be brief."},
                                   {"role": "user", "content": "hello there"}]
    assert (request["temperature"], request["max_tokens"], request["seed"]) == (0.5, 7, 42)
    assert server.auth == [f"Bearer {KEY}"]


def test_json_prints_the_chat_completion_unstreamed(server):
    result = chat(server, MODEL, "hi", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "reply 1 to hi" and body["usage"] == USAGE
    assert not server.requests[0].get("stream")
    assert "temperature" not in server.requests[0]  # unset options are the server's to default


def test_json_needs_a_prompt(server):
    result = chat(server, MODEL, "--json")
    assert result.exit_code != 0 and "--json needs a PROMPT" in result.output
    assert server.requests == []


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_an_unknown_model_prints_the_servers_message_and_exits_non_zero(server, extra):
    result = chat(server, "nope@production", "hi", *extra)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error (404): The model 'nope@production' does not exist"
    assert "Traceback" not in result.output and result.stdout == ""


def test_an_unreachable_server_is_one_error_line(server):
    result = CliRunner().invoke(app, ["chat", MODEL, "hi", "--url", "http://127.0.0.1:9/v1", "--api-key", KEY])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach http://127.0.0.1:9/v1") and "Traceback" not in result.output


def test_a_conversation_sends_the_history_with_each_turn(server):
    result = chat(server, MODEL, "--system", "sys", input="first question\nsecond question\n/exit\nnever sent\n")
    assert result.exit_code == 0, result.output
    assert "reply 1 to first question" in result.stdout and "reply 2 to second question" in result.stdout
    assert [r["messages"] for r in server.requests] == [
        [{"role": "system", "content": "sys"}, {"role": "user", "content": "first question"}],
        [{"role": "system", "content": "sys"}, {"role": "user", "content": "first question"},
         {"role": "assistant", "content": "reply 1 to first question"},
         {"role": "user", "content": "second question"}],
    ]


def test_a_refused_turn_is_reported_and_dropped_and_the_conversation_goes_on(server):
    result = chat(server, MODEL, input=f"{TOO_LONG}\nshort\n")
    assert result.exit_code == 0, result.output
    assert "error (400): the prompt is beyond the model's context" in result.stderr
    assert "reply 2 to short" in result.stdout
    assert server.requests[-1]["messages"] == [{"role": "user", "content": "short"}]


def test_a_conversation_ends_at_eof(server):
    result = chat(server, MODEL, input="only\n")
    assert result.exit_code == 0, result.output
    assert len(server.requests) == 1


def test_a_conversation_with_an_unknown_model_ends_with_the_error(server):
    result = chat(server, "nope", input="hi\nagain\n")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert len(server.requests) == 1


def test_defaults_are_the_local_stacks_serving_url_and_admin_key(server, monkeypatch, tmp_path):
    for var in ("LLMOPS_SERVING_HTTP_PORT", "LLMOPS_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    assert default_url() == "http://127.0.0.1:8000/v1"  # the serving settings' default REST port
    monkeypatch.setenv("LLMOPS_HOME", str(tmp_path))
    monkeypatch.setenv("LLMOPS_BOOTSTRAP_ADMIN_KEY", "bootstrap-admin")
    monkeypatch.setenv("LLMOPS_SERVING_HTTP_PORT", str(server.port))
    assert default_url() == server.url
    result = CliRunner().invoke(app, ["chat", MODEL, "hi"])
    assert result.exit_code == 0, result.output
    assert server.auth == ["Bearer bootstrap-admin"]


def test_without_the_openai_client_the_error_names_the_extra(server, monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)  # makes `import openai` raise ImportError
    result = chat(server, MODEL, "hi")
    assert result.exit_code == 1
    assert "pip install 'llmops-platform[serving]'" in result.stderr and "Traceback" not in result.output


def test_ctrl_c_cancels_the_answer_not_the_session(server):
    """SIGINT mid-answer closes that stream's connection; the next turn runs without the cancelled one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMOPS_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from llmops_cli.main import run; run()", "chat", MODEL,
         "--url", server.url, "--api-key", KEY],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(iter(lambda: proc.stdout.read(1), "")), daemon=True)
    reader.start()
    try:
        proc.stdin.write(f"{HANG}\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while "partial" not in "".join(out):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(out)
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert server.hang_closed.wait(10) and not server.hang_finished.is_set()
        proc.stdin.write("second\n/exit\n")
        proc.stdin.close()
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(10)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    assert "(cancelled)" in err and "reply 2 to second" in "".join(out)
    assert [r["messages"] for r in server.requests] == [[{"role": "user", "content": HANG}],
                                                        [{"role": "user", "content": "second"}]]
