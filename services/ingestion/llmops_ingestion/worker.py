"""One preparation in a child process: the service stays responsive (no GIL shared with gRPC), a
crash or an out-of-memory kill takes the job down and not the service, and the memory a big job
needed goes back to the system when the child exits.

The parent thread relays the child's progress, answers its one question (does this version exist
already?), and tells it to stop when the service is stopping; the child answers with the outcome
or the failure. Children are spawned, never forked: the service process runs gRPC threads.
"""

from __future__ import annotations

import multiprocessing
import resource
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from llmops_common.errors import DomainError, ErrorCode
from llmops_ingestion.domain.config import PreparationConfig
from llmops_ingestion.domain.limits import ExpansionLimit
from llmops_ingestion.domain.shapes import Shape
from llmops_ingestion.preparation.pipeline import Outcome, Preparation, PreparationFailed, Progress, SourceFile

_POLL_SECONDS = 0.2


class Interrupted(Exception):
    """The parent asked the child to stop (the service is shutting down)."""


class WorkerDied(Exception):
    """The child ended without an answer (killed, out of memory, crashed in native code)."""


@dataclass(frozen=True)
class PreparationTask:
    config: PreparationConfig
    shape: Shape | None
    column_mapping: dict[str, str]
    workdir: Path
    max_record_bytes: int
    shard_records: int
    files: list[SourceFile]
    source: dict[str, Any]
    expansion: ExpansionLimit = ExpansionLimit()


def run_in_child(task: PreparationTask, *, version_exists: Callable[[str], bool],
                 on_progress: Callable[[Progress], None], should_stop: Callable[[], bool]) -> tuple[Outcome, int]:
    """(outcome, peak resident bytes of the child). Raises what the preparation raised, ``Interrupted``
    when stopped, or ``WorkerDied``."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child_main, args=(task, child), name="llmops-ingestion-worker", daemon=True)
    process.start()
    child.close()
    stop_sent = False
    try:
        while True:
            if should_stop() and not stop_sent:
                parent.send(("stop",))
                stop_sent = True
            if not parent.poll(_POLL_SECONDS):
                if not process.is_alive() and not parent.poll():
                    raise WorkerDied(f"the preparation process ended without an answer (exit code {process.exitcode})")
                continue
            try:
                message = parent.recv()
            except EOFError:
                process.join(5)
                raise WorkerDied(f"the preparation process died (exit code {process.exitcode})") from None
            kind = message[0]
            if kind == "progress":
                on_progress(message[1])
            elif kind == "exists":
                parent.send(("exists", version_exists(message[1])))
            elif kind == "done":
                return message[1], message[2]
            elif kind == "interrupted":
                raise Interrupted
            elif kind == "failed":
                raise PreparationFailed(message[1], file=message[2], line=message[3])
            elif kind == "domain":
                raise DomainError(message[1], field=message[2], code=ErrorCode(message[3]))
            else:  # "error": an unexpected exception in the child, with its traceback
                raise RuntimeError(f"preparation process error: {message[1]}\n{message[2]}")
    finally:
        parent.close()
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()


def _child_main(task: PreparationTask, conn: Connection) -> None:
    from llmops_ingestion.preparation.report.page import render_html  # only the child needs matplotlib

    def on_progress(progress: Progress) -> None:
        conn.send(("progress", progress))
        if conn.poll() and conn.recv()[0] == "stop":
            raise Interrupted

    def version_exists(version: str) -> bool:
        conn.send(("exists", version))
        reply = conn.recv()  # the answer, or a stop sent before the parent saw the question
        if reply[0] == "stop":
            raise Interrupted
        return bool(reply[1])

    try:
        preparation = Preparation(task.config, shape=task.shape, column_mapping=task.column_mapping,
                                  workdir=task.workdir, max_record_bytes=task.max_record_bytes,
                                  expansion=task.expansion,
                                  shard_records=task.shard_records, on_progress=on_progress)
        outcome = preparation.run(task.files, version_exists=version_exists, source=task.source)
        if outcome.profile is not None and outcome.folder is not None:
            (outcome.folder / "profile.html").write_text(render_html(outcome.profile), encoding="utf-8")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        conn.send(("done", outcome, peak))
    except Interrupted:
        conn.send(("interrupted",))
    except PreparationFailed as exc:
        conn.send(("failed", exc.problem, exc.file, exc.line))
    except DomainError as exc:
        conn.send(("domain", exc.message, exc.field, str(exc.code)))
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent, which logs it
        conn.send(("error", repr(exc), traceback.format_exc()))
    finally:
        conn.close()
