"""The ``llmops`` command line: the embedded stack, the services, migrations, API keys, dev tools."""
