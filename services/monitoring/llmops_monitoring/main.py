"""Process entry point: ``llmops-monitoring`` (or ``python -m llmops_monitoring.main``)."""

from __future__ import annotations

from llmops_common.runtime import serve
from llmops_monitoring.bootstrap import bootstrap
from llmops_monitoring.schema import migrations
from llmops_monitoring.settings import MonitoringSettings


def main() -> None:
    serve(MonitoringSettings(), bootstrap, migrations())


if __name__ == "__main__":
    main()
