"""docker-compose.yml, .env.example and deploy/ against the code, without Docker.

Checks that the compose file runs console scripts that exist, for services the CLI knows; sets only
``LLMOPS_*`` variables the settings classes read; publishes the ports the services listen on; keeps
every secret out of the file; that .env.example and the NATS config go with it; and that every Ray node
runs the one Ray version constraints.txt pins (the version installed here, and the one the Dockerfile
installs; Ray refuses to connect across versions). Each check is a function returning a list of
problems, so the last tests can show that each one does catch a fault.
"""

from __future__ import annotations

import copy
import importlib.metadata
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops_cli.services import SERVICES
from llmops_common.settings import SHARED_PREFIX, CommonSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
NATS_CONF = ROOT / "deploy" / "nats" / "nats.conf"
MINIO_INIT = ROOT / "deploy" / "minio" / "init.sh"
DOCKERFILE = ROOT / "Dockerfile"
CONSTRAINTS = ROOT / "constraints.txt"

SCRIPT_PREFIX = "llmops-"
CLI_SCRIPT = "llmops"
RAY_SCRIPT = "ray"  # a container whose command is `ray start ...` is a Ray node
RAY_EXTRA = "training"  # the extra that installs ray (and what the jobs on the nodes import)
RAY_PIN = re.compile(r"^ray(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)", re.M)
RAY_IMAGE = re.compile(r"^rayproject/ray(?:-ml)?:(?P<version>\d+\.\d+\.\d+)(?P<rest>\S*)$")
PYTHON_IMAGE = re.compile(r"^ARG PYTHON_IMAGE=python:(\d+)\.(\d+)", re.M)
SECRET_MARKERS = ("PASSWORD", "SECRET", "KEY")
PORT_FIELDS = ("grpc_port", "metrics_port", "http_port")  # http_port: only where the settings have one
# A whole value that is one reference with no default: ${VAR}, ${VAR:?msg} or ${VAR?msg}.
SECRET_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*)?\}")
# Any compose interpolation: ${VAR}, ${VAR<op>...} or $VAR, but not the escaped $$.
INTERPOLATION = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


# -- loading ------------------------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def load_pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def env_example_names() -> set[str]:
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].removeprefix("export ").strip())
    return names


def cli_commands() -> set[str]:
    """Top-level commands and command groups of the ``llmops`` typer app."""
    from llmops_cli.main import app

    names = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups if g.name}
    return names


# -- reading a compose service ----------------------------------------------------------------------------


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # tolerated, though this file uses mappings
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def argv(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def built_from_dockerfile(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if build is None:
        return False
    if isinstance(build, str):
        return build in (".", "./")
    return build.get("context", ".") in (".", "./") and build.get("dockerfile", "Dockerfile") == "Dockerfile"


def build_args(service: dict[str, Any]) -> dict[str, str]:
    build = service.get("build")
    args = build.get("args", {}) if isinstance(build, dict) else {}
    if isinstance(args, list):
        args = dict(item.split("=", 1) for item in args)
    return {str(k): str(v) for k, v in args.items()}


def is_ray_node(service: dict[str, Any]) -> bool:
    return argv(service)[:1] == [RAY_SCRIPT]


def platform_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Containers built from the Dockerfile that run a platform command (Ray nodes run `ray start`)."""
    return {name: svc for name, svc in compose.get("services", {}).items()
            if built_from_dockerfile(svc) and not is_ray_node(svc)}


def pinned_ray(constraints: str) -> str | None:
    """The version constraints.txt pins ray to (``ray==X``), the one place it is pinned."""
    match = RAY_PIN.search(constraints)
    return match.group(1) if match else None


def installed_ray() -> str | None:
    try:
        return importlib.metadata.version("ray")
    except importlib.metadata.PackageNotFoundError:
        return None


def settings_class(service: dict[str, Any]) -> type[CommonSettings] | None:
    """The settings a platform container's command reads: its service's, or the shared ones for ``llmops``."""
    cmd = argv(service)
    if not cmd:
        return None
    if cmd[0] == CLI_SCRIPT:
        return CommonSettings
    if cmd[0].startswith(SCRIPT_PREFIX) and cmd[0].removeprefix(SCRIPT_PREFIX) in SERVICES:
        return SERVICES[cmd[0].removeprefix(SCRIPT_PREFIX)].settings_class()
    return None


def listening_ports(cls: type[CommonSettings], env: dict[str, str]) -> dict[str, int]:
    """The PORT_FIELDS ``cls`` has, as it resolves them from ``env``: own prefix, shared prefix, default."""
    ports = {}
    for field in (f for f in PORT_FIELDS if f in cls.model_fields):
        for name in (f"{cls.env_prefix()}{field}".upper(), f"{SHARED_PREFIX}{field}".upper()):
            if name in env:
                ports[field] = int(env[name])
                break
        else:
            ports[field] = int(cls.model_fields[field].default)
    return ports


def published_ports(service: dict[str, Any]) -> list[tuple[str, int | None, int]]:
    """(as written, host port, container port) for each published port."""
    out = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            out.append((str(entry), int(published) if published is not None else None, int(entry["target"])))
            continue
        spec = str(entry).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        container = int(parts[-1])
        host = int(parts[-2]) if len(parts) >= 2 and parts[-2] else None
        out.append((str(entry), host, container))
    return out


def string_values(node: Any) -> list[str]:
    """Every string value in the parsed compose file (comments are not values, so never interpolated)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in string_values(v)]
    if isinstance(node, list):
        return [s for v in node for s in string_values(v)]
    return []


def references(compose: dict[str, Any]) -> list[tuple[str, str]]:
    """(variable, operator and rest) for every interpolation in the compose file."""
    refs = []
    for value in string_values(compose):
        for braced, rest, bare in INTERPOLATION.findall(value):
            refs.append((braced or bare, rest))
    return refs


def secret_looking(name: str) -> bool:
    return any(marker in name.upper() for marker in SECRET_MARKERS)


# -- the checks: each returns a list of problems, empty when all is well -----------------------------------


def check_commands(compose: dict[str, Any], scripts: set[str], extras: set[str]) -> list[str]:
    problems = []
    services = compose.get("services", {})
    runs: dict[str, str] = {}  # SERVICES name -> compose service running it
    for name, svc in platform_services(compose).items():
        cmd = argv(svc)
        args = build_args(svc)
        if not cmd:
            problems.append(f"service {name!r}: built from the Dockerfile but has no command")
            continue
        if cmd[0] not in scripts:
            problems.append(f"service {name!r}: command {cmd[0]!r} is not a console script in [project.scripts]")
        if cmd[0].startswith(SCRIPT_PREFIX):
            service_name = cmd[0].removeprefix(SCRIPT_PREFIX)
            if service_name not in SERVICES:
                problems.append(f"service {name!r}: command {cmd[0]!r} names no service in SERVICES {sorted(SERVICES)}")
            else:
                runs[service_name] = name
            if args.get("SERVICE") != service_name:
                problems.append(f"service {name!r}: build arg SERVICE={args.get('SERVICE')!r}, "
                                f"but the command runs {cmd[0]!r}")
        elif cmd[0] == CLI_SCRIPT and len(cmd) > 1 and cmd[1] not in cli_commands():
            problems.append(f"service {name!r}: `llmops {cmd[1]}` is not a command of the llmops CLI")
        if args.get("SERVICE") not in SERVICES:
            problems.append(f"service {name!r}: build arg SERVICE={args.get('SERVICE')!r} is not in SERVICES")
        for extra in filter(None, (e.strip() for e in args.get("EXTRAS", "").split(","))):
            if extra not in extras:
                problems.append(f"service {name!r}: build arg EXTRAS names {extra!r}, not an extra in pyproject")
    for service_name in SERVICES:
        if service_name not in runs:
            problems.append(f"SERVICES entry {service_name!r}: no compose service runs {SCRIPT_PREFIX}{service_name}")
    migrate = services.get("migrate")
    if migrate is None:
        problems.append("service 'migrate': missing")
    else:
        if argv(migrate) != [CLI_SCRIPT, "migrate"]:
            problems.append(f"service 'migrate': command is {argv(migrate)}, not `llmops migrate`")
        if CLI_SCRIPT not in scripts:
            problems.append(f"service 'migrate': console script {CLI_SCRIPT!r} is not in [project.scripts]")
        if str(migrate.get("restart", "no")) != "no":
            problems.append("service 'migrate': a one-shot job must have restart: \"no\"")
        if (migrate.get("depends_on") or {}).get("postgres", {}).get("condition") != "service_healthy":
            problems.append("service 'migrate': must depend on postgres being service_healthy")
    for name in runs.values():
        condition = (services[name].get("depends_on") or {}).get("migrate", {}).get("condition")
        if condition != "service_completed_successfully":
            problems.append(f"service {name!r}: must depend on migrate with service_completed_successfully")
    return problems


def check_env_names(compose: dict[str, Any]) -> list[str]:
    problems = []
    for name, svc in platform_services(compose).items():
        cls = settings_class(svc)
        if cls is None:
            problems.append(f"service {name!r}: cannot tell which settings class command {argv(svc)} reads")
            continue
        known = cls.env_names()
        for var in environment(svc):
            if var.startswith(SHARED_PREFIX) and var not in known:
                problems.append(f"service {name!r}: {var} is not read by {cls.__name__}")
    return problems


def check_ports(compose: dict[str, Any]) -> list[str]:
    problems = []
    for name, svc in platform_services(compose).items():
        cls = settings_class(svc)
        if cls is None:
            if svc.get("ports"):
                problems.append(f"service {name!r}: publishes ports but has no settings class to check them")
            continue
        try:
            ports = listening_ports(cls, environment(svc))
        except ValueError as exc:
            problems.append(f"service {name!r}: a port variable is not an integer ({exc})")
            continue
        for written, host, container in published_ports(svc):
            if container not in ports.values():
                listens = " and ".join(f"{field}={port}" for field, port in ports.items())
                problems.append(f"service {name!r}: publishes {written!r}, but {cls.__name__} listens on {listens}")
            elif host is not None and host != container:
                problems.append(f"service {name!r}: publishes container port {container} as host port {host}")
    return problems


def check_secrets(compose: dict[str, Any]) -> list[str]:
    problems = []
    for name, svc in compose.get("services", {}).items():
        for var, value in environment(svc).items():
            if secret_looking(var) and not SECRET_REF.fullmatch(value):
                problems.append(f"service {name!r}: secret {var} has a literal value; use ${{VAR:?...}}")
    for var, rest in references(compose):
        if rest and not rest.lstrip(":").startswith("?") and (secret_looking(var) or var in env_example_names()):
            problems.append(f"variable {var}: a secret must not get a default (${{{var}{rest}}}); use ${{{var}:?...}}")
    return problems


def check_env_example(compose: dict[str, Any], documented: set[str]) -> list[str]:
    return [f"variable {var}: referenced in docker-compose.yml but missing from .env.example"
            for var in sorted({var for var, _ in references(compose)} - documented)]


def check_ray_version(compose: dict[str, Any], pinned: str | None, installed: str | None,
                      dockerfile: str) -> list[str]:
    """Every Ray node (and the training service) runs the ray constraints.txt pins: a container built
    from the Dockerfile with the training extra (which installs under constraints.txt), or a
    rayproject/ray image tagged with that version and the Dockerfile's Python."""
    if pinned is None:
        return ["constraints.txt: no `ray==VERSION` pin (the one place Ray's version is set)"]
    problems = []
    if installed != pinned:
        problems.append(f"ray {installed or '(not installed)'} is installed, but constraints.txt pins ray=={pinned}")
    if not re.search(r"pip install[^\n]*-c constraints\.txt", dockerfile):
        problems.append("Dockerfile: does not pip install with -c constraints.txt, so its ray is not the pinned one")
    python = PYTHON_IMAGE.search(dockerfile)
    services = compose.get("services", {})
    nodes = [name for name, svc in services.items() if is_ray_node(svc)]
    if not any("--head" in argv(services[name]) for name in nodes):
        problems.append("no Ray head: no service runs `ray start --head`")
    for name, svc in services.items():
        image = str(svc.get("image") or "")
        if image.startswith("rayproject/"):
            match = RAY_IMAGE.match(image)
            if match is None:
                problems.append(f"service {name!r}: image {image!r} does not name a Ray version; use {pinned}")
                continue
            if match["version"] != pinned:
                problems.append(f"service {name!r}: image {image!r} runs Ray {match['version']}, "
                                f"but constraints.txt pins ray=={pinned}")
            if python and f"-py{python[1]}{python[2]}" not in match["rest"]:
                problems.append(f"service {name!r}: image {image!r} is not the Dockerfile's Python "
                                f"{python[1]}.{python[2]} (-py{python[1]}{python[2]})")
        elif is_ray_node(svc) or build_args(svc).get("SERVICE") == "training":
            extras = {e.strip() for e in build_args(svc).get("EXTRAS", "").split(",")}
            if not built_from_dockerfile(svc):
                problems.append(f"service {name!r}: a Ray node neither built from the Dockerfile nor a "
                                f"rayproject/ray:{pinned} image")
            elif RAY_EXTRA not in extras:
                problems.append(f"service {name!r}: built without the {RAY_EXTRA!r} extra, so it has no pinned ray")
    return problems


def check_nats_conf(text: str, compose: dict[str, Any]) -> list[str]:
    problems = []
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines() if not line.strip().startswith("//"))
    if not re.search(r"^\s*jetstream\s*(?::\s*(?:enabled|true)\b|[:=]?\s*\{)", body, re.M | re.I):
        problems.append("nats.conf: JetStream is not enabled (jetstream { ... })")
    auth = re.search(r"^\s*authorization\s*[:=]?\s*\{(.*?)\}", body, re.M | re.S)
    if auth is None:
        problems.append("nats.conf: no authorization { ... } block")
    else:
        for key in ("user", "password"):
            match = re.search(rf"^\s*{key}\s*[:=]\s*(\S+)", auth.group(1), re.M)
            if match is None:
                problems.append(f"nats.conf: authorization has no {key}")
            elif not match.group(1).startswith("$"):
                problems.append(f"nats.conf: authorization {key} is a literal; take it from an environment variable")
    nats_env = environment(compose.get("services", {}).get("nats", {}))
    for var in sorted(set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", body))):
        if var not in nats_env:
            problems.append(f"service 'nats': nats.conf uses ${var}, but the container's environment lacks {var}")
    return problems


# -- the tests --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def _ok(problems: list[str]) -> None:
    assert not problems, "\n".join(problems)


def test_commands_are_console_scripts_of_known_services(compose):
    pyproject = load_pyproject()
    _ok(check_commands(compose, set(pyproject["project"]["scripts"]),
                       set(pyproject["project"]["optional-dependencies"])))


def test_llmops_env_vars_are_read_by_the_settings(compose):
    assert platform_services(compose), "no service is built from the Dockerfile"
    _ok(check_env_names(compose))


def test_published_ports_are_the_listening_ports(compose):
    _ok(check_ports(compose))


def test_port_resolution_matches_the_settings_classes(compose, monkeypatch):
    """listening_ports() mirrors what the settings classes really do with the container's environment."""
    for name, svc in platform_services(compose).items():
        cls = settings_class(svc)
        env = environment(svc)
        port_vars = {k: v for k, v in env.items() if k.endswith(("_GRPC_PORT", "_METRICS_PORT", "_HTTP_PORT"))}
        with monkeypatch.context() as m:
            for var in [v for v in os.environ if v.startswith(SHARED_PREFIX)]:
                m.delenv(var)
            for var, value in port_vars.items():
                m.setenv(var, value)
            settings = cls()
            expected = listening_ports(cls, env)
            assert {f: getattr(settings, f) for f in expected} == expected, f"service {name!r}"
            assert set(expected) == {f for f in PORT_FIELDS if f in cls.model_fields}, f"service {name!r}"


def test_no_secret_has_a_literal_value(compose):
    _ok(check_secrets(compose))


def test_every_referenced_variable_is_in_env_example(compose):
    _ok(check_env_example(compose, env_example_names()))


def test_env_example_values_are_placeholders():
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            var, value = line.split("=", 1)
            assert value.startswith("change-me"), f".env.example: {var} should be a change-me-... placeholder"


def test_ray_nodes_run_the_one_pinned_ray_version(compose):
    _ok(check_ray_version(compose, pinned_ray(CONSTRAINTS.read_text()), installed_ray(), DOCKERFILE.read_text()))


def test_ray_version_check_catches_drift(compose):
    """A Ray image, an install or a build that differs from the constraints.txt pin is reported."""
    pinned, installed, dockerfile = pinned_ray(CONSTRAINTS.read_text()), installed_ray(), DOCKERFILE.read_text()
    assert pinned is not None and pinned_ray("torch==2.13.0\nray[train,tune] == 2.60.0 # the pin\n") == "2.60.0"

    def with_head(image: str | None = None, extras: str | None = None) -> dict[str, Any]:
        bogus = copy.deepcopy(compose)
        head = bogus["services"]["ray-head"]
        if image is not None:
            head.pop("build", None)
            head["image"] = image
        if extras is not None:
            head["build"]["args"]["EXTRAS"] = extras
        return bogus

    old = check_ray_version(with_head("rayproject/ray:2.40.0-py311"), pinned, installed, dockerfile)
    assert any("ray-head" in p and "2.40.0" in p and pinned in p for p in old), old
    assert check_ray_version(with_head(f"rayproject/ray:{pinned}-py311-gpu"), pinned, installed, dockerfile) == []
    assert any("Python" in p for p in check_ray_version(with_head(f"rayproject/ray:{pinned}-py310"), pinned,
                                                         installed, dockerfile))
    assert any("does not name a Ray version" in p
               for p in check_ray_version(with_head("rayproject/ray:latest"), pinned, installed, dockerfile))
    assert any("ray-head" in p and "'training' extra" in p
               for p in check_ray_version(with_head(extras="registry"), pinned, installed, dockerfile))
    assert any("is installed" in p for p in check_ray_version(compose, "2.40.0", installed, dockerfile))
    assert any("constraints.txt" in p for p in check_ray_version(compose, None, installed, dockerfile))
    unpinned = dockerfile.replace("-c constraints.txt", "")
    assert any("-c constraints.txt" in p for p in check_ray_version(compose, pinned, installed, unpinned))
    headless = copy.deepcopy(compose)
    del headless["services"]["ray-head"]
    assert any("no Ray head" in p for p in check_ray_version(headless, pinned, installed, dockerfile))


def test_nats_config_enables_jetstream_and_auth(compose):
    _ok(check_nats_conf(NATS_CONF.read_text(), compose))


def test_minio_init_creates_the_buckets_the_services_use():
    script = MINIO_INIT.read_text()
    assert script.startswith("#!/bin/sh"), "deploy/minio/init.sh: must be a POSIX sh script"
    assert "--ignore-existing" in script, "deploy/minio/init.sh: bucket creation must be idempotent"
    for field in ("s3_bucket_datasets", "s3_bucket_models", "s3_bucket_artifacts"):
        bucket = CommonSettings.model_fields[field].default
        assert bucket in script, f"deploy/minio/init.sh: does not create {bucket} (CommonSettings.{field})"


def test_dockerfile_shape():
    text = DOCKERFILE.read_text()
    assert "python:3.11-slim" in text, "Dockerfile: the base image is not python:3.11-slim"
    assert len(re.findall(r"^FROM\s", text, re.M)) >= 2, "Dockerfile: not multi-stage"
    for arg in ("SERVICE", "EXTRAS"):
        assert re.search(rf"^ARG {arg}\b", text, re.M), f"Dockerfile: no ARG {arg}"
    assert '".[${EXTRAS}]"' in text, "Dockerfile: does not pip install the EXTRAS"
    assert "llmops-${SERVICE}" in text, "Dockerfile: does not run llmops-${SERVICE}"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "Dockerfile: must run as a non-root user"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", ".llmops", ".git", ".env"):
        assert path in ignored, f".dockerignore: {path} is not excluded"


def _publishing(compose: dict[str, Any], name: str, port: str) -> dict[str, Any]:
    """A copy of ``compose`` whose service ``name`` publishes ``port`` beside its own."""
    bogus = copy.deepcopy(compose)
    bogus["services"][name]["ports"] = [*bogus["services"][name].get("ports", []), port]
    return bogus


def test_checks_catch_broken_copies(compose):
    """Each check reports a fault planted in an in-memory copy, naming the service and the variable."""
    pyproject = load_pyproject()
    scripts = set(pyproject["project"]["scripts"])
    extras = set(pyproject["project"]["optional-dependencies"])
    name = next(n for n, s in platform_services(compose).items() if argv(s)[0].startswith(SCRIPT_PREFIX))
    cls = settings_class(compose["services"][name])

    bogus = copy.deepcopy(compose)
    bogus["services"][name]["environment"]["LLMOPS_NO_SUCH_SETTING"] = "1"
    assert any(name in p and "LLMOPS_NO_SUCH_SETTING" in p for p in check_env_names(bogus))

    wrong_port = copy.deepcopy(compose)
    wrong_port["services"][name]["ports"] = ["50999:50999"]
    assert any(name in p and "50999" in p for p in check_ports(wrong_port))

    # ...but a port moved by the service's own env variable is accepted.
    moved = copy.deepcopy(compose)
    moved["services"][name]["environment"][f"{cls.env_prefix()}GRPC_PORT"] = "50999"
    moved["services"][name]["ports"] = ["50999:50999"]
    assert check_ports(moved) == []
    assert check_env_names(moved) == []

    # A REST port counts only for a service whose settings have http_port, and follows its variable too.
    rest = next(n for n, s in platform_services(compose).items() if "http_port" in settings_class(s).model_fields)
    rest_cls = settings_class(compose["services"][rest])
    assert any(name in p and "8080" in p for p in check_ports(_publishing(compose, name, "8080:8080")))
    assert any(rest in p and "8080" in p for p in check_ports(_publishing(compose, rest, "8080:8080")))
    rest_moved = copy.deepcopy(compose)
    default_http = rest_cls.model_fields["http_port"].default
    rest_moved["services"][rest]["ports"] = [
        "8080:8080" if container == default_http else written
        for written, _, container in published_ports(compose["services"][rest])]
    rest_moved["services"][rest]["environment"][f"{rest_cls.env_prefix()}HTTP_PORT"] = "8080"
    assert check_ports(rest_moved) == []
    assert check_env_names(rest_moved) == []

    literal = copy.deepcopy(compose)
    literal["services"][name]["environment"]["LLMOPS_S3_SECRET_KEY"] = "hunter2"
    assert any(name in p and "LLMOPS_S3_SECRET_KEY" in p for p in check_secrets(literal))

    defaulted = copy.deepcopy(compose)
    defaulted["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] = "${POSTGRES_PASSWORD:-postgres}"
    assert any("POSTGRES_PASSWORD" in p for p in check_secrets(defaulted))

    undocumented = copy.deepcopy(compose)
    undocumented["services"][name]["environment"]["LLMOPS_LOG_LEVEL"] = "${UNDOCUMENTED_VAR:?x}"
    assert any("UNDOCUMENTED_VAR" in p for p in check_env_example(undocumented, env_example_names()))

    unknown = copy.deepcopy(compose)
    unknown["services"][name]["command"] = "llmops-no-such-service"
    problems = check_commands(unknown, scripts, extras)
    assert any(name in p and "llmops-no-such-service" in p for p in problems)
    assert any(f"SERVICES entry {name!r}" in p for p in problems)

    no_auth = "jetstream {\n  store_dir: /data\n}\n"
    assert any("authorization" in p for p in check_nats_conf(no_auth, compose))
