"""The evaluation service: reference-exact metrics, paired significance against baselines, LLM judges,
blind human review, reports, and results attached to model versions."""
