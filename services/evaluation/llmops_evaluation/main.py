"""Process entry point: ``llmops-evaluation`` (or ``python -m llmops_evaluation.main``)."""

from __future__ import annotations

from llmops_common.runtime import serve
from llmops_evaluation.bootstrap import bootstrap
from llmops_evaluation.schema import migrations
from llmops_evaluation.settings import EvaluationSettings


def main() -> None:
    serve(EvaluationSettings(), bootstrap, migrations())


if __name__ == "__main__":
    main()
