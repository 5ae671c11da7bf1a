"""sacrebleu's score-from-statistics formulas for BLEU and chrF, over many rows of summed statistics at
once. sacrebleu computes one row per Python call (``_compute_score_from_stats``), which is most of the
time of a 1,000-resample bootstrap or a 10,000-trial randomization test; these follow its arithmetic
step by step in numpy (chrF in the same order of operations, so bit for bit; BLEU up to numpy's log and
exp, within 1e-12), and the golden tests compare them with sacrebleu's own to 1e-9."""

from __future__ import annotations

import numpy as np

MAX_NGRAM_ORDER = 4
_MY_LOG_ZERO = -9999999999.0  # sacrebleu.utils.my_log(0)


def bleu_from_stats(stats: np.ndarray, *, effective_order: bool = False) -> np.ndarray:
    """BLEU (exp smoothing, sacrebleu's default) of each row of ``[hyp_len, ref_len, correct[1..4],
    total[1..4]]``; ``effective_order=True`` is what ``sacrebleu.sentence_bleu`` uses."""
    stats = np.asarray(stats, dtype=np.float64)
    sys_len, ref_len = stats[:, 0], stats[:, 1]
    correct, total = stats[:, 2:2 + MAX_NGRAM_ORDER], stats[:, 2 + MAX_NGRAM_ORDER:]
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / sys_len), 0.0), 1.0)
    # sacrebleu's loop stops at the first order with no n-grams; totals never grow with the order
    counted = np.cumprod(total > 0, axis=1).astype(bool)
    halvings = np.cumsum(counted & (correct == 0), axis=1)  # its smooth_mteval doubles per empty order
    safe_total = np.where(total > 0, total, 1.0)
    precisions = np.where(counted, np.where(correct > 0, 100.0 * correct / safe_total,
                                            100.0 / (2.0 ** halvings * safe_total)), 0.0)
    with np.errstate(divide="ignore"):
        logs = np.where(precisions > 0, np.log(precisions), _MY_LOG_ZERO)
    orders = counted.sum(axis=1) if effective_order else np.full(len(stats), MAX_NGRAM_ORDER)
    orders = np.maximum(orders, 1)
    log_sum = np.zeros(len(stats))
    for n in range(MAX_NGRAM_ORDER):  # left to right, as Python's sum()
        log_sum = log_sum + np.where(n < orders, logs[:, n], 0.0)
    score = bp * np.exp(log_sum / orders)
    return np.where(correct.any(axis=1), score, 0.0)


def chrf_from_stats(stats: np.ndarray, *, beta: int = 2) -> np.ndarray:
    """chrF (sacrebleu's default effective-order averaging, no eps smoothing) of each row of
    ``(hyp, ref, match)`` triplets per order."""
    stats = np.asarray(stats, dtype=np.float64)
    factor = beta ** 2
    avg_prec = np.zeros(len(stats))
    avg_rec = np.zeros(len(stats))
    effective = np.zeros(len(stats))
    for i in range(stats.shape[1] // 3):
        n_hyp, n_ref, n_match = stats[:, 3 * i], stats[:, 3 * i + 1], stats[:, 3 * i + 2]
        both = (n_hyp > 0) & (n_ref > 0)
        avg_prec = np.where(both, avg_prec + n_match / np.where(n_hyp > 0, n_hyp, 1.0), avg_prec)
        avg_rec = np.where(both, avg_rec + n_match / np.where(n_ref > 0, n_ref, 1.0), avg_rec)
        effective += both
    some = effective > 0
    avg_prec = np.where(some, avg_prec / np.where(some, effective, 1.0), 0.0)
    avg_rec = np.where(some, avg_rec / np.where(some, effective, 1.0), 0.0)
    nonzero = (avg_prec + avg_rec) != 0
    score = (1 + factor) * avg_prec * avg_rec
    score = score / np.where(nonzero, factor * avg_prec + avg_rec, 1.0)
    return np.where(nonzero, 100 * score, 0.0)
