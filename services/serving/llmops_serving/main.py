"""Process entry point: ``llmops-serving`` (or ``python -m llmops_serving.main``)."""

from __future__ import annotations

from llmops_common.runtime import serve
from llmops_serving.bootstrap import bootstrap
from llmops_serving.schema import migrations
from llmops_serving.settings import ServingSettings


def main() -> None:
    serve(ServingSettings(), bootstrap, migrations())


if __name__ == "__main__":
    main()
