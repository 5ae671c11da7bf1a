"""The model registry: registered models, immutable numbered versions, evaluation results, and
(with its issue) aliases, releases, governance, lineage and audit."""
