"""Base models built offline: a seeded corpus, a locally trained BPE tokenizer, a randomly initialised
Llama-style model, and the checks a local Hugging Face folder passes before it is imported.

Pure library code: no gRPC, no settings; the CLI (``llmops models import`` / ``bootstrap-base``)
and the training service call it.
"""
