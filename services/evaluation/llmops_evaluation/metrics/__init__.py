"""Metrics: reference-exact wrappers (sacrebleu, rouge-score), the suite that scores, summarizes and
compares models, resampling statistics, and custom metrics from installed entry points."""
