"""Process entry point: ``llmops-registry`` (or ``python -m llmops_registry.main``)."""

from __future__ import annotations

from llmops_common.runtime import serve
from llmops_registry.bootstrap import bootstrap, migrations
from llmops_registry.settings import RegistrySettings


def main() -> None:
    serve(RegistrySettings(), bootstrap, migrations())


if __name__ == "__main__":
    main()
