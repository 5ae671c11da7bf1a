"""The demo's data: a seeded sample dataset with planted defects, and the traffic sent to the served model.

The task is made for a tiny bootstrapped base: capitals of made-up countries, where a country
``<Stem>land`` always has the capital ``<Stem>ton`` and every answer has one format
("The capital of Brailand is Braiton."). A base pretrained only on stories answers with story text;
a LoRA fine-tune learns the format and the copy within a few dozen steps, so BLEU and ROUGE-L rise
well clear of their intervals. The stems are coined from the syllables of the bootstrap corpus
(``llmops_training.base_models.corpus``), so the base's tokenizer has pieces for them.

Planted defects, each in a record of its own, so ingestion's counts equal the ground truth:
exact copies (dropped by exact dedup), copies with the question lower-cased (the same lower-cased
word shingles: dropped by near dedup, not by exact dedup) and questions carrying an e-mail address or
a phone number (redacted to ``[EMAIL]``/``[PHONE]``).

Traffic reuses the monitoring detectors' generated populations (``llmops_common.testing.monitoring_data``):
injection attempts from its held-out attacks, a drifted batch from the topic its shifted window brings in.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llmops_common.testing.monitoring_data import held_out_attacks, new_topic_prompts
from llmops_training.base_models.corpus import CODAS, ONSETS, PEOPLE, VOWELS

#: The prompt the demo creates; records render through it for training and evaluation.
PROMPT_TEMPLATE = "Question: {{ instruction }}\nAnswer:"
QUESTIONS = ("What is the capital of {}?", "Which city is the capital of {}?", "Name the capital of {}.")
_EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net")


@dataclass(frozen=True)
class Planted:
    """What ingestion should remove or redact: duplicate records dropped, and PII findings by kind."""

    exact_duplicates: int
    near_duplicates: int
    pii: dict[str, int]


@dataclass(frozen=True)
class SampleDataset:
    records: list[dict[str, str]]  # instruction-shaped: {"instruction", "output"}
    planted: Planted
    stems: frozenset[str]  # of the countries it names


def _stems(rng: random.Random, count: int, exclude: frozenset[str] = frozenset()) -> list[str]:
    """``count`` distinct two-syllable stems from the corpus's syllables, none in ``exclude``."""
    stems: list[str] = []
    seen = set(exclude)
    while len(stems) < count:
        stem = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(2)).capitalize()
        if stem not in seen:
            seen.add(stem)
            stems.append(stem)
    return stems


def country(stem: str) -> str:
    return f"{stem}land"


def answer(stem: str) -> str:
    """The one answer format: ``The capital of <Stem>land is <Stem>ton.``"""
    return f"The capital of {country(stem)} is {stem}ton."


def _question(rng: random.Random, stem: str) -> str:
    return rng.choice(QUESTIONS).format(country(stem))


def _email(rng: random.Random) -> str:
    first = rng.choice(PEOPLE[rng.choice(sorted(PEOPLE))]).lower()
    return f"{first}.{rng.choice(ONSETS)}{rng.randrange(10, 100)}@{rng.choice(_EMAIL_DOMAINS)}"


def _phone(rng: random.Random) -> str:
    return rng.choice((f"+44 20 7946 {rng.randrange(1000, 10000)}", f"202-555-{rng.randrange(100, 1000):04d}"))


def sample_dataset(size: int = 600, *, seed: int = 0, exact_duplicates: int = 12, near_duplicates: int = 8,
                   emails: int = 6, phones: int = 6) -> SampleDataset:
    """``size`` distinct question-answer records, then the planted defects added and the whole shuffled.
    The same arguments give the same records."""
    if min(size, exact_duplicates, near_duplicates, emails, phones) < 0:
        raise ValueError("every count must be 0 or more")
    if exact_duplicates + near_duplicates + emails + phones > size:
        raise ValueError("more planted defects than records to plant them in")
    rng = random.Random(seed)
    stems = _stems(rng, size)
    records = [{"instruction": _question(rng, stem), "output": answer(stem)} for stem in stems]
    # each defect gets a record of its own, so a redacted record never meets its copy
    chosen = iter(rng.sample(range(size), exact_duplicates + near_duplicates + emails + phones))
    planted = [dict(records[next(chosen)]) for _ in range(exact_duplicates)]
    planted += [records[i] | {"instruction": records[i]["instruction"].lower()}
                for i in (next(chosen) for _ in range(near_duplicates))]
    for count, kind, make in ((emails, "Write to me at {}.", _email), (phones, "Call me on {}.", _phone)):
        for i in (next(chosen) for _ in range(count)):
            records[i] = records[i] | {"instruction": f"{records[i]['instruction']} {kind.format(make(rng))}"}
    records += planted
    rng.shuffle(records)
    pii = {kind: n for kind, n in (("email", emails), ("phone", phones)) if n}
    return SampleDataset(records, Planted(exact_duplicates, near_duplicates, pii), frozenset(stems))


def write_jsonl(path: Path, records: Sequence[dict[str, str]]) -> Path:
    """The records as JSON Lines, the format ``llmops datasets ingest`` detects."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def task_questions(count: int, *, seed: int = 0, exclude: frozenset[str] = frozenset()) -> list[str]:
    """Ordinary in-task questions for the traffic, about ``count`` countries whose stems are not in
    ``exclude`` (pass ``SampleDataset.stems`` to ask only about countries the model never saw)."""
    rng = random.Random(f"traffic-{seed}")
    return [_question(rng, stem) for stem in _stems(rng, count, exclude)]


def injection_attempts(count: int, *, seed: int = 0) -> list[str]:
    """``count`` distinct prompt-injection attempts drawn from the monitoring detectors' held-out attacks."""
    return random.Random(seed).sample(held_out_attacks(), count)


def drifted_prompts(count: int, *, seed: int = 0) -> list[str]:
    """``count`` distinct off-topic prompts (legal questions), the topic a drifted window brings in."""
    return random.Random(seed).sample(new_topic_prompts(), count)
