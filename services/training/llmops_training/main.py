"""Process entry point: ``llmops-training`` (or ``python -m llmops_training.main``)."""

from __future__ import annotations

from llmops_common.runtime import serve
from llmops_training.bootstrap import bootstrap, migrations
from llmops_training.settings import TrainingSettings


def main() -> None:
    serve(TrainingSettings(), bootstrap, migrations())


if __name__ == "__main__":
    main()
