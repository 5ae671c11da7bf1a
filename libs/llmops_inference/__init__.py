"""The inference engine: one base model loaded once, many LoRA adapters on it, requests for any of
them decoded together with continuous batching. Serving runs it behind its APIs; evaluation runs it
offline, so what is evaluated is what is served."""
