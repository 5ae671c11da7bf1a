"""The local embedded stack the CLI drives: where it lives, its bootstrap admin key, and the
settings handed to the service processes started on it."""

from __future__ import annotations

import os
import secrets

from llmops_common.embedded import EmbeddedStack


def load_stack() -> EmbeddedStack:
    return EmbeddedStack.load()


def admin_key(stack: EmbeddedStack) -> str:
    """The bootstrap admin key: $LLMOPS_BOOTSTRAP_ADMIN_KEY, or one generated once under the stack home."""
    if os.environ.get("LLMOPS_BOOTSTRAP_ADMIN_KEY"):
        return os.environ["LLMOPS_BOOTSTRAP_ADMIN_KEY"]
    path = stack.home / "admin.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"llmops_bootstrap_{secrets.token_urlsafe(32)}")
        path.chmod(0o600)
    return path.read_text().strip()


def service_env(stack: EmbeddedStack) -> dict[str, str]:
    """Settings for processes started here: the stack's endpoints, overridden by the environment."""
    env = stack.env(with_ray=stack.pidfile("ray").exists())
    env["LLMOPS_BOOTSTRAP_ADMIN_KEY"] = admin_key(stack)
    env["LLMOPS_HOME"] = str(stack.home)
    env["LLMOPS_EVALUATION_CHAMPION_ALIAS"] = ""  # pipelines request the evaluations (docs/pipelines.md)
    return {**env, **{k: v for k, v in os.environ.items() if k.startswith("LLMOPS_")}}
