"""Training examples from a dataset version's Parquet shards: read from S3, each record rendered into
(prompt, completion) text, tokenized with the loss masked on the prompt tokens, optionally packed,
then batched per rank in a seeded order that a resumed run can replay from any step."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from llmops_common.records import record_prompt
from llmops_training.jobs.protocol import DataPlan

IGNORE = -100  # the label of a token the loss skips


@dataclass(frozen=True)
class Example:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]  # IGNORE on prompt tokens


def read_records(uris: Sequence[str], fs: pafs.FileSystem) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for uri in uris:
        records.extend(pq.read_table(uri.removeprefix("s3://"), filesystem=fs).to_pylist())
    return records


def prompt_and_completion(record: dict[str, Any], plan: DataPlan) -> tuple[str, str]:
    """The text the loss ignores and the text it trains on (``llmops_common.records``)."""
    return record_prompt(record, plan.shape, plan.template)


def tokenize(records: Sequence[dict[str, Any]], plan: DataPlan, tokenizer: Any, max_length: int) -> list[Example]:
    """One example per record: [bos] prompt completion [eos], cut at ``max_length``; records that
    keep no completion token after the cut are left out."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    examples = []
    for record in records:
        prompt, completion = prompt_and_completion(record, plan)
        prompt_ids = bos + (tokenizer.encode(prompt, add_special_tokens=False) if prompt else [])
        completion_ids = tokenizer.encode(completion, add_special_tokens=False) + eos
        ids = (prompt_ids + completion_ids)[:max_length]
        labels = ([IGNORE] * len(prompt_ids) + completion_ids)[:max_length]
        if any(label != IGNORE for label in labels[1:]):
            examples.append(Example(tuple(ids), tuple(labels)))
    return examples


def pack(examples: Sequence[Example], max_length: int) -> list[Example]:
    """Concatenate examples into sequences of ``max_length`` tokens (the last may be shorter)."""
    ids: list[int] = []
    labels: list[int] = []
    for example in examples:
        ids.extend(example.input_ids)
        labels.extend(example.labels)
    return [Example(tuple(ids[i:i + max_length]), tuple(labels[i:i + max_length]))
            for i in range(0, len(ids), max_length) if len(ids[i:i + max_length]) > 1]


@dataclass(frozen=True)
class BatchOrder:
    """Which examples each rank sees at each micro-step: a seeded shuffle per epoch, every rank a
    disjoint slice, so step ``s`` is the same batch whether or not the run was resumed before it."""

    size: int  # examples
    micro_batch: int
    world: int
    seed: int

    @property
    def micro_steps_per_epoch(self) -> int:
        return max(1, self.size // (self.micro_batch * self.world))

    def micro_batch_at(self, micro_step: int, rank: int) -> list[int]:
        epoch, index = divmod(micro_step, self.micro_steps_per_epoch)
        order = list(range(self.size))
        random.Random(self.seed * 1_000_003 + epoch).shuffle(order)
        start = (index * self.world + rank) * self.micro_batch
        chosen = order[start:start + self.micro_batch]
        return chosen or order[:self.micro_batch]  # fewer examples than one global batch


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors: input_ids, attention_mask, labels (IGNORE on padding)."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    ids = [list(e.input_ids) + [pad_id] * (width - len(e.input_ids)) for e in examples]
    labels = [list(e.labels) + [IGNORE] * (width - len(e.labels)) for e in examples]
    mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in examples]
    return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask), "labels": torch.tensor(labels)}


def validation_batches(examples: Sequence[Example], micro_batch: int, rank: int, world: int,
                       limit: int = 256) -> Iterator[list[Example]]:
    """This rank's share of (at most ``limit``) validation examples, in micro-batches."""
    mine = list(examples[:limit])[rank::world]
    for i in range(0, len(mine), micro_batch):
        yield mine[i:i + micro_batch]
