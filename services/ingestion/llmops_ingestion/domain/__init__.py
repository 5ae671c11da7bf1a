"""The rules of data preparation, free of I/O: the configuration and its hash, formats and record
shapes, size limits, text normalisation, PII redaction, MinHash near-dedup, the split and the profile's
statistics. Reading sources, writing versions and rendering the report live in ``preparation/``."""
