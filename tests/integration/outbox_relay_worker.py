"""Run an outbox relay in its own process, for the crash test.

``stall`` mode publishes the first half of its first batch, then signals and hangs before marking
anything published, so the test can SIGKILL it mid-batch.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from llmops_common.bus import Bus
from llmops_common.db import make_pool
from llmops_common.outbox import OutboxRelay
from llmops_common.settings import CommonSettings


async def main(schema: str, marker: Path) -> None:
    settings = CommonSettings()
    pool = make_pool(settings.postgres_dsn, schema)
    await pool.open(wait=True)
    bus = Bus(settings, producer="relay-worker")
    await bus.start()

    async def publish_half_then_hang(messages):
        messages = list(messages)
        await bus.publish_many(messages[: len(messages) // 2])
        marker.write_text(str(len(messages) // 2))
        await asyncio.Event().wait()

    await OutboxRelay(pool, publish_half_then_hang, schema=schema, batch_size=1000).relay_once()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
