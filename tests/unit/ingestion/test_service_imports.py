"""The service process never loads matplotlib: only the preparation worker's child process draws plots."""

from __future__ import annotations

import subprocess
import sys

SERVICE_MODULES = ("llmops_ingestion.main", "llmops_ingestion.bootstrap", "llmops_ingestion.handlers")


def test_the_service_process_does_not_import_matplotlib():
    code = (f"import importlib, sys\nfor name in {SERVICE_MODULES!r}:\n    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
