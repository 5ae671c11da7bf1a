"""Test support: pytest fixtures that start the embedded stack once per run, and fakes that implement
the same abstract ports as the real adapters."""
