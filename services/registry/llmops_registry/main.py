"""Process entry point: ``llmops-registry`` (or ``python -m llmops_registry.main``)."""

from __future__ import annotations

import asyncio

from llmops_common.runtime import configure_process, run_service
from llmops_registry.bootstrap import bootstrap, migrations
from llmops_registry.settings import RegistrySettings


def main() -> None:
    settings = RegistrySettings()
    configure_process(settings)
    registry = bootstrap(settings)
    asyncio.run(run_service(registry.adapters, migrations=migrations(), grpc_services=registry.grpc_services))


if __name__ == "__main__":
    main()
