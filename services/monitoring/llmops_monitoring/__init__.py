"""Monitoring: the inference log, human feedback, detectors (injection, malicious users, drift, quality),
alerts, and curated feedback back into ingestion."""
