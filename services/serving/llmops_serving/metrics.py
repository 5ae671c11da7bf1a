"""Serving's request metrics (the engine's own are in ``llmops_inference.metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

REQUESTS = Counter("llmops_serving_requests_total", "Generation requests by outcome", ["model", "api", "outcome"])
LATENCY = Histogram("llmops_serving_request_seconds", "Request latency, start to last token", ["model", "api"],
                    buckets=LATENCY_BUCKETS)
TTFT = Histogram("llmops_serving_ttft_seconds", "Time to first token", ["model", "api"], buckets=LATENCY_BUCKETS)
TOKENS = Counter("llmops_serving_tokens_total", "Tokens by kind (prompt, completion)", ["model", "kind"])
RELOADS = Counter("llmops_serving_reloads_total", "Alias reloads by outcome", ["outcome"])
LOG_BUFFERED = Gauge("llmops_serving_inference_log_buffered", "Inference events waiting to be published")
LOG_DROPPED = Counter("llmops_serving_inference_log_dropped_total", "Inference events dropped: the buffer was full")
