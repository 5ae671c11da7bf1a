"""Benchmark: the evaluation service's metric scoring against direct sacrebleu and rouge-score calls, and
its batched generation against one-at-a-time ``generate``, each side by side in one run.

metric_ratio
  Pairs: references are documents of the project's seeded corpus (``llmops_training.base_models``),
  one sentence a line (so rougeLsum has several sentences); hypotheses are the same text with about
  a fifth of the words dropped, a tenth replaced by words of another document and adjacent words
  swapped now and then, and one in twenty empty (seed 0). The same pairs on both sides.
  project   ``MetricSuite(["bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum"]).score``:
            corpus BLEU and chrF statistics, per-example sentence values and ROUGE F1.
  direct    ``sacrebleu.corpus_bleu``, ``sacrebleu.corpus_chrf`` and ``RougeScorer([...],
            use_stemmer=True).score`` on every pair: what a team would call without the service.
  Pairs/s of each, interleaved over rounds (every side once a round), median round; ratio =
  project / direct. The suite's ``summarize`` (bootstrap intervals, 1,000 resamples) is timed apart
  (``interval_seconds``): the direct calls have no intervals to compare it with.

generation_speedup
  Model: ``llmops_common.testing.tiny_lm.build_base`` with hidden 512, 7 layers (about 17M
  parameters; byte-level BPE, vocabulary 400, context 256), random weights, seed 0, fp32 on the CPU.
  Prompts: the first 24 tokens of corpus documents (seed 7); greedy; at most ``NEW_TOKENS`` new tokens.
  project   ``generate_shard`` of one ShardPlan holding every prompt (the engine's continuous
            batching, ``max_batch`` 64); the folder sits in the shard cache under its digest, so no
            S3 is involved. Time: the shard's own wall clock from its first submission to its last
            output (model loading is reported apart, ``engine_load_seconds``).
  baseline  ``model.generate`` one prompt at a time (greedy, the same ``max_new_tokens``), the model
            loaded beforehand.
  Both sides stop at EOS alike (greedy on the same weights); tokens are counted from each side's
  output (``output_tokens`` / the new ids), and ``identical_outputs`` is the share of prompts whose
  texts agree. Same torch thread count on both (``--threads``, ``OMP_NUM_THREADS`` and
  ``torch.set_num_threads``; default 1, what a Ray task reserving one CPU gets).

    python bench/evaluation.py [--quick] [--threads N]

The last line printed is one JSON object (see CONVENTIONS.md, habit 10).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

TARGETS = {"metric_ratio": 0.9, "generation_speedup": 5.0}
ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
SUITE_METRICS = ["bleu", "chrf", *ROUGE_TYPES]
PROMPT_TOKENS, NEW_TOKENS = 24, 32
MODEL = {"hidden": 512, "layers": 7}


def make_pairs(count: int) -> tuple[list[str], list[str]]:
    from llmops_training.base_models.corpus import generate_documents

    rng = random.Random(0)
    docs = generate_documents(seed=1, count=count)
    references = [doc.replace(". ", ".\n") for doc in docs]
    hypotheses = []
    for i, ref in enumerate(references):
        if rng.random() < 0.05:
            hypotheses.append("")
            continue
        other = docs[(i + 1) % len(docs)].split()
        words = [w if rng.random() > 0.1 else rng.choice(other) for w in ref.split(" ") if rng.random() > 0.2]
        for j in range(len(words) - 1):
            if rng.random() < 0.05:
                words[j], words[j + 1] = words[j + 1], words[j]
        hypotheses.append(" ".join(words))
    return hypotheses, references


def project_metrics(hypotheses: list[str], references: list[str]) -> tuple[float, float, dict]:
    from llmops_evaluation.domain.results import Example, Generation, ModelOutputs
    from llmops_evaluation.metrics.suite import MetricSuite

    examples = [Example(f"r{i}", "", r) for i, r in enumerate(references)]
    outputs = ModelOutputs("candidate", "models:/bench/1",
                           tuple(Generation(f"r{i}", output=h) for i, h in enumerate(hypotheses)))
    suite = MetricSuite(SUITE_METRICS)
    start = time.perf_counter()
    scores = suite.score(examples, outputs)
    scored = time.perf_counter()
    summary = suite.summarize(scores)
    return scored - start, time.perf_counter() - scored, {k: v.value for k, v in summary.items()}


def direct_metrics(hypotheses: list[str], references: list[str]) -> tuple[float, dict]:
    import sacrebleu
    from rouge_score.rouge_scorer import RougeScorer

    start = time.perf_counter()
    bleu = sacrebleu.corpus_bleu(hypotheses, [references]).score
    chrf = sacrebleu.corpus_chrf(hypotheses, [references]).score
    scorer = RougeScorer(ROUGE_TYPES, use_stemmer=True)
    sums = dict.fromkeys(ROUGE_TYPES, 0.0)
    for hyp, ref in zip(hypotheses, references, strict=True):
        for name, score in scorer.score(ref, hyp).items():
            sums[name] += score.fmeasure
    values = {"bleu": bleu, "chrf": chrf, **{k: v / len(references) for k, v in sums.items()}}
    return time.perf_counter() - start, values


def bench_metrics(count: int, rounds: int) -> dict:
    hypotheses, references = make_pairs(count)
    project, direct, intervals = [], [], []
    for _ in range(rounds):
        seconds, interval_seconds, ours = project_metrics(hypotheses, references)
        project.append(seconds)
        intervals.append(interval_seconds)
        seconds, theirs = direct_metrics(hypotheses, references)
        direct.append(seconds)
    agree = max(abs(ours[k] - theirs[k]) for k in theirs)
    project_rate, direct_rate = count / statistics.median(project), count / statistics.median(direct)
    return {"pairs": count, "rounds": rounds, "project_pairs_per_s": round(project_rate, 1),
            "direct_pairs_per_s": round(direct_rate, 1), "metric_ratio": round(project_rate / direct_rate, 3),
            "interval_seconds": round(statistics.median(intervals), 3), "max_metric_difference": agree}


def folder_digest(folder: Path) -> str:
    """The registry's digest of a folder (``ArtifactStore.describe``'s lines, over the local files)."""
    import hashlib

    from llmops_common.hashing import file_sha256

    lines = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        lines.update(f"{path.relative_to(folder).as_posix()} {file_sha256(path)} {path.stat().st_size}\n".encode())
    return lines.hexdigest()


def bench_generation(prompt_count: int, root: Path) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmops_common.testing.tiny_lm import build_base
    from llmops_evaluation.generation.plan import ModelArtifacts, ShardPlan, StorageAccess
    from llmops_evaluation.generation.task import WALL_KEY, generate_shard
    from llmops_training.base_models.corpus import generate_documents

    built = build_base(root / "model", hidden=MODEL["hidden"], layers=MODEL["layers"], seed=0)
    digest = folder_digest(built)
    cache = root / "cache"
    cache.mkdir()
    built.rename(cache / digest)
    folder = cache / digest
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    parameters = sum(p.numel() for p in model.parameters())
    docs = generate_documents(seed=7, count=prompt_count)
    prompts = [tokenizer.decode(tokenizer.encode(d, add_special_tokens=False)[:PROMPT_TOKENS]) for d in docs]
    plan = ShardPlan(shard=0, examples=tuple((f"p{i}", p, "") for i, p in enumerate(prompts)),
                     models=(ModelArtifacts(role="candidate", model_uri="models:/bench/1", kind="base",
                                            artifact_uri="s3://bench/model", sha256=digest),),
                     params={"max_tokens": NEW_TOKENS, "temperature": 0.0, "top_p": 1.0, "top_k": 0, "seed": 0,
                             "stop": []},
                     perplexity=False, storage=StorageAccess(endpoint="127.0.0.1:1", access_key="-", secret_key="-"),
                     cache_dir=str(cache), max_batch=64)

    generate_shard(plan.model_copy(update={"examples": plan.examples[:4]}))  # warm-up
    start = time.perf_counter()
    result = generate_shard(plan)
    total = time.perf_counter() - start
    shard_seconds = result[WALL_KEY]["candidate"]
    ours = [g["output"] for g in result["candidate"]]
    our_tokens = sum(g["output_tokens"] for g in result["candidate"])

    theirs, their_tokens = [], 0
    with torch.inference_mode():
        bos = [tokenizer.bos_token_id]
        model.generate(input_ids=torch.tensor([bos + tokenizer.encode(prompts[0], add_special_tokens=False)]),
                       max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id)  # warm-up
        begin = time.perf_counter()
        for prompt in prompts:
            ids = torch.tensor([bos + tokenizer.encode(prompt, add_special_tokens=False)])
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS,
                                 do_sample=False, pad_token_id=tokenizer.pad_token_id)[0, ids.shape[1]:]
            their_tokens += len(out) - int(out[-1] == tokenizer.eos_token_id)
            theirs.append(tokenizer.decode(out, skip_special_tokens=True))
        baseline_seconds = time.perf_counter() - begin
    project_rate, baseline_rate = our_tokens / shard_seconds, their_tokens / baseline_seconds
    return {"prompts": prompt_count, "new_tokens": NEW_TOKENS, "parameters": parameters,
            "project_tokens": our_tokens, "baseline_tokens": their_tokens,
            "project_tokens_per_s": round(project_rate, 1), "baseline_tokens_per_s": round(baseline_rate, 1),
            "generation_speedup": round(project_rate / baseline_rate, 2),
            "engine_load_seconds": round(total - shard_seconds, 2),
            "identical_outputs": round(sum(a == b for a, b in zip(ours, theirs, strict=True)) / len(ours), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 pairs and 64 prompts")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on both sides")
    args = parser.parse_args()
    os.environ.update({"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
                       "TOKENIZERS_PARALLELISM": "false"})
    import torch

    torch.set_num_threads(args.threads)
    metrics = bench_metrics(2000 if args.quick else 10_000, 2 if args.quick else 3)
    print(json.dumps({"metrics": metrics}))
    with tempfile.TemporaryDirectory(prefix="bench-evaluation-") as tmp:
        generation = bench_generation(64 if args.quick else 256, Path(tmp))
    print(json.dumps({"generation": generation}))
    print(json.dumps({"bench": "evaluation", "quick": args.quick, "threads": args.threads,
                      "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
                      "metric_ratio": metrics["metric_ratio"], "generation_speedup": generation["generation_speedup"],
                      "targets": TARGETS, "metrics": metrics, "generation": generation}))


if __name__ == "__main__":
    main()
