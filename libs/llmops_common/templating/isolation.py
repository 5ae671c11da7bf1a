"""Rendering in killable worker processes, for a process that must keep answering (health checks,
other calls) while a hostile render runs.

Each render goes to an idle worker (``python -m llmops_common.templating.worker``) over a pipe. The
worker renders with the same bounded in-process renderer, under ``RLIMIT_AS``; the pool adds a
hard deadline. A worker that misses the deadline or dies is killed and replaced, and the caller
gets a clear ``InvalidArgument``; a worker whose peak memory grew past ``recycle_bytes`` is
replaced after its call, so no memory stays held. The event loop only writes and reads pipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Mapping
from typing import Any

from llmops_common.errors import InvalidArgument, Unavailable
from llmops_common.templating.limits import security_event
from llmops_common.templating.schema import ChatMessage, Template
from llmops_common.templating.wire import HEADER_BYTES, encode, template_to_wire

log = logging.getLogger(__name__)
MIB = 1024 * 1024
#: a reply larger than this is not a render's (at most a few MB of JSON): the worker is killed
_MAX_REPLY_BYTES = 64 * MIB
#: how long a new worker may take to import what it needs
_STARTUP_SECONDS = 30.0


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, memory_bytes: int) -> _Worker:
        """A worker that has imported everything and is ready for its first render."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "llmops_common.templating.worker", str(memory_bytes),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        worker = cls(process)
        try:
            await asyncio.wait_for(worker.reply(), _STARTUP_SECONDS)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            await worker.stop()
            raise Unavailable("a render worker process could not start") from None
        return worker

    async def exchange(self, request: bytes) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(request)
        await self.process.stdin.drain()
        return await self.reply()

    async def reply(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        size = int.from_bytes(await self.process.stdout.readexactly(HEADER_BYTES), "big")
        if size > _MAX_REPLY_BYTES:
            raise ConnectionError(f"a worker replied with {size} bytes")
        return json.loads(await self.process.stdout.readexactly(size))

    async def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            if self.process.returncode is None:
                self.process.kill()
            await asyncio.shield(self.process.wait())


class RenderPool:
    """Up to ``workers`` renders at once, each in its own worker process."""

    def __init__(self, workers: int = 2, *, memory_bytes: int = 512 * MIB, timeout: float = 5.0,
                 recycle_bytes: int = 256 * MIB) -> None:
        self.workers, self.memory_bytes = workers, memory_bytes
        self.timeout, self.recycle_bytes = timeout, recycle_bytes
        self._idle: list[_Worker] = []
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    async def start(self) -> None:
        """Start the workers now rather than on the first renders."""
        started = await asyncio.gather(*(_Worker.start(self.memory_bytes)
                                         for _ in range(self.workers - len(self._idle))), return_exceptions=True)
        self._idle.extend(worker for worker in started if isinstance(worker, _Worker))
        for failure in started:
            if isinstance(failure, BaseException):
                raise failure

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        await asyncio.gather(*(worker.stop() for worker in idle))

    async def run(self, stop: asyncio.Event) -> None:
        """A service's background task: start the workers, and stop them when the service stops."""
        await self.start()
        await stop.wait()
        await self.close()

    async def render(self, template: Template, values: Mapping[str, Any]) -> str | list[ChatMessage]:
        """Render as ``templating.render`` would, in a worker process."""
        try:
            request = encode({"template": template_to_wire(template), "values": dict(values)})
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"variables must be JSON data: {exc}", field="variables") from None
        if self._closed:
            raise Unavailable("the render pool is closed (the process is stopping)")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        async with self._slots:
            reply = await self._exchange(request)
        if "error" in reply:
            error = reply["error"]
            if error["kind"] == "unsafe":
                raise security_event("render refused by the sandbox", error["message"].removeprefix("refused: "))
            raise InvalidArgument(error["message"], field=error["field"])
        output = reply["output"]
        return output if isinstance(output, str) else [ChatMessage(role, content) for role, content in output]

    async def _exchange(self, request: bytes) -> dict[str, Any]:
        worker = self._idle.pop() if self._idle else await _Worker.start(self.memory_bytes)
        keep = False
        try:
            reply = await asyncio.wait_for(worker.exchange(request), self.timeout)
            keep = reply.get("peak_rss_kb", 0) * 1024 < self.recycle_bytes
            return reply
        except TimeoutError:
            log.warning("a render worker missed its %.1f s deadline; killed and replaced", self.timeout)
            raise InvalidArgument(f"the render did not finish within {self.timeout:g} s and was stopped",
                                  field="template") from None
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            log.warning("a render worker died (exit %s); replaced", worker.process.returncode)
            raise InvalidArgument("the render was stopped: its worker process ran out of memory or crashed",
                                  field="template") from None
        finally:
            if keep and not self._closed:
                self._idle.append(worker)
            else:
                await worker.stop()
