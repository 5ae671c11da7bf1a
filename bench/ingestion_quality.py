"""Benchmark: near-duplicate and PII quality of the preparation pipeline on planted ground truth.

Near duplicates. Data: B base documents (2,000; 1,000 with ``--quick``) of 80 to 200 random words
from a 20,000-word vocabulary, and for each base one variant per word-3-gram Jaccard bucket
[0.5, 0.7), [0.7, 0.8), [0.8, 0.85), [0.85, 0.9), [0.9, 1.0]: a copy with scattered words replaced
by another word no longer than the original, or deleted, until its exact Jaccard to the base falls
in the bucket, and shorter than the base. So each base is the longest, most complete member of its family (the record a
reader would want kept). Families share no vocabulary pattern, so records of different families are
unrelated. All records are shuffled with a fixed seed and written as one JSONL file.

Project: ``Preparation`` (the pipeline the ingestion worker runs) with the default config:
threshold 0.8, 128 permutations, word 3-grams. Baseline: datasketch ``MinHash(num_perm=128)`` of
the same lower-cased word 3-grams and ``MinHashLSH(threshold=0.8)``, in the shuffled order: ``query``,
drop the record when anything matched, else ``insert``; the loop every dedup script starts from.

Measures, per system:
- recall per bucket: the share of (base, variant) pairs of the bucket that were caught, i.e. not
  both kept (below 0.8 catching is not wanted; it is shown to see where each system cuts). Not both
  kept rather than the variant dropped, so that datasketch, which keeps whichever copy came first,
  is not charged for its choice of representative here;
- ``recall_at_0_85``: the same over the pairs with J >= 0.85;
- ``false_removal``: the share of distinct records (exact Jaccard below the threshold to every other
  record of the data set) that were dropped;
- ``representative_is_base``: the share of families in which the base is the record kept.

PII: ``measure_pii`` from ``bench/pii_quality.py`` (its keys are merged in as they are).

    python bench/ingestion_quality.py [--quick]

The last line printed is one JSON object with every figure and its target.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from datasketch import MinHash, MinHashLSH
from pii_quality import measure_pii

from llmops_ingestion.domain.config import PreparationConfig
from llmops_ingestion.preparation.pipeline import Preparation, SourceFile

THRESHOLD, NUM_PERM, SHINGLE = 0.8, 128, 3
BUCKETS = ((0.5, 0.7), (0.7, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 1.0001))
TARGETS = {"neardup_recall_at_0_85": 0.97, "neardup_false_removal": 0.005,
           "pii_recall_min_kind": 0.95, "pii_false_positive_rate": 0.01}


def bucket_name(low: float, high: float) -> str:
    return f"{low:.2f}-{min(high, 1.0):.2f}"


def shingles(text: str) -> set[str]:
    words = text.lower().split()
    if len(words) < SHINGLE:
        return set(words)
    return {" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return sorted({"".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(size)})


def variant(base: list[str], low: float, high: float, rng: random.Random, by_length: dict[int, list[str]]) -> list[str]:
    """A copy of ``base`` edited word by word until its Jaccard to it falls in [low, high)."""
    base_set = shingles(" ".join(base))
    for _ in range(50):
        words = list(base)
        while True:
            position = rng.randrange(len(words))
            if rng.random() < 0.3 and len(words) > SHINGLE + 1:
                del words[position]
            else:
                words[position] = rng.choice(by_length[rng.randint(2, len(words[position]))])
            similarity = jaccard(base_set, shingles(" ".join(words)))
            if similarity < high:
                break
        if similarity >= low and len(" ".join(words)) < len(" ".join(base)):
            return words
    raise RuntimeError(f"no variant in [{low}, {high}) after 50 tries")


def generate(path: Path, bases: int, seed: int = 16) -> list[dict]:
    """Write the shuffled records; return their ground truth (family, bucket or None for the base)."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    by_length: dict[int, list[str]] = {}
    for word in words:
        for length in range(len(word), 11):
            by_length.setdefault(length, []).append(word)
    records = []
    for family in range(bases):
        base = rng.choices(words, k=rng.randint(80, 200))
        records.append({"text": " ".join(base), "family": family, "bucket": None})
        for low, high in BUCKETS:
            records.append({"text": " ".join(variant(base, low, high, rng, by_length)), "family": family,
                            "bucket": bucket_name(low, high)})
    rng.shuffle(records)
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps({"text": record["text"]}) + "\n")
    mark_distinct(records)
    return records


def mark_distinct(records: list[dict]) -> None:
    """``to_base``: the exact Jaccard to the family's base; ``distinct``: below the threshold to every
    other record (families are unrelated to each other)."""
    families: dict[int, list[dict]] = {}
    for record in records:
        record["shingles"] = shingles(record["text"])
        families.setdefault(record["family"], []).append(record)
    for members in families.values():
        base = next(r for r in members if r["bucket"] is None)
        for record in members:
            record["to_base"] = jaccard(record["shingles"], base["shingles"])
            record["distinct"] = all(jaccard(record["shingles"], other["shingles"]) < THRESHOLD
                                     for other in members if other is not record)


def project_kept(path: Path, workdir: Path) -> tuple[set[str], float]:
    """Texts the pipeline kept, and its seconds."""
    start = time.perf_counter()
    outcome = Preparation(PreparationConfig(), workdir=workdir).run(
        [SourceFile(path, path.name)], version_exists=lambda _: False,
        source={"dataset_name": "quality", "uri": f"file://{path}", "format": "jsonl"})
    seconds = time.perf_counter() - start
    kept = set()
    for shard in (outcome.folder / "data").glob("*.parquet"):
        kept.update(pq.read_table(shard, columns=["text"]).column("text").to_pylist())
    return kept, seconds


def datasketch_kept(records: list[dict]) -> tuple[set[str], float]:
    """Texts the bare datasketch loop kept (in the shuffled order), and its seconds."""
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    kept = set()
    for index, record in enumerate(records):
        minhash = MinHash(num_perm=NUM_PERM)
        minhash.update_batch([s.encode() for s in record["shingles"]])
        if not lsh.query(minhash):
            lsh.insert(index, minhash)
            kept.add(record["text"])
    return kept, time.perf_counter() - start


def score(records: list[dict], kept: set[str]) -> dict:
    base_survived = {r["family"]: r["text"] in kept for r in records if r["bucket"] is None}
    by_bucket: dict[str, list[bool]] = {}
    high, distinct_dropped, distinct = [], 0, 0
    for record in records:
        dropped = record["text"] not in kept
        if record["bucket"] is not None:
            caught = dropped or not base_survived[record["family"]]
            by_bucket.setdefault(record["bucket"], []).append(caught)
            if record["to_base"] >= 0.85:
                high.append(caught)
        if record["distinct"]:
            distinct += 1
            distinct_dropped += dropped
    return {
        "recall_at_0_85": round(sum(high) / len(high), 4),
        "false_removal": round(distinct_dropped / max(distinct, 1), 5),
        "representative_is_base": round(sum(base_survived.values()) / len(base_survived), 4),
        "recall_by_bucket": {name: round(sum(v) / len(v), 4) for name, v in sorted(by_bucket.items())},
        "distinct_records": distinct,
    }


def main(quick: bool) -> dict:
    bases = 1_000 if quick else 2_000
    with tempfile.TemporaryDirectory(prefix="ingestion-quality-") as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "records.jsonl"
        start = time.perf_counter()
        records = generate(data, bases)
        print(f"generated {len(records):,} records ({bases:,} families) in {time.perf_counter() - start:.0f} s",
              flush=True)
        project, project_seconds = project_kept(data, tmp / "work")
    sketch, sketch_seconds = datasketch_kept(records)
    ours, theirs = score(records, project), score(records, sketch)
    for name, figures, seconds in (("project", ours, project_seconds), ("datasketch", theirs, sketch_seconds)):
        print(f"{name}: recall J>=0.85 {figures['recall_at_0_85']:.4f}, false removal {figures['false_removal']:.4f}, "
              f"base kept {figures['representative_is_base']:.3f}, by bucket {figures['recall_by_bucket']} "
              f"({seconds:.1f} s)", flush=True)
    pii = measure_pii(quick)
    result = {
        "bench": "ingestion_quality", "quick": quick, "records": len(records), "families": bases,
        "threshold": THRESHOLD,
        "neardup_recall_at_0_85": ours["recall_at_0_85"], "neardup_false_removal": ours["false_removal"],
        "neardup_representative_is_base": ours["representative_is_base"],
        "neardup_recall_by_bucket": ours["recall_by_bucket"],
        "datasketch_recall_at_0_85": theirs["recall_at_0_85"], "datasketch_false_removal": theirs["false_removal"],
        "datasketch_representative_is_base": theirs["representative_is_base"],
        "datasketch_recall_by_bucket": theirs["recall_by_bucket"],
        "recall_ratio": round(ours["recall_at_0_85"] / max(theirs["recall_at_0_85"], 1e-9), 3),
        "false_removal_ratio": round(ours["false_removal"] / theirs["false_removal"], 3)
        if theirs["false_removal"] else None,
        "distinct_records": ours["distinct_records"],
        "project_seconds": round(project_seconds, 1), "datasketch_seconds": round(sketch_seconds, 1),
    }
    result.update(pii)
    result["targets"] = TARGETS
    result["at_target"] = (result["neardup_recall_at_0_85"] >= TARGETS["neardup_recall_at_0_85"]
                           and result["neardup_false_removal"] <= TARGETS["neardup_false_removal"]
                           and result["pii_recall_min_kind"] >= TARGETS["pii_recall_min_kind"]
                           and result["pii_false_positive_rate"] <= TARGETS["pii_false_positive_rate"])
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 families and the PII bench's quick size")
    arguments = parser.parse_args()
    print(json.dumps(main(arguments.quick)), flush=True)
    sys.exit(0)
