"""Run the ``llmops`` command line as a subprocess, as a user would, and assert on what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

LLMOPS = [sys.executable, "-c", "from llmops_cli.main import run; run()"]


class Cli:
    """``llmops`` against one stack home, with extra settings (e.g. a service endpoint) and an API key."""

    def __init__(self, home: Path, api_key: str, **settings: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LLMOPS_")}
        self.env.update({"LLMOPS_HOME": str(home), "LLMOPS_API_KEY": api_key, **settings,
                         "COLUMNS": "200"})  # wide enough that tables don't wrap the words asserted on

    def __call__(self, *args: str, key: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        env = {**self.env, "LLMOPS_API_KEY": key} if key else self.env
        return subprocess.run([*LLMOPS, *args], env=env, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def ok(self, *args: str, key: str | None = None, timeout: float = 60) -> str:
        done = self(*args, key=key, timeout=timeout)
        assert done.returncode == 0, f"llmops {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def json(self, *args: str, key: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", key=key))

    def fails(self, *args: str, code: str, key: str | None = None) -> str:
        """Assert the command fails with one line ``error (<code>): ...`` and no traceback."""
        done = self(*args, key=key)
        assert done.returncode == 1, f"llmops {' '.join(args)} should fail:\n{done.stdout}\n{done.stderr}"
        assert done.stderr.startswith(f"error ({code}): "), done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        return done.stderr
