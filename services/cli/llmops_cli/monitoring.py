"""``llmops alerts``, ``llmops feedback`` and ``llmops inferences``: the monitoring service's alerts,
human feedback and its export into a new dataset version, and the inference log, over its gRPC API.

``feedback export --wait`` follows the ingestion service until a version of the dataset built from
the exported file exists (its source is the export's S3 URI), then prints it; a version that does not
appear within ``--timeout`` exits with 1. With ``--json`` every command prints the reply as proto3 JSON.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import typer
from google.protobuf.timestamp_pb2 import Timestamp
from rich.table import Table

from llmops.ingestion.v1 import ingestion_pb2 as ingestion_pb
from llmops.ingestion.v1 import ingestion_pb2_grpc
from llmops.monitoring.v1 import monitoring_pb2 as pb
from llmops.monitoring.v1 import monitoring_pb2_grpc
from llmops_cli.output import console, err_console
from llmops_cli.rpc import ServiceClient
from llmops_cli.services import SERVICES
from llmops_cli.toolkit import (
    ApiKeyOpt,
    JsonOpt,
    PageSizeOpt,
    PageTokenOpt,
    SinceOpt,
    UntilOpt,
    emit,
    enum_value,
    next_page,
    page,
    short_name,
    show_kv,
    time_range,
)
from llmops_cli.training_spec import choice, finite
from llmops_common.errors import InvalidArgument

alerts_app = typer.Typer(help="Monitoring alerts: drift, abuse, quality; list, acknowledge, resolve.",
                         no_args_is_help=True)
feedback_app = typer.Typer(help="Human feedback on inferences, and its export into a new dataset version.",
                           no_args_is_help=True)
inferences_app = typer.Typer(help="The inference log, with each request's detector scores.", no_args_is_help=True)

client = ServiceClient(SERVICES["monitoring"], monitoring_pb2_grpc.MonitoringServiceStub)
ingestion = ServiceClient(SERVICES["ingestion"], ingestion_pb2_grpc.IngestionServiceStub)

STATUSES = [v.name.removeprefix("ALERT_STATUS_").lower() for v in pb.AlertStatus.DESCRIPTOR.values if v.number]
KINDS = [v.name.removeprefix("ALERT_KIND_").lower() for v in pb.AlertKind.DESCRIPTOR.values if v.number]
SEVERITIES = [v.name.removeprefix("SEVERITY_").lower() for v in pb.Severity.DESCRIPTOR.values if v.number]
MIN_SCORE, MAX_SCORE = 1.0, 5.0
TEXT_CHARS = 60  # a prompt or output in a table, cut to this many characters

MonitoringOpt = Annotated[str | None, typer.Option("--monitoring", envvar="LLMOPS_MONITORING_ENDPOINT",
                                                   help="Monitoring service gRPC endpoint HOST:PORT.")]
NoteOpt = Annotated[str, typer.Option("--note", help="Why (recorded in the audit log).")]
AlertId = Annotated[str, typer.Argument(help="Alert id.")]


@alerts_app.callback()
def _connect_alerts(monitoring: MonitoringOpt = None, api_key: ApiKeyOpt = None) -> None:
    client.configure(monitoring, api_key)


@inferences_app.callback()
def _connect_inferences(monitoring: MonitoringOpt = None, api_key: ApiKeyOpt = None) -> None:
    client.configure(monitoring, api_key)


@feedback_app.callback()
def _connect_feedback(
    monitoring: MonitoringOpt = None,
    ingestion_endpoint: Annotated[str | None, typer.Option("--ingestion", envvar="LLMOPS_INGESTION_ENDPOINT",
                                                           help="Ingestion service gRPC endpoint HOST:PORT "
                                                                "(for export --wait).")] = None,
    api_key: ApiKeyOpt = None,
) -> None:
    client.configure(monitoring, api_key)
    ingestion.configure(ingestion_endpoint, api_key)


# -- pure ----------------------------------------------------------------------------------------------------


def when(stamp: Timestamp) -> str:
    return stamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S") if stamp.seconds or stamp.nanos else "-"


def clip(text: str, limit: int = TEXT_CHARS) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def alert_filter(status: str, kind: str, severity: str) -> dict[str, int]:
    """The ``ListAlerts`` enum filters from the options' short names (empty: any)."""
    return {"status": enum_value(pb.AlertStatus, "ALERT_STATUS_", choice(status.lower(), STATUSES, "--status"))
            if status else pb.ALERT_STATUS_UNSPECIFIED,
            "kind": enum_value(pb.AlertKind, "ALERT_KIND_", choice(kind.lower(), KINDS, "--kind"))
            if kind else pb.ALERT_KIND_UNSPECIFIED,
            "min_severity": enum_value(pb.Severity, "SEVERITY_", choice(severity.lower(), SEVERITIES, "--severity"))
            if severity else pb.SEVERITY_UNSPECIFIED}


def alert_row(a: pb.Alert) -> list[str]:
    """id, severity, kind, status, subject or model version, the statistics against their thresholds,
    occurrences, raised."""
    about = f"{a.subject_kind} {a.subject}" if a.subject else a.model_version or "-"
    stats = ", ".join(f"{k}={v:.4g}" + (f" (>{a.thresholds[k]:.4g})" if k in a.thresholds else "")
                      for k, v in sorted(a.values.items()))
    return [a.alert_id, short_name(pb.Severity, "SEVERITY_", a.severity),
            short_name(pb.AlertKind, "ALERT_KIND_", a.kind), short_name(pb.AlertStatus, "ALERT_STATUS_", a.status),
            about, stats or "-", str(a.occurrences or 1), when(a.raised_at)]


def feedback_request(inference_id: str, *, up: bool, down: bool, score: float | None, comment: str,
                     correction: str, categories: list[str], user: str, request_id: str) -> pb.SendFeedbackRequest:
    """The ``SendFeedback`` request; ``--up`` and ``--down`` exclude each other, a score is 1-5, and
    some rating, score, comment or correction must be given."""
    if up and down:
        raise InvalidArgument("give --up or --down, not both", field="--down")
    if score is not None and not MIN_SCORE <= finite(score, "--score") <= MAX_SCORE:
        raise InvalidArgument(f"{score} is not between {MIN_SCORE:g} and {MAX_SCORE:g}", field="--score")
    if not (up or down or score is not None or comment or correction or categories):
        raise InvalidArgument("give a rating (--up, --down or --score), a --comment, --correction or --category",
                              field="--up")
    rating = pb.RATING_POSITIVE if up else pb.RATING_NEGATIVE if down else pb.RATING_UNSPECIFIED
    request = pb.SendFeedbackRequest(inference_id=inference_id, rating=rating, comment=comment, correction=correction,
                                     categories=categories, user=user, request_id=request_id or uuid.uuid4().hex)
    if score is not None:
        request.score = score
    return request


def export_request(dataset: str, *, model_version: str, since: datetime | None, until: datetime | None,
                   corrections_only: bool, max_records: int, ingest: bool, request_id: str
                   ) -> pb.ExportFeedbackDatasetRequest:
    if max_records < 0:
        raise InvalidArgument(f"{max_records} is negative", field="--max-records")
    window = time_range(since, until)
    request = pb.ExportFeedbackDatasetRequest(dataset_name=dataset, model_version=model_version,
                                              corrections_only=corrections_only, max_records=max_records,
                                              request_ingestion=ingest, request_id=request_id or uuid.uuid4().hex)
    if window is not None:
        request.window.CopyFrom(window)
    return request


def version_from(versions: list[ingestion_pb.DatasetVersion], uri: str) -> ingestion_pb.DatasetVersion | None:
    """The version ingested from ``uri``, if any."""
    return next((v for v in versions if v.source.s3_uri == uri), None)


def wait_for_version(dataset: str, uri: str, list_versions: Callable[[str], list[ingestion_pb.DatasetVersion]], *,
                     timeout: float, interval: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], float] = time.monotonic) -> ingestion_pb.DatasetVersion | None:
    """Poll ``list_versions(dataset)`` until a version ingested from ``uri`` exists; None after ``timeout``."""
    deadline = clock() + timeout
    while True:
        found = version_from(list_versions(dataset), uri)
        if found is not None or clock() >= deadline:
            return found
        sleep(interval)


# -- alerts --------------------------------------------------------------------------------------------------


@alerts_app.command("list")
def list_alerts(status: Annotated[str, typer.Option("--status", help=f"Only alerts in this state: "
                                                                     f"{', '.join(STATUSES)}.")] = "",
                kind: Annotated[str, typer.Option("--kind", help=f"Only this kind: {', '.join(KINDS)}.")] = "",
                severity: Annotated[str, typer.Option("--severity", help=f"At least this severity: "
                                                                         f"{', '.join(SEVERITIES)}.")] = "",
                page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "", as_json: JsonOpt = False) -> None:
    """Alerts, newest first."""
    reply = client.call("ListAlerts", pb.ListAlertsRequest(page=page(page_size, page_token),
                                                           **alert_filter(status, kind, severity)))

    def render(reply: pb.ListAlertsResponse) -> None:
        table = Table("alert id", "severity", "kind", "status", "about", "statistic", "times", "raised",
                      title="alerts")
        for alert in reply.alerts:
            table.add_row(*alert_row(alert))
        console.print(table)
        next_page(reply.page)

    emit(reply, as_json, render)


def _act(method: str, alert_id: str, note: str, as_json: bool) -> None:
    alert = client.call(method, pb.AlertActionRequest(alert_id=alert_id, note=note))
    emit(alert, as_json, lambda a: console.print(
        f"alert {a.alert_id}: {short_name(pb.AlertStatus, 'ALERT_STATUS_', a.status)}"))


@alerts_app.command("ack")
def ack(alert_id: AlertId, note: NoteOpt = "", as_json: JsonOpt = False) -> None:
    """Acknowledge an alert (it stays open, so it is not raised again, until resolved)."""
    _act("AckAlert", alert_id, note, as_json)


@alerts_app.command("resolve")
def resolve(alert_id: AlertId, note: NoteOpt = "", as_json: JsonOpt = False) -> None:
    """Resolve an alert; the block behind a malicious-user alert ends with it."""
    _act("ResolveAlert", alert_id, note, as_json)


# -- feedback ------------------------------------------------------------------------------------------------


@feedback_app.command("send")
def send(inference_id: Annotated[str, typer.Argument(help="Inference id (serving's X-Request-Id).")],
         up: Annotated[bool, typer.Option("--up", help="Thumbs up.")] = False,
         down: Annotated[bool, typer.Option("--down", help="Thumbs down.")] = False,
         score: Annotated[float | None, typer.Option("--score", help="Score from 1 to 5.")] = None,
         comment: Annotated[str, typer.Option("--comment", help="Free-text comment.")] = "",
         correction: Annotated[str, typer.Option("--correction", help="The answer that was wanted.")] = "",
         category: Annotated[list[str] | None, typer.Option("--category", help="e.g. incorrect, harmful "
                                                                               "(repeatable).")] = None,
         user: Annotated[str, typer.Option("--user", help="The end user giving it.")] = "",
         request_id: Annotated[str, typer.Option("--request-id", help="Idempotency key (default: new).")] = "",
         as_json: JsonOpt = False) -> None:
    """Send feedback on one inference."""
    request = feedback_request(inference_id, up=up, down=down, score=score, comment=comment, correction=correction,
                               categories=category or [], user=user, request_id=request_id)
    reply = client.call("SendFeedback", request)
    emit(reply, as_json, lambda f: console.print(f"feedback {f.feedback_id} on {f.inference_id}"))


@feedback_app.command("export")
def export(dataset: Annotated[str, typer.Argument(help="Dataset the curated records become a version of.")],
           model_version: Annotated[str, typer.Option("--model-version", help="Only feedback on this model "
                                                                              "version, models:/NAME/N.")] = "",
           since: SinceOpt = None, until: UntilOpt = None,
           corrections_only: Annotated[bool, typer.Option("--corrections-only",
                                                          help="Only corrected answers.")] = False,
           max_records: Annotated[int, typer.Option("--max-records", help="At most this many (0: all).")] = 0,
           ingest: Annotated[bool, typer.Option("--ingest/--no-ingest", help="Ask ingestion for a new "
                                                                             "version of the dataset.")] = True,
           wait: Annotated[bool, typer.Option("--wait", help="Wait for the new dataset version.")] = False,
           timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits.")] = 600.0,
           request_id: Annotated[str, typer.Option("--request-id", help="Idempotency key (default: new).")] = "",
           as_json: JsonOpt = False) -> None:
    """Curate feedback (corrected and well-rated answers, deduplicated against the training data) into
    instruction/response records, and request a new version of DATASET from them."""
    if wait and not ingest:
        raise InvalidArgument("--wait waits for the ingestion that --no-ingest turns off", field="--wait")
    request = export_request(dataset, model_version=model_version, since=since, until=until,
                             corrections_only=corrections_only, max_records=max_records, ingest=ingest,
                             request_id=request_id)
    reply = client.call("ExportFeedbackDataset", request, timeout=300.0)
    emit(reply, as_json, lambda r: console.print(f"export {r.export_id}: {r.record_count} records at {r.uri}"))
    if not wait or not reply.record_count:
        return

    def list_versions(name: str) -> list[ingestion_pb.DatasetVersion]:
        return list(ingestion.call("ListDatasetVersions", ingestion_pb.ListDatasetVersionsRequest(
            dataset_name=name, page=page(50, ""))).versions)

    with err_console.status(f"waiting for a version of {dataset} from {reply.uri}"):
        version = wait_for_version(dataset, reply.uri, list_versions, timeout=timeout)
    if version is None:
        err_console.print(f"no version of {dataset} from {reply.uri} within {timeout:g}s")
        raise typer.Exit(1)
    emit(version, as_json, lambda v: show_kv(v, f"dataset version {v.dataset_name}@{v.version}"))


# -- inferences ----------------------------------------------------------------------------------------------


@inferences_app.command("list")
def list_inferences(model_version: Annotated[str, typer.Option("--model-version", help="models:/NAME/N.")] = "",
                    release: Annotated[str, typer.Option("--release", help="NAME@ALIAS.")] = "",
                    key: Annotated[str, typer.Option("--key", help="API key id.")] = "",
                    user: Annotated[str, typer.Option("--user", help="End user.")] = "",
                    session: Annotated[str, typer.Option("--session", help="Session id.")] = "",
                    since: SinceOpt = None, until: UntilOpt = None,
                    min_injection: Annotated[float, typer.Option("--min-injection", help="Only injection scores "
                                                                                        "of at least this.")] = 0.0,
                    page_size: PageSizeOpt = 0, page_token: PageTokenOpt = "", as_json: JsonOpt = False) -> None:
    """Logged inferences, newest first."""
    request = pb.ListInferencesRequest(page=page(page_size, page_token), model_version=model_version, release=release,
                                       key_id=key, user=user, session=session,
                                       min_injection_score=finite(min_injection, "--min-injection"))
    window = time_range(since, until)
    if window is not None:
        request.created.CopyFrom(window)
    reply = client.call("ListInferences", request)

    def render(reply: pb.ListInferencesResponse) -> None:
        table = Table("inference id", "model", "key", "user", "prompt", "output", "tokens", "ms", "injection",
                      "at", title="inferences")
        for i in reply.inferences:
            injection = f"{i.scores['injection']:.2f}" if "injection" in i.scores else "-"
            table.add_row(i.inference_id, i.release or i.model_version, i.key_id or "-", i.user or "-",
                          clip(i.prompt), clip(i.output), f"{i.prompt_tokens}+{i.completion_tokens}",
                          f"{i.latency_ms:.0f}", injection, when(i.created_at))
        console.print(table)
        next_page(reply.page)

    emit(reply, as_json, render)
