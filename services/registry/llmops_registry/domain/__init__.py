"""The registry's rules, in plain Python: no I/O here."""
