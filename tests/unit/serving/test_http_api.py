"""The OpenAI-compatible REST API, served by uvicorn on a real port over a fake gateway, driven by the
official ``openai`` client (and by raw HTTP where the wire itself is the point)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import openai
import pytest
import uvicorn
from fake_gateway import SECRET, FakeGateway  # tests/unit/serving is on sys.path (pytest's rootdir insertion)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CONTENT_TYPE_LATEST

from llmops_common.auth import Principal, Role
from llmops_common.errors import Unauthenticated
from llmops_serving.http.app import HttpLimits, create_app

KEYS = {"key-ann": Principal("k-ann", "ann", Role.DEVELOPER), "key-bob": Principal("k-bob", "bob", Role.VIEWER)}
LIMITS = HttpLimits(max_body_bytes=64 * 1024, max_tokens_limit=512, default_max_tokens=16)
METRICS = b"# HELP llmops_requests_total Requests.\n# TYPE llmops_requests_total counter\nllmops_requests_total 3.0\n"
CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hello big world"}]}


async def authenticate(key: str | None) -> Principal:
    if not key:
        raise Unauthenticated("missing API key")
    if key not in KEYS:
        raise Unauthenticated("invalid API key")
    return KEYS[key]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under uvicorn in a background thread, on a free port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, FakeGateway]]:
    gateway = FakeGateway()
    with serving(create_app(gateway, authenticate, limits=LIMITS, metrics=lambda: METRICS)) as url:
        yield url, gateway


@pytest.fixture(scope="module")
def url(served: tuple[str, FakeGateway]) -> str:
    return served[0]


@pytest.fixture(scope="module")
def gateway(served: tuple[str, FakeGateway]) -> FakeGateway:
    return served[1]


@pytest.fixture(scope="module")
def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="key-ann", max_retries=0)


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=url, headers={"Authorization": "Bearer key-ann"}, timeout=10) as http:
        yield http


def error_of(response: httpx2.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


def events(raw: str) -> list[Any]:
    """The ``data:`` payloads of an SSE body, ``[DONE]`` as a string; asserts the framing."""
    assert raw.endswith("data: [DONE]\n\n"), raw[-200:]
    out = []
    for event in raw.split("\n\n")[:-1]:
        assert event.startswith("data: "), event
        data = event.removeprefix("data: ")
        out.append(data if data == "[DONE]" else json.loads(data))
    return out


# --- chat ---------------------------------------------------------------------------------------


def test_chat_completion(client: openai.OpenAI, gateway: FakeGateway) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="support-bot@production", messages=[{"role": "system", "content": "be brief"},
                                                  {"role": "user", "content": "hello big world"}],
        temperature=0.5, max_completion_tokens=2, stop=["zzz"], seed=7, user="u-1",
        extra_body={"top_k": 3, "ignore_eos": True, "min_tokens": 1, "frobnicate": {"x": 1}},
        extra_headers={"X-Session-Id": "s-9"})
    completion = raw.parse()
    assert completion.id.startswith("chatcmpl-") and raw.headers["x-request-id"] == completion.id
    assert completion.object == "chat.completion"
    assert completion.model == "support-bot@production"
    assert completion.system_fingerprint == "models:/support-bot/3"
    choice = completion.choices[0]
    assert (choice.message.role, choice.message.content, choice.finish_reason) == ("assistant", "hello big", "length")
    assert choice.logprobs is None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        5, 2, 7)
    call = gateway.generations[completion.id].call
    assert call.api == "chat" and call.request_id == completion.id and call.key_id == "k-ann"
    assert [(m.role, m.content) for m in call.messages] == [("system", "be brief"), ("user", "hello big world")]
    assert call.sampling == {"temperature": 0.5, "max_tokens": 2, "stop": ("zzz",), "seed": 7, "top_k": 3,
                             "ignore_eos": True, "min_tokens": 1}
    assert (call.user, call.session) == ("u-1", "s-9")


def test_chat_sends_only_what_the_client_set(client: openai.OpenAI, gateway: FakeGateway) -> None:
    completion = client.chat.completions.create(model="tiny", messages=CHAT["messages"],
                                                extra_headers={"X-User-Id": "from-header"})
    call = gateway.generations[completion.id].call
    assert call.sampling == {} and call.user == "from-header" and call.session == ""
    assert completion.choices[0].message.content == "hello big world"
    assert completion.choices[0].finish_reason == "stop"


def test_chat_text_parts_and_a_single_stop_string(client: openai.OpenAI, gateway: FakeGateway) -> None:
    completion = client.chat.completions.create(
        model="tiny", stop="x", max_tokens=3,
        messages=[{"role": "developer", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
                  {"role": "assistant", "content": None}, {"role": "user", "content": "a b"}])
    call = gateway.generations[completion.id].call
    assert [(m.role, m.content) for m in call.messages] == [("developer", "one\ntwo"), ("assistant", ""),
                                                            ("user", "a b")]
    assert call.sampling == {"stop": ("x",), "max_tokens": 3}


def test_chat_logprobs(client: openai.OpenAI, gateway: FakeGateway) -> None:
    completion = client.chat.completions.create(model="tiny", messages=CHAT["messages"], logprobs=True,
                                                top_logprobs=2)
    assert gateway.generations[completion.id].call.sampling == {"logprobs": 2}
    content = completion.choices[0].logprobs.content
    assert [t.token for t in content] == ["hello", " big", " world"]
    assert [t.logprob for t in content] == [-0.5, -1.0, -1.5]
    assert content[1].bytes == list(b" big")
    assert [(t.token, t.logprob) for t in content[0].top_logprobs] == [("alt0", -1.0), ("alt1", -2.0)]
    only = client.chat.completions.create(model="tiny", messages=CHAT["messages"], logprobs=True)
    assert gateway.generations[only.id].call.sampling == {"logprobs": 0}
    assert only.choices[0].logprobs.content[0].top_logprobs == []


def test_nul_in_content_is_text(http: httpx2.Client) -> None:
    response = http.post("/v1/chat/completions", json={**CHAT, "messages": [{"role": "user", "content": "a\x00b c"}]})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "a\x00b c"


# --- completions --------------------------------------------------------------------------------


def test_completion_with_logprobs(client: openai.OpenAI, gateway: FakeGateway) -> None:
    completion = client.completions.create(model="tiny", prompt=["the quick fox"], logprobs=3, max_tokens=2,
                                           temperature=0)
    assert completion.id.startswith("cmpl-") and completion.object == "text_completion"
    assert completion.system_fingerprint == "models:/tiny/3"
    choice = completion.choices[0]
    assert (choice.text, choice.finish_reason) == ("the quick", "length")
    assert choice.logprobs.tokens == ["the", " quick"]
    assert choice.logprobs.token_logprobs == [-0.5, -1.0]
    assert choice.logprobs.top_logprobs == [{"alt0": -1.0, "alt1": -2.0, "alt2": -3.0}] * 2
    assert choice.logprobs.text_offset == [0, 3]
    assert completion.usage.prompt_tokens == 3 and completion.usage.completion_tokens == 2
    call = gateway.generations[completion.id].call
    assert (call.api, call.prompt, call.messages) == ("completions", "the quick fox", None)
    assert call.sampling == {"logprobs": 3, "max_tokens": 2, "temperature": 0.0}


def test_streamed_completion_with_usage(http: httpx2.Client) -> None:
    response = http.post("/v1/completions", json={"model": "tiny", "prompt": "one two", "stream": True,
                                                  "logprobs": 0, "stream_options": {"include_usage": True}})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    chunks = events(response.text)
    assert chunks[-1] == "[DONE]"
    assert all(c["object"] == "text_completion" and c["id"] == response.headers["x-request-id"] for c in chunks[:-1])
    assert "".join(c["choices"][0]["text"] for c in chunks[:-2]) == "one two"
    assert [c["choices"][0]["logprobs"]["text_offset"] for c in chunks[:2]] == [[0], [3]]
    assert chunks[-3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-2]["choices"] == [] and chunks[-2]["usage"] == {"prompt_tokens": 2, "completion_tokens": 2,
                                                                   "total_tokens": 4}


# --- streaming ----------------------------------------------------------------------------------


def test_streamed_chat_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="tiny", messages=CHAT["messages"], stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "hello big world"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 3)
    assert len({c.id for c in chunks}) == 1 and chunks[0].object == "chat.completion.chunk"


def test_streamed_chat_on_the_wire(http: httpx2.Client) -> None:
    response = http.post("/v1/chat/completions", json={**CHAT, "stream": True})
    chunks = events(response.text)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:-2]] == ["hello", " big", " world"]
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert all(c["choices"] for c in chunks[:-1])  # no usage chunk unless asked


def test_an_error_after_the_stream_started_is_its_last_event(client: openai.OpenAI, http: httpx2.Client) -> None:
    response = http.post("/v1/chat/completions", json={**CHAT, "model": "flaky", "stream": True})
    chunks = events(response.text)
    assert chunks[-2] == {"error": {"message": "the replica went away", "type": "server_error", "param": None,
                                    "code": "service_unavailable"}}
    assert chunks[1]["choices"][0]["delta"]["content"] == "hello"
    with pytest.raises(openai.APIError, match="the replica went away"):
        list(client.chat.completions.create(model="flaky", messages=CHAT["messages"], stream=True))


def test_a_client_that_disconnects_mid_stream_closes_its_generation(url: str, gateway: FakeGateway) -> None:
    with httpx2.Client(base_url=url, headers={"Authorization": "Bearer key-ann"}, timeout=10) as http, \
            http.stream("POST", "/v1/chat/completions", json={**CHAT, "model": "stalls", "stream": True}) as response:
        request_id = response.headers["x-request-id"]
        lines = response.iter_lines()
        while '"hello"' not in next(lines):  # the first content chunk; the generation then stalls
            pass
        generation = gateway.generations[request_id]
        assert not generation.closed.is_set()
    assert generation.closed.wait(10), "the generation was not closed after the client left"


def test_a_client_that_gives_up_on_a_whole_completion_closes_its_generation(url: str, gateway: FakeGateway) -> None:
    with pytest.raises(httpx2.ReadTimeout), httpx2.Client(base_url=url, timeout=0.5) as http:
        http.post("/v1/chat/completions", json={**CHAT, "model": "stalls"},
                  headers={"Authorization": "Bearer key-ann", "X-User-Id": "gives-up"})
    [generation] = [g for g in gateway.generations.values() if g.call.user == "gives-up"]
    assert generation.closed.wait(10), "the generation was not closed after the client left"


def test_a_finished_stream_closes_its_generation(http: httpx2.Client, gateway: FakeGateway) -> None:
    response = http.post("/v1/chat/completions", json={**CHAT, "stream": True})
    assert gateway.generations[response.headers["x-request-id"]].closed.wait(10)


# --- models, health, metrics --------------------------------------------------------------------


def test_model_list(client: openai.OpenAI) -> None:
    models = {m.id: m for m in client.models.list()}
    assert set(models) == {"tiny", "support-bot@production"}
    adapter = models["support-bot@production"]
    assert (adapter.object, adapter.owned_by, adapter.created) == ("model", "llmops", 1_700_000_100)
    assert (adapter.root, adapter.parent) == ("tiny", "tiny")
    assert (models["tiny"].root, models["tiny"].parent) == ("tiny", None)


def test_health_and_metrics_need_no_key(url: str, gateway: FakeGateway) -> None:
    health = httpx2.get(f"{url}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    gateway.status = "loading"
    try:
        assert httpx2.get(f"{url}/health").status_code == 503
        gateway.status = "degraded"  # a followed alias failed to load; the others are served
        assert httpx2.get(f"{url}/health").status_code == 200
    finally:
        gateway.status = "ok"
    metrics = httpx2.get(f"{url}/metrics")
    assert metrics.status_code == 200 and metrics.content == METRICS
    assert metrics.headers["content-type"] == CONTENT_TYPE_LATEST


# --- errors -------------------------------------------------------------------------------------


def test_unknown_model_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="nope@production", messages=CHAT["messages"])
    assert caught.value.status_code == 404
    assert (caught.value.type, caught.value.code, caught.value.param) == ("invalid_request_error", "model_not_found",
                                                                          "model")


@pytest.mark.parametrize(("changes", "param"), [
    ({"temperature": 5}, "temperature"),  # a range: SamplingParams, in the gateway
    ({"temperature": "0.5"}, "temperature"),  # a type: this layer
    ({"top_p": True}, "top_p"),
    ({"stream": "yes"}, "stream"),
    ({"n": 2}, "n"),
    ({"presence_penalty": 0.5}, "presence_penalty"),
    ({"frequency_penalty": -1}, "frequency_penalty"),
    ({"max_tokens": 513}, "max_tokens"),
    ({"max_completion_tokens": 10**40}, "max_completion_tokens"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"seed": 10**30}, "seed"),
    ({"stop": ["a", 3]}, "stop[1]"),
    ({"stop": ["a\x00"]}, "stop[0]"),
    ({"top_logprobs": 2}, "top_logprobs"),
    ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ({"stream_options": {"include_usage": 1}}, "stream_options.include_usage"),
    ({"model": ""}, "model"),
    ({"model": None}, "model"),
    ({"messages": []}, "messages"),
    ({"messages": "hi"}, "messages"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ({"messages": [{"role": "user"}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                   {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     "messages[2].content[0].type"),
    ({"messages": [{"role": "user", "content": "\ud800"}]}, "messages[0].content[0].text"),
])
def test_invalid_chat_parameters_are_400_naming_them(http: httpx2.Client, changes: dict, param: str) -> None:
    response = http.post("/v1/chat/completions", content=json.dumps(CHAT | changes),  # ASCII, so "\ud800" goes
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert response.headers["x-request-id"].startswith("chatcmpl-")


def test_unsupported_parameters_say_so(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="tiny", messages=CHAT["messages"], presence_penalty=1.0)
    assert "not supported" in caught.value.message and caught.value.code == "unsupported_parameter"


@pytest.mark.parametrize(("changes", "param"), [
    ({"prompt": [1, 2, 3]}, "prompt"),
    ({"prompt": [[1, 2]]}, "prompt"),
    ({"prompt": ["a", "b"]}, "prompt"),
    ({"prompt": None}, "prompt"),
    ({"echo": True}, "echo"),
    ({"suffix": "tail"}, "suffix"),
    ({"best_of": 2}, "best_of"),
    ({"logprobs": 6}, "logprobs"),
    ({"logprobs": True}, "logprobs"),
])
def test_invalid_completion_parameters_are_400_naming_them(http: httpx2.Client, changes: dict, param: str) -> None:
    response = http.post("/v1/completions", json={"model": "tiny", "prompt": "hi"} | changes)
    assert response.status_code == 400, response.text
    assert error_of(response)["param"] == param


def test_unknown_fields_and_defaults_pass(http: httpx2.Client) -> None:
    body = {"model": "tiny", "prompt": "hi", "echo": False, "suffix": None, "best_of": 1, "n": 1, "frobnicate": [1],
            "presence_penalty": 0, "logit_bias": {}}
    assert http.post("/v1/completions", json=body).status_code == 200


def test_a_prompt_beyond_the_context_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.completions.create(model="tiny", prompt="far TOO_LONG")
    assert (caught.value.code, caught.value.param) == ("context_length_exceeded", "prompt")


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'"text"', b"\xff\xfe{", b"[" * 5000 + b"]" * 5000,
                                  b'{"model": "tiny", "max_tokens": ' + b"9" * 5000 + b"}", b""])
def test_malformed_json_is_400(http: httpx2.Client, body: bytes) -> None:
    response = http.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


@pytest.mark.parametrize(("literal", "param"), [("NaN", "temperature"), ("Infinity", "temperature"),
                                                ("-Infinity", "top_p"), ("1e999", "top_p")])
def test_non_finite_numbers_are_400_naming_the_field(http: httpx2.Client, literal: str, param: str) -> None:
    body = json.dumps(CHAT)[:-1] + f', "{param}": {literal}}}'
    response = http.post("/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["param"] == param


def test_a_body_over_the_limit_is_413(http: httpx2.Client) -> None:
    big = json.dumps({**CHAT, "pad": "x" * LIMITS.max_body_bytes}).encode()
    assert http.post("/v1/chat/completions", content=big).status_code == 413  # an honest Content-Length

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for i in range(0, len(big), 4096):
            yield big[i:i + 4096]

    response = http.post("/v1/chat/completions", content=chunks())
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


def test_a_lying_content_length_is_still_413(gateway: FakeGateway) -> None:
    """Over a socket, the HTTP parser frames the body by Content-Length; an ASGI transport hands the app
    the whole body, so this checks the limit is kept while reading, whatever the header says."""
    app = create_app(gateway, authenticate, limits=LIMITS)
    big = json.dumps({**CHAT, "pad": "x" * (2 * LIMITS.max_body_bytes)}).encode()

    async def post() -> httpx2.Response:
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://test") as http:
            return await http.post("/v1/chat/completions", content=big,
                                   headers={"Authorization": "Bearer key-ann", "Content-Length": "100"})

    response = asyncio.run(post())
    assert response.status_code == 413


def test_a_declared_oversized_body_is_refused_before_reading(url: str) -> None:
    """A Content-Length over the limit is refused at once, though only two bytes ever arrive (an HTTP
    client would not send a body shorter than its header says, so this speaks HTTP over a socket)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer key-ann\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {LIMITS.max_body_bytes + 1}\r\n\r\n{{}}"
                     .encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic key-ann"},
                                     {"x-api-key": "wrong"}])
def test_a_missing_or_bad_key_is_401(url: str, headers: dict[str, str]) -> None:
    for path, method in (("/v1/chat/completions", "POST"), ("/v1/models", "GET")):
        response = httpx2.request(method, f"{url}{path}", json=CHAT, headers=headers)
        assert response.status_code == 401
        assert error_of(response)["type"] == "authentication_error"


def test_the_key_may_come_in_x_api_key(url: str) -> None:
    assert httpx2.post(f"{url}/v1/chat/completions", json=CHAT, headers={"x-api-key": "key-bob"}).status_code == 200


def test_the_openai_client_sees_a_bad_key_as_401(url: str) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).models.list()
    assert caught.value.type == "authentication_error"


def test_a_full_queue_is_429_with_retry_after(http: httpx2.Client) -> None:
    response = http.post("/v1/chat/completions", json={**CHAT, "model": "busy"})
    assert response.status_code == 429 and response.headers["retry-after"] == "3"
    assert error_of(response)["type"] == "rate_limit_error"


def test_an_unavailable_model_is_503(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="loading", messages=CHAT["messages"])
    assert caught.value.status_code == 503 and caught.value.code == "service_unavailable"


def test_a_bug_is_500_without_details(http: httpx2.Client, caplog: pytest.LogCaptureFixture) -> None:
    response = http.post("/v1/chat/completions", json={**CHAT, "model": "crash"})
    assert response.status_code == 500
    assert error_of(response)["type"] == "server_error"
    assert SECRET not in response.text and "Traceback" not in response.text


def test_unknown_routes_and_methods_have_openai_bodies(http: httpx2.Client) -> None:
    assert error_of(http.get("/v1/nothing"))["code"] == "not_found"
    response = http.get("/v1/chat/completions")
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"


def test_rate_limit_per_key_is_429_with_retry_after() -> None:
    limits = HttpLimits(rate_limit_per_minute=1, rate_limit_burst=2)
    with serving(create_app(FakeGateway(), authenticate, limits=limits)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="key-ann", max_retries=0)
        client.models.list()
        client.chat.completions.create(model="tiny", messages=CHAT["messages"])
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(model="tiny", messages=CHAT["messages"])
        assert caught.value.type == "rate_limit_error"
        assert int(caught.value.response.headers["retry-after"]) >= 1
        other = openai.OpenAI(base_url=f"{url}/v1", api_key="key-bob", max_retries=0)
        assert other.models.list().data  # another key has its own bucket
        assert httpx2.get(f"{url}/metrics").status_code == 404  # no metrics given


# --- fuzz ---------------------------------------------------------------------------------------

FIELDS = ["model", "messages", "prompt", "temperature", "top_p", "n", "max_tokens", "max_completion_tokens", "stop",
          "stream", "stream_options", "seed", "logprobs", "top_logprobs", "user", "presence_penalty",
          "frequency_penalty", "top_k", "ignore_eos", "min_tokens", "echo", "suffix", "best_of"]
scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70) | st.floats()
           | st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6) | st.sampled_from(["role", "content", "type", "text",
                                                                                "include_usage"]), inner, max_size=4),
                      max_leaves=10)
message = st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant", "tool", "x"]) | values},
                                optional={"content": st.text(max_size=30) | values})
bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["tiny", "support-bot@production", "missing"]) | values},
    optional={"messages": st.lists(message, max_size=3) | values, "prompt": st.text(max_size=30) | values,
              **{name: values for name in FIELDS[3:]},
              "extra": values}) | values


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, path=st.sampled_from(["/v1/chat/completions", "/v1/completions"]))
def test_no_json_body_is_a_server_error(http: httpx2.Client, body: Any, path: str) -> None:
    response = http.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 400, 404, 413), response.text
    if response.status_code != 200:
        error_of(response)
    elif response.headers["content-type"].startswith("text/event-stream"):
        assert not any(isinstance(e, dict) and "error" in e for e in events(response.text))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300))
def test_no_byte_string_is_a_server_error(http: httpx2.Client, body: bytes) -> None:
    response = http.post("/v1/completions", content=body)
    assert response.status_code in (200, 400, 404), response.text
    if response.status_code != 200:
        error_of(response)
