"""The demo's sample dataset and traffic: seeded, one answer format, and planted defects that ingestion's
own preparation removes and redacts in exactly the numbers reported."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_cli.demo_data import (
    answer,
    drifted_prompts,
    injection_attempts,
    sample_dataset,
    task_questions,
    write_jsonl,
)
from llmops_common.testing.monitoring_data import held_out_attacks, new_topic_prompts
from llmops_ingestion.domain.config import parse_config
from llmops_ingestion.preparation.pipeline import Preparation, SourceFile

ANSWER = re.compile(r"The capital of ([A-Z][a-z]+)land is \1ton\.")


@given(seed=st.integers(0, 2**32), size=st.integers(20, 80))
@settings(max_examples=25, deadline=None)
def test_the_same_seed_gives_the_same_records_and_every_answer_has_the_format(seed, size):
    data = sample_dataset(size, seed=seed, exact_duplicates=3, near_duplicates=2, emails=2, phones=1)
    assert data == sample_dataset(size, seed=seed, exact_duplicates=3, near_duplicates=2, emails=2, phones=1)
    assert len(data.records) == size + 3 + 2
    for record in data.records:
        stem = ANSWER.fullmatch(record["output"]).group(1)
        assert stem in data.stems and f"{stem}land".lower() in record["instruction"].lower()


def test_another_seed_gives_other_records():
    assert sample_dataset(50, seed=1).records != sample_dataset(50, seed=2).records


def test_the_planted_counts_are_what_the_records_hold():
    data = sample_dataset(200, seed=7, exact_duplicates=5, near_duplicates=4, emails=3, phones=2)
    keys = [(r["instruction"], r["output"]) for r in data.records]
    assert len(keys) - len(set(keys)) == data.planted.exact_duplicates == 5
    lowered = [(i.lower(), o) for i, o in set(keys)]
    assert len(lowered) - len(set(lowered)) == data.planted.near_duplicates == 4
    assert sum("Write to me at" in i for i, _ in keys) == data.planted.pii["email"] == 3
    assert sum("Call me on" in i for i, _ in keys) == data.planted.pii["phone"] == 2


def test_ingestions_preparation_drops_and_redacts_exactly_the_planted_defects(tmp_path):
    data = sample_dataset(300, seed=3)
    source = write_jsonl(tmp_path / "capitals.jsonl", data.records)
    outcome = Preparation(parse_config(None), workdir=tmp_path / "work").run(
        [SourceFile(source, source.name)], version_exists=lambda _: False,
        source={"dataset_name": "capitals", "uri": "test", "format": "detect"})
    dropped = {s["step"]: s["dropped_by_reason"] for s in outcome.steps}
    assert dropped["exact_dedup"] == {"exact_duplicate": data.planted.exact_duplicates}
    assert dropped["near_dedup"] == {"near_duplicate": data.planted.near_duplicates}
    assert outcome.profile["pii_counts"] == data.planted.pii
    assert outcome.record_count == 300


def test_too_many_defects_for_the_records_are_refused():
    with pytest.raises(ValueError, match="more planted defects"):
        sample_dataset(10, exact_duplicates=5, near_duplicates=5, emails=1, phones=0)


def test_traffic_questions_ask_in_the_task_format_about_countries_the_dataset_never_names():
    data = sample_dataset(100, seed=0)
    questions = task_questions(30, seed=0, exclude=data.stems)
    assert questions == task_questions(30, seed=0, exclude=data.stems) and len(set(questions)) == 30
    for question in questions:
        stem = re.search(r"of ([A-Z][a-z]+)land", question).group(1)
        assert stem not in data.stems and answer(stem) == f"The capital of {stem}land is {stem}ton."


def test_injections_and_drift_come_from_the_monitoring_populations():
    attacks, drifted = injection_attempts(12, seed=4), drifted_prompts(20, seed=4)
    assert attacks == injection_attempts(12, seed=4) and len(set(attacks)) == 12
    assert set(attacks) <= set(held_out_attacks()) and set(drifted) <= set(new_topic_prompts())
    assert len(set(drifted)) == 20 and not any("capital" in p for p in drifted)
