"""Serving's block list: the poller against a real gRPC server playing the monitoring service (it
keeps the last list when monitoring fails, does nothing without an endpoint), and the real REST app
refusing a blocked key or user with 403 and OpenAI's body before anything is generated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import httpx2
import openai
import pytest
from fake_gateway import FakeGateway  # tests/unit/serving is on sys.path (pytest's rootdir insertion)
from hypothesis import given
from hypothesis import strategies as st

from llmops.monitoring.v1 import monitoring_pb2 as pb
from llmops.monitoring.v1 import monitoring_pb2_grpc as pb_grpc
from llmops_common.auth import Principal, Role
from llmops_common.errors import Unauthenticated
from llmops_serving.blocklist import Blocklist, BlocklistClient
from llmops_serving.http.app import HttpLimits, create_app
from llmops_serving.settings import ServingSettings

KEYS = {"key-ann": Principal("k-ann", "ann", Role.DEVELOPER), "key-eve": Principal("k-eve", "eve", Role.DEVELOPER)}
CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hello big world"}]}
BLOCKED = Blocklist.of([("key", "k-eve"), ("user", "mallory")], enforced=True)


async def authenticate(key: str | None) -> Principal:
    if key not in KEYS:
        raise Unauthenticated("invalid API key")
    return KEYS[key]


# --- the list -------------------------------------------------------------------------------------


def test_an_enforced_list_refuses_its_keys_and_users_only() -> None:
    assert BLOCKED.refuses("k-eve") == "key"
    assert BLOCKED.refuses("k-ann", "mallory") == "user"
    assert BLOCKED.refuses("k-eve", "mallory") == "key"
    assert BLOCKED.refuses("k-ann", "alice") is None
    assert BLOCKED.refuses("mallory") is None  # a user's name is not a key id
    assert Blocklist.of([("session", "s-1"), ("key", "")], enforced=True) == Blocklist(enforced=True)


@given(st.lists(st.tuples(st.sampled_from(["key", "user"]), st.text(max_size=8))), st.text(max_size=8),
       st.text(max_size=8))
def test_a_list_that_is_not_enforced_refuses_nobody(entries: list[tuple[str, str]], key: str, user: str) -> None:
    assert Blocklist.of(entries, enforced=False).refuses(key, user) is None
    enforced = Blocklist.of(entries, enforced=True).refuses(key, user)
    assert (enforced is not None) == (("key", key) in entries and key != "" or ("user", user) in entries and user != "")


def test_serving_settings_read_the_endpoint_and_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (ServingSettings().monitoring_endpoint, ServingSettings().blocklist_refresh_seconds) == ("", 5.0)
    monkeypatch.setenv("LLMOPS_SERVING_MONITORING_ENDPOINT", "monitoring:50057")
    monkeypatch.setenv("LLMOPS_SERVING_BLOCKLIST_REFRESH_SECONDS", "0.5")
    assert (ServingSettings().monitoring_endpoint, ServingSettings().blocklist_refresh_seconds) == (
        "monitoring:50057", 0.5)


# --- the poller over gRPC -------------------------------------------------------------------------


class FakeMonitoring(pb_grpc.MonitoringServiceServicer):
    """Answers ``GetBlocklist`` with ``reply``, or aborts UNAVAILABLE while ``reply`` is None; records
    the authorization metadata of every call."""

    def __init__(self) -> None:
        self.reply: pb.Blocklist | None = pb.Blocklist()
        self.auth: list[str] = []

    async def GetBlocklist(self, request: pb.GetBlocklistRequest, context: grpc.aio.ServicerContext) -> pb.Blocklist:
        self.auth.append(dict(context.invocation_metadata()).get("authorization", ""))
        if self.reply is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "down for maintenance")
        return self.reply


async def monitoring_server() -> tuple[grpc.aio.Server, FakeMonitoring, str]:
    server = grpc.aio.server()
    fake = FakeMonitoring()
    pb_grpc.add_MonitoringServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, fake, f"127.0.0.1:{port}"


def entry(kind: str, subject: str) -> pb.BlockEntry:
    return pb.BlockEntry(subject_kind=kind, subject=subject, alert_id="a-1", reason="injection campaign")


def test_the_client_fetches_the_list_and_keeps_it_while_monitoring_fails() -> None:
    async def scenario() -> None:
        server, fake, endpoint = await monitoring_server()
        client = BlocklistClient(endpoint, api_key="svc-key", refresh_seconds=0.05, timeout=2)
        try:
            fake.reply = pb.Blocklist(entries=[entry("key", "k-eve"), entry("user", "mallory")], enforced=True)
            assert await client.refresh() == BLOCKED
            assert fake.auth == ["Bearer svc-key"]
            fake.reply = None  # monitoring fails: the last list stays in force
            assert await client.refresh() == BLOCKED and client.current.refuses("k-eve") == "key"
            fake.reply = pb.Blocklist(entries=[entry("key", "k-eve")], enforced=False)  # back, switched off
            assert (await client.refresh()).refuses("k-eve") is None
        finally:
            await client.close()
            await server.stop(None)

    asyncio.run(scenario())


def test_run_polls_until_stopped_and_an_unreachable_service_blocks_nobody() -> None:
    async def scenario() -> None:
        server, fake, endpoint = await monitoring_server()
        fake.reply = pb.Blocklist(entries=[entry("user", "mallory")], enforced=True)
        client = BlocklistClient(endpoint, api_key="k", refresh_seconds=0.02, timeout=2)
        stop = asyncio.Event()
        task = asyncio.create_task(client.run(stop))
        try:
            for _ in range(500):
                if len(fake.auth) >= 3:
                    break
                await asyncio.sleep(0.01)
            assert len(fake.auth) >= 3 and client.current.refuses("k", "mallory") == "user"
        finally:
            stop.set()
            await asyncio.wait_for(task, 5)
            await server.stop(None)
        assert client._channel is None  # closed on the way out

        nowhere = BlocklistClient("127.0.0.1:1", api_key="k", timeout=0.5)
        assert await nowhere.refresh() == Blocklist()
        await nowhere.close()

    asyncio.run(scenario())


def test_without_an_endpoint_nothing_is_polled() -> None:
    async def scenario() -> None:
        client = BlocklistClient("", api_key="k")
        await asyncio.wait_for(client.run(asyncio.Event()), 1)  # returns at once, though never stopped
        assert client.current == Blocklist() and client._channel is None

    asyncio.run(scenario())


# --- the REST API ---------------------------------------------------------------------------------


class FakeSource(BlocklistClient):
    """A poller whose monitoring service is a variable."""

    def __init__(self, served: Blocklist) -> None:
        super().__init__("fake", api_key="k", refresh_seconds=0.01)
        self.served = served

    async def fetch(self) -> Blocklist:
        return self.served


async def openai_client(app: Any, key: str) -> AsyncIterator[openai.AsyncOpenAI]:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://test")
    async with http:
        yield openai.AsyncOpenAI(base_url="http://test/v1", api_key=key, max_retries=0, http_client=http)


def run_with(source: FakeSource, test: Callable[[Any, FakeGateway], Any]) -> None:
    gateway = FakeGateway()
    app = create_app(gateway, authenticate, limits=HttpLimits(), blocklist=lambda: source.current)

    async def scenario() -> None:
        await source.refresh()
        await test(app, gateway)

    asyncio.run(scenario())


def assert_blocked(caught: pytest.ExceptionInfo[openai.PermissionDeniedError], who: str) -> None:
    assert caught.value.status_code == 403
    assert caught.value.body == {"message": f"this {who} is blocked for abuse; contact the operator",
                                 "type": "permission_error", "param": None, "code": "blocked"}


def test_a_blocked_key_gets_403_on_every_endpoint_before_any_generation() -> None:
    async def test(app: Any, gateway: FakeGateway) -> None:
        async for eve in openai_client(app, "key-eve"):
            with pytest.raises(openai.PermissionDeniedError) as caught:
                await eve.chat.completions.create(model="tiny", messages=CHAT["messages"])
            assert_blocked(caught, "API key")
            with pytest.raises(openai.PermissionDeniedError):
                await eve.chat.completions.create(model="tiny", messages=CHAT["messages"], stream=True)
            with pytest.raises(openai.PermissionDeniedError):
                await eve.completions.create(model="tiny", prompt="hello")
            with pytest.raises(openai.PermissionDeniedError):
                await eve.models.list()
        assert gateway.generations == {}
        async for ann in openai_client(app, "key-ann"):
            assert (await ann.chat.completions.create(model="tiny", messages=CHAT["messages"])).choices
        assert len(gateway.generations) == 1

    run_with(FakeSource(BLOCKED), test)


def test_a_blocked_user_gets_403_by_body_field_or_header() -> None:
    async def test(app: Any, gateway: FakeGateway) -> None:
        async for ann in openai_client(app, "key-ann"):
            with pytest.raises(openai.PermissionDeniedError) as caught:
                await ann.chat.completions.create(model="tiny", messages=CHAT["messages"], user="mallory")
            assert_blocked(caught, "user")
            with pytest.raises(openai.PermissionDeniedError):
                await ann.completions.create(model="tiny", prompt="hi", extra_headers={"X-User-Id": "mallory"})
            assert gateway.generations == {}
            await ann.chat.completions.create(model="tiny", messages=CHAT["messages"], user="alice")
            assert (await ann.models.list()).data  # a user is known only from a completion's request
        assert len(gateway.generations) == 1

    run_with(FakeSource(BLOCKED), test)


def test_the_app_follows_the_poller_and_a_list_not_enforced_blocks_nobody() -> None:
    source = FakeSource(Blocklist.of([("key", "k-eve")], enforced=False))

    async def test(app: Any, gateway: FakeGateway) -> None:
        async for eve in openai_client(app, "key-eve"):
            await eve.chat.completions.create(model="tiny", messages=CHAT["messages"])
            source.served = BLOCKED
            await source.refresh()
            with pytest.raises(openai.PermissionDeniedError):
                await eve.chat.completions.create(model="tiny", messages=CHAT["messages"])
            source.served = Blocklist.of([], enforced=True)  # the alert resolved: the block ends
            await source.refresh()
            await eve.chat.completions.create(model="tiny", messages=CHAT["messages"])
        assert len(gateway.generations) == 2

    run_with(source, test)
