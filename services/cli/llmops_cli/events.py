"""``llmops events tail [SUBJECT]``: the events on the bus, live, as readable lines or as JSON.

Every event stream whose subjects overlap SUBJECT (a NATS subject, wildcards allowed) is read from a
snapshot of its last sequence: ``--since``/``--last`` first replay the stored events up to that point
(an ephemeral pull consumer per stream, merged across streams by time; ``--last`` reads the matching
history once and keeps only the last N), then an ordered push consumer
per stream delivers from the next sequence on, so nothing is skipped or shown twice between the two.

Events are shown as published, hostile ones included: a body that is not JSON, is not a valid
envelope, or holds control characters is printed with those characters escaped and long values cut.
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from llmops_cli.event_lines import Event, TailOptions, parse_duration, parse_subject
from llmops_cli.local import load_stack
from llmops_cli.output import console, err_console
from llmops_common.settings import CommonSettings

events_app = typer.Typer(help="Watch the events on the bus.")


def nats_settings() -> CommonSettings:
    """The NATS the other commands use: the local stack's, overridden by ``$LLMOPS_NATS_URL`` etc."""
    env = load_stack().env()
    return CommonSettings.from_variables({**env, **{k: v for k, v in os.environ.items() if k.startswith("LLMOPS_")}})


# -- command ----------------------------------------------------------------------------------------


@events_app.command("tail")
def tail_cmd(
    subject: Annotated[str, typer.Argument(metavar="SUBJECT",
                                           help="NATS subject filter; wildcards * and > allowed.")] = "llmops.>",
    since: Annotated[str | None, typer.Option("--since", help="First replay the events of this long ago: "
                                              "30s, 5m, 2h, 1d.")] = None,
    last: Annotated[int | None, typer.Option("--last", min=0, help="First replay the last N stored events.")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, help="Stop after N events.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=0.0, help="Stop after this many seconds "
                                                  "(exit code 1 if --count was not reached).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON envelope per line, as published.")] = False,
) -> None:
    """Print the events on SUBJECT as they are published (Ctrl-C stops): time, subject, correlation id,
    producer and the payload's key fields; or, with --json, each envelope as published."""
    options = TailOptions(parse_subject(subject), parse_duration(since) if since is not None else None, last, count,
                          timeout, as_json)

    def emit(event: Event) -> None:
        if as_json:
            typer.echo(event.json_line())
        else:
            console.print(event.line(), soft_wrap=True)

    def ready(streams: list[str]) -> None:
        err_console.print(f"watching {options.subject} on {', '.join(streams)} (Ctrl-C stops)", soft_wrap=True)

    try:
        from llmops_cli.events_reader import run_tail  # nats-py only when a tail runs, not at every CLI start

        emitted = asyncio.run(run_tail(nats_settings(), options, emit, ready))
    except KeyboardInterrupt:
        return
    if emitted < 0 and count is not None:
        raise typer.Exit(1)
