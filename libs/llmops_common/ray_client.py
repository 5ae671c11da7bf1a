"""A service's connection to its Ray cluster as a driver (``ray.init(address)``), made only after a plain
TCP probe of the address answers, so an unreachable cluster costs a failed connect rather than a
blocked service. Ray is imported only when connecting. Blocking: call it from a worker thread."""

from __future__ import annotations

import logging
import socket
import threading

from llmops_common.errors import Unavailable


def host_port(address: str) -> tuple[str, int]:
    bare = address.removeprefix("ray://").rsplit("/", 1)[0]
    host, _, port = bare.rpartition(":")
    return host or "127.0.0.1", int(port or 6379)


def _reload_auth_settings() -> None:
    """Ray reads ``RAY_AUTH_MODE`` and its token once, when it is imported; a process that imported
    Ray before its environment named the cluster's token (tests, a service that set it late) would
    connect without it and be refused. Re-read both (Ray's own ``_enable_token_auth`` does the same)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


class RayConnection:
    def __init__(self, address: str, namespace: str, *, connect_timeout: float = 5.0) -> None:
        self.address, self.namespace, self.connect_timeout = address, namespace, connect_timeout
        self._lock = threading.Lock()

    def connect(self) -> None:
        """Probe the address, then join the cluster once per process; Unavailable when it does not answer."""
        import ray

        try:
            with socket.create_connection(host_port(self.address), timeout=self.connect_timeout):
                pass
        except OSError as exc:
            raise Unavailable(f"the Ray cluster at {self.address} does not answer: {exc}") from None
        with self._lock:
            if ray.is_initialized():
                return
            _reload_auth_settings()
            ray.init(address=self.address, namespace=self.namespace, log_to_driver=False,
                     logging_level=logging.WARNING, configure_logging=False)
