"""Thin, exact wrappers over the reference implementations: BLEU and chrF from sacrebleu (corpus level,
its defaults: tokenizer 13a, chrF 6/0/2, one reference per example), ROUGE-1/2/L/Lsum F1 from
rouge-score (Porter stemming, Lsum on newline-split sentences), SQuAD's exact match (refusal
detection lives in llmops_common.refusals). Every score here is the library's own arithmetic on the
library's own statistics."""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Sequence

import numpy as np
from rouge_score import rouge_scorer, tokenize, tokenizers
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.metrics.base import Metric

from llmops_common.refusals import is_refusal as is_refusal  # re-exported for the suite's refusal rate

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
BLEU_WIDTH = 2 + 2 * 4  # hyp_len, ref_len, correct[1..4], total[1..4]
CHRF_WIDTH = 3 * (6 + 0)  # (hyp, ref, match) per character order 1..6, no word orders


def bleu_metric() -> BLEU:
    """sacrebleu's corpus BLEU exactly as ``sacrebleu.corpus_bleu`` builds it."""
    return BLEU()


def chrf_metric() -> CHRF:
    return CHRF()


def segment_statistics(metric: Metric, hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """sacrebleu's per-segment sufficient statistics, one row per example (int64): what its
    ``corpus_score`` sums and what its bootstrap resamples. Summing the rows and calling
    ``metric._compute_score_from_stats`` gives ``corpus_score`` exactly, from one extraction."""
    width = BLEU_WIDTH if isinstance(metric, BLEU) else CHRF_WIDTH
    if not hypotheses:
        metric.num_refs = 1  # what sacrebleu records when it caches one reference per example (signature)
        return np.zeros((0, width), dtype=np.int64)
    rows = metric._extract_corpus_statistics(list(hypotheses), [list(references)])
    return np.asarray(rows, dtype=np.int64).reshape(len(hypotheses), width)


def score_from_sums(metric: Metric, summed: np.ndarray) -> float:
    """The corpus score from column-summed statistics, through sacrebleu's own
    ``_compute_score_from_stats`` (on Python ints, as its ``corpus_score`` passes them)."""
    return float(metric._compute_score_from_stats([int(x) for x in summed]).score)


class _CachedStemTokenizer(tokenizers.Tokenizer):
    """rouge-score's own ``tokenize`` with a memoised Porter stemmer, and the last texts' tokens kept.
    The stemmer is a pure function of the token and rouge-score calls it once per token occurrence
    (and tokenizes a one-line text twice when Lsum is asked with the others), so caching changes
    nothing but the time; the golden tests compare against the uncached scorer."""

    def __init__(self) -> None:
        stemmer = tokenizers.DefaultTokenizer(use_stemmer=True)._stemmer
        self.stem = functools.lru_cache(maxsize=1 << 16)(stemmer.stem)
        self._tokens = functools.lru_cache(maxsize=8)(lambda text: tokenize.tokenize(text, self))

    def tokenize(self, text: str) -> list[str]:
        return self._tokens(text)


def rouge_f1(hypotheses: Sequence[str], references: Sequence[str],
             rouge_types: Sequence[str] = ROUGE_TYPES) -> dict[str, np.ndarray]:
    """Per-example ROUGE F1 for each type, one ``RougeScorer.score(reference, hypothesis)`` call per
    example computing every type at once (stemming on; Lsum splits sentences on newlines).

    When neither text has a newline, rougeLsum is rougeL's score: rouge-score's summary-level LCS of one
    sentence against one sentence counts exactly the LCS's tokens over the same token lists (and both
    are 0 for an empty side), so that pair is scored with rougeL in place of rougeLsum, sparing the
    second LCS table. The golden tests hold both paths to the unmodified scorer."""
    tokenizer = _CachedStemTokenizer()
    scorer = rouge_scorer.RougeScorer(list(rouge_types), tokenizer=tokenizer)
    summary = "rougeLsum" in rouge_types
    single_line = [t for t in rouge_types if t != "rougeLsum"]
    if summary and "rougeL" not in single_line:
        single_line.append("rougeL")
    one_line_scorer = rouge_scorer.RougeScorer(single_line, tokenizer=tokenizer)
    out = {name: np.empty(len(hypotheses)) for name in rouge_types}
    for index, (hypothesis, reference) in enumerate(zip(hypotheses, references, strict=True)):
        if "\n" in hypothesis or "\n" in reference:
            scores = scorer.score(reference, hypothesis)
        else:
            scores = one_line_scorer.score(reference, hypothesis)
            if summary:
                scores["rougeLsum"] = scores["rougeL"]
        for name in rouge_types:
            out[name][index] = scores[name].fmeasure
    return out


_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's rule: lowercase, drop ASCII punctuation, drop articles, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    return np.array([float(normalize_answer(h) == normalize_answer(r))
                     for h, r in zip(hypotheses, references, strict=True)])
