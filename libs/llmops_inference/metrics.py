"""The engine's Prometheus metrics, labelled by engine (its base model)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ACTIVE = Gauge("llmops_engine_active_sequences", "Sequences in the running batch", ["engine"])
WAITING = Gauge("llmops_engine_waiting_requests", "Requests queued for a batch slot", ["engine"])
KV_TOKENS = Gauge("llmops_engine_kv_cache_tokens", "Tokens held in the KV cache", ["engine"])
KV_BYTES = Gauge("llmops_engine_kv_cache_bytes", "Bytes held by the KV cache, padding included", ["engine"])
ADAPTERS = Gauge("llmops_engine_loaded_adapters", "LoRA adapters in memory", ["engine"])
BATCH = Histogram("llmops_engine_batch_size", "Rows per decoding step", ["engine"],
                  buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
TOKENS = Counter("llmops_engine_generated_tokens_total", "Tokens generated", ["engine"])
PROMPT_TOKENS = Counter("llmops_engine_prompt_tokens_total", "Prompt tokens prefilled", ["engine"])
