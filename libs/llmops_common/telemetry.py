"""Structured logs and Prometheus metrics, configured once per process by its ``main``."""

from __future__ import annotations

import logging
import sys

from prometheus_client import Counter, Histogram, start_http_server
from pythonjsonlogger.json import JsonFormatter

GRPC_REQUESTS = Counter("llmops_grpc_requests_total", "gRPC requests handled", ["service", "method", "code"])
GRPC_LATENCY = Histogram(
    "llmops_grpc_request_seconds",
    "gRPC request latency",
    ["service", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class _ContextFilter(logging.Filter):
    """Adds the correlation id of the event or request being handled to every record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        from llmops_common.bus import correlation_id

        record.service = self.service
        record.correlation_id = correlation_id.get()
        return True


def configure_logging(service: str, *, fmt: str = "json", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(service))
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s")
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def start_metrics_server(port: int) -> None:
    """Serve /metrics on ``port`` (0 disables it)."""
    if port:
        start_http_server(port)
