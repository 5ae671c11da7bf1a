"""A dataset version's split as evaluation examples: its Parquet shards read from S3 (bounded in bytes
and records), each record rendered through the prompt exactly as training renders it
(``llmops_common.records``)."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq

from llmops_common.errors import DomainError, FailedPrecondition, ResourceExhausted
from llmops_common.records import record_prompt
from llmops_common.storage import ArtifactStore
from llmops_common.templating.limits import RenderRefused
from llmops_common.validation import quote
from llmops_evaluation.domain.results import Example
from llmops_evaluation.references import ResolvedDataset


def load_examples(store: ArtifactStore, dataset: ResolvedDataset, template: dict[str, Any] | None, *,
                  max_samples: int, max_examples: int, max_shard_bytes: int) -> list[Example]:
    """The first ``max_samples`` records (0: all) in shard order, rendered (blocking). A split over
    ``max_examples`` records with no ``max_samples`` is RESOURCE_EXHAUSTED; a record the prompt cannot
    render is FAILED_PRECONDITION naming it."""
    limit = max_samples or max_examples + 1
    examples: list[Example] = []
    for uri in dataset.uris:
        if store.stat(uri).size > max_shard_bytes:
            raise ResourceExhausted(f"shard {quote(uri, 120)} is over {max_shard_bytes:,} bytes")
        table = pq.read_table(io.BytesIO(store.get_bytes(uri)))
        for row in table.to_pylist():
            if len(examples) >= limit:
                break
            examples.append(_example(row, dataset, template))
    if not max_samples and len(examples) > max_examples:
        raise ResourceExhausted(f"the split has over {max_examples:,} records; set max_samples")
    if not examples:
        raise FailedPrecondition(f"dataset version {quote(dataset.reference)} has no records in this split",
                                 field="spec.split")
    return examples


def _example(row: dict[str, Any], dataset: ResolvedDataset, template: dict[str, Any] | None) -> Example:
    record_id = str(row.get("record_id") or "")
    try:
        prompt, reference = record_prompt(row, dataset.shape, template)
    except (RenderRefused, DomainError, KeyError, TypeError, ValueError) as exc:
        raise FailedPrecondition(f"record {quote(record_id, 80)} of {quote(dataset.reference)} cannot be rendered: "
                                 f"{quote(str(exc), 160)}", field="spec.prompt_version") from None
    return Example(record_id, prompt, reference)
