"""The monitoring service's block list, as serving enforces it.

``BlocklistClient.run`` polls ``GetBlocklist`` every ``refresh_seconds``; the REST API asks
``current`` on each request, so a check never waits on the network. A failed poll keeps the last list
(monitoring being down must neither unblock an attacker nor block anyone new); with no endpoint set,
or while monitoring says the list is not enforced, nothing is blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import grpc

from llmops.monitoring.v1 import monitoring_pb2 as pb
from llmops.monitoring.v1 import monitoring_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Blocklist:
    """The blocked API key ids and users, and whether they are refused."""

    keys: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    enforced: bool = False

    @classmethod
    def of(cls, entries: Iterable[tuple[str, str]], *, enforced: bool) -> Blocklist:
        """From ``(subject_kind, subject)`` pairs; kinds other than "key" and "user" are ignored."""
        pairs = list(entries)
        return cls(frozenset(s for kind, s in pairs if kind == "key" and s),
                   frozenset(s for kind, s in pairs if kind == "user" and s), enforced)

    def refuses(self, key_id: str, user: str = "") -> str | None:
        """"key" or "user" when that one is blocked and the list is enforced, else None."""
        if not self.enforced:
            return None
        if key_id and key_id in self.keys:
            return "key"
        if user and user in self.users:
            return "user"
        return None


def from_proto(message: pb.Blocklist) -> Blocklist:
    return Blocklist.of(((e.subject_kind, e.subject) for e in message.entries), enforced=message.enforced)


class BlocklistClient:
    """Polls the monitoring service at ``endpoint`` (""  = off) with ``api_key``; its channel opens on
    the first poll, inside the event loop that runs it."""

    def __init__(self, endpoint: str, *, api_key: str, refresh_seconds: float = 5.0, timeout: float = 5.0) -> None:
        self.endpoint, self.refresh_seconds, self.timeout = endpoint, refresh_seconds, timeout
        self.current = Blocklist()
        self._metadata = (("authorization", f"Bearer {api_key}"),)
        self._channel: grpc.aio.Channel | None = None
        self._failing = False

    async def fetch(self) -> Blocklist:
        """One ``GetBlocklist`` call."""
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.endpoint)
        stub = pb_grpc.MonitoringServiceStub(self._channel)
        reply = await stub.GetBlocklist(pb.GetBlocklistRequest(), metadata=self._metadata, timeout=self.timeout)
        return from_proto(reply)

    async def refresh(self) -> Blocklist:
        """Fetch into ``current``; on failure keep the last list, logging once per outage."""
        try:
            self.current = await self.fetch()
        except (grpc.aio.AioRpcError, OSError, TimeoutError) as exc:
            if not self._failing:
                log.warning("the block list cannot be refreshed from %s (%s); keeping the last one (%d keys, "
                            "%d users)", self.endpoint, _reason(exc), len(self.current.keys), len(self.current.users))
            self._failing = True
        else:
            if self._failing:
                log.info("the block list is refreshed again from %s", self.endpoint)
            self._failing = False
        return self.current

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh every ``refresh_seconds`` until ``stop``; returns at once when no endpoint is set."""
        if not self.endpoint:
            return
        try:
            while not stop.is_set():
                await self.refresh()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.refresh_seconds)
        finally:
            await self.close()

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None


def _reason(exc: BaseException) -> str:
    return exc.code().name if isinstance(exc, grpc.aio.AioRpcError) else type(exc).__name__
