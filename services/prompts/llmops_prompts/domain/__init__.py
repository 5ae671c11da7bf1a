"""The prompt store's rules, in plain Python: no I/O here."""
