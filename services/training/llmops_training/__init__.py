"""The training service: fine-tuning runs and cost-aware sweeps, submitted to Ray and tracked to the
registry (see docs/architecture.md)."""
