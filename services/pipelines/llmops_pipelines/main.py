"""Process entry point: ``llmops-pipelines`` (or ``python -m llmops_pipelines.main``)."""

from __future__ import annotations

from llmops_common.runtime import serve
from llmops_pipelines.bootstrap import bootstrap
from llmops_pipelines.schema import migrations
from llmops_pipelines.settings import PipelinesSettings


def main() -> None:
    serve(PipelinesSettings(), bootstrap, migrations())


if __name__ == "__main__":
    main()
