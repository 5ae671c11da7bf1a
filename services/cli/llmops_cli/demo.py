"""``llmops demo`` (``make demo``): the whole loop on the embedded stack, driven as a user would drive it.

The platform comes up (NATS, PostgreSQL, S3, a Ray head, every service); a base model is bootstrapped;
a prompt is made and a lifecycle pipeline applied; the sample dataset (``demo_data``: planted duplicates
and PII) is ingested, which starts the pipeline: LoRA fine-tuning on Ray with DeepSpeed on two workers,
evaluation against the base with intervals, the gates promote to ``staging``, a second user approves
``production``, and serving hot-loads the release. Traffic goes through the ``openai`` client: ordinary
questions, an injection campaign from one user, a drifted batch; people give feedback; monitoring raises
the alerts and blocks the attacker; the feedback is exported into a new dataset version, which starts
the pipeline's second round, evaluated against the first (now the champion).

Every step prints the ``llmops`` command it runs (``demo_setup``, ``demo_flow``). The end is a summary
table, an HTML report linking every artifact (``<home>/demo/report.html``, ``demo_report``), and, as the
last line, one JSON object. The services stay up (``make down`` stops them).
"""

from __future__ import annotations

import json

import typer
from rich.text import Text

from llmops_cli.demo_setup import DemoFailed, Tuning
from llmops_cli.output import console, err_console


def demo_command() -> None:
    """The whole loop on the embedded stack in about six minutes (make demo); the services stay up."""
    from llmops_cli.demo_flow import Flow  # the flow imports the service clients and openai

    try:
        summary = Flow(Tuning()).run()
    except DemoFailed as exc:
        err_console.print(Text.assemble(("demo failed: ", "bold red"), str(exc)))
        raise typer.Exit(1) from None
    console.print("The services are up: llmops status, llmops pipelines list --runs, llmops alerts list; "
                  "make down stops them.")
    typer.echo(json.dumps(summary, separators=(",", ":")))
