"""A render worker process: reads render requests on stdin, answers on stdout, one at a time, under
an address-space limit (``RLIMIT_AS``). ``RenderPool`` runs it as ``python -m
llmops_common.templating.worker <limit>`` and kills it; it is no command for people (no console
entry point). Security events are logged by the parent.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import sys
from typing import Any

from llmops_common.errors import DomainError
from llmops_common.templating.limits import UnsafeTemplate, plain_message
from llmops_common.templating.render import render
from llmops_common.templating.wire import encode, read, template_from_wire


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Render one request; every outcome is a reply (an output or an error with its kind)."""
    try:
        output = render(template_from_wire(request["template"]), request["values"])
        reply: dict[str, Any] = {"output": output if isinstance(output, str) else [[m.role, m.content] for m in output]}
    except DomainError as exc:
        kind = "unsafe" if isinstance(exc, UnsafeTemplate) else "invalid"
        reply = {"error": {"kind": kind, "message": exc.message, "field": exc.field}}
    except MemoryError:
        reply = {"error": {"kind": "invalid", "message": "the render ran out of memory", "field": "template"}}
    except Exception as exc:  # noqa: BLE001 - a malformed request; the parent reports it
        reply = {"error": {"kind": "invalid", "message": f"the render failed: {plain_message(exc)}",
                           "field": "template"}}
    reply["peak_rss_kb"] = peak_rss_kb()
    return reply


def peak_rss_kb() -> int:
    """This process's peak resident set (``VmHWM``). Not ``getrusage``: Linux keeps ``ru_maxrss``
    across ``exec``, so a worker forked from a large parent would report the parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # no procfs: an upper bound


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its workers itself
    logging.getLogger().addHandler(logging.NullHandler())
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the reply stream
    replies.write(encode({"ready": True}))
    replies.flush()
    while (request := read(sys.stdin.buffer)) is not None:
        try:
            replies.write(encode(handle(request)))
            replies.flush()
        except BrokenPipeError:
            return  # the parent is gone
        except MemoryError:
            sys.exit(3)  # the parent sees the stream end and reports the render as stopped


if __name__ == "__main__":
    main()
