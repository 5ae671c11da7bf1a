"""Pure preparation rules: readers, shapes, normalisation, dedup, PII, split, profile."""
