"""Process entry point: ``llmops-ingestion`` (or ``python -m llmops_ingestion.main``)."""

from __future__ import annotations

from llmops_common.runtime import serve
from llmops_ingestion.bootstrap import bootstrap, migrations
from llmops_ingestion.settings import IngestionSettings


def main() -> None:
    serve(IngestionSettings(), bootstrap, migrations())


if __name__ == "__main__":
    main()
