"""Process entry point: ``llmops-prompts`` (or ``python -m llmops_prompts.main``)."""

from __future__ import annotations

import asyncio

from llmops_common.runtime import configure_process, run_service
from llmops_prompts.bootstrap import bootstrap, migrations
from llmops_prompts.settings import PromptsSettings


def main() -> None:
    settings = PromptsSettings()
    configure_process(settings)
    prompts = bootstrap(settings)
    asyncio.run(run_service(prompts.adapters, migrations=migrations(), grpc_services=prompts.grpc_services))


if __name__ == "__main__":
    main()
