"""A separate client process for the cache-invalidation test: warm the cache for REF, then report the
wall-clock time at which it first sees a different version."""

from __future__ import annotations

import asyncio
import sys
import time

from llmops_common.prompt_client import PromptClient


async def main(endpoint: str, key: str, nats_url: str, ref: str) -> None:
    async with PromptClient(endpoint, api_key=key, nats_url=nats_url) as client:
        first = (await client.get(ref)).version
        print(f"ready {first}", flush=True)
        while (version := (await client.get(ref)).version) == first:
            await asyncio.sleep(0.005)
        print(f"saw {version} {time.time():.6f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
