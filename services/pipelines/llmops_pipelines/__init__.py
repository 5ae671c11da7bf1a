"""The pipelines service: declarative lifecycle policies and their runs."""
