"""Process entry point: ``llmops-prompts`` (or ``python -m llmops_prompts.main``)."""

from __future__ import annotations

from llmops_common.runtime import serve
from llmops_prompts.bootstrap import bootstrap, migrations
from llmops_prompts.settings import PromptsSettings


def main() -> None:
    serve(PromptsSettings(), bootstrap, migrations())


if __name__ == "__main__":
    main()
