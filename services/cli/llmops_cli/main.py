"""The ``llmops`` command line."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from llmops_cli import base_models  # noqa: F401  (adds `models import` and `models bootstrap-base`)
from llmops_cli.chat import chat
from llmops_cli.datasets import datasets_app
from llmops_cli.demo import demo_command
from llmops_cli.evaluation import eval_app
from llmops_cli.events import events_app
from llmops_cli.local import load_stack, service_env
from llmops_cli.models import models_app
from llmops_cli.monitoring import alerts_app, feedback_app, inferences_app
from llmops_cli.output import console, err_console
from llmops_cli.pipelines import pipelines_app
from llmops_cli.prompts import prompts_app
from llmops_cli.services import SERVICES, rest_url
from llmops_cli.supervisor import Supervisor
from llmops_cli.toolkit import JsonOpt
from llmops_cli.training import train_app

app = typer.Typer(help="LLMOps platform: data -> fine-tuning -> governed, monitored endpoint.", no_args_is_help=True)
stack_app = typer.Typer(help="The embedded stack: NATS, PostgreSQL, S3 (and Ray) as local processes.")
keys_app = typer.Typer(help="API keys: create, list, revoke.")
dev_app = typer.Typer(help="Developer tools.")
app.add_typer(stack_app, name="stack")
app.add_typer(keys_app, name="keys")
app.add_typer(dev_app, name="dev")
app.add_typer(models_app, name="models")
app.add_typer(datasets_app, name="datasets")
app.add_typer(prompts_app, name="prompts")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(alerts_app, name="alerts")
app.add_typer(feedback_app, name="feedback")
app.add_typer(inferences_app, name="inferences")
app.add_typer(events_app, name="events")
app.add_typer(pipelines_app, name="pipelines")
app.command("chat")(chat)
app.command("demo")(demo_command)

RayOpt = Annotated[bool, typer.Option("--ray", help="Also start a local Ray head.")]
PlatformRayOpt = Annotated[bool, typer.Option("--ray/--no-ray",
                                               help="Start the local Ray head the training service runs jobs on.")]


def _print_components(rows: list[dict], title: str) -> None:
    table = Table(title=title)
    for col in ("name", "endpoint", "pid", "running", "answering"):
        table.add_column(col)
    for row in rows:
        ok = row.get("answering", row.get("serving"))
        table.add_row(row["name"], row["endpoint"], str(row["pid"] or "-"), "yes" if row["running"] else "no",
                      Text("yes", "green") if ok else Text("no", "red"))
    console.print(table)


# -- stack ---------------------------------------------------------------------------------------


@stack_app.command("up")
def stack_up(ray: RayOpt = False, as_json: JsonOpt = False) -> None:
    """Start NATS, PostgreSQL and S3 (and Ray with --ray); already running servers are left alone."""
    stack = load_stack()
    stack.up(with_ray=ray)
    stack_status(as_json)


@stack_app.command("down")
def stack_down() -> None:
    """Stop what `stack up` started."""
    stopped = load_stack().down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing'}")


@stack_app.command("status")
def stack_status(as_json: JsonOpt = False) -> None:
    """Every endpoint and whether it answers."""
    data = load_stack().status_dict()
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        _print_components(data["components"], f"stack at {data['home']}")


# -- migrations ------------------------------------------------------------------------------------


@app.command("migrate")
def migrate_cmd(services: Annotated[list[str] | None, typer.Argument(help="Services (default: all).")] = None) -> None:
    """Apply pending database migrations (the auth schema and each service's)."""
    names = services or list(SERVICES)
    unknown = [n for n in names if n not in SERVICES]
    if unknown:
        raise typer.BadParameter(f"unknown services {unknown}; known: {list(SERVICES)}")
    from llmops_cli.migrations import migrate  # here, not at the top: it loads the service runtime

    applied = asyncio.run(migrate(names, service_env(load_stack())))
    for schema, ids in applied.items():
        console.print(f"{schema}: {', '.join(ids) if ids else 'up to date'}")


# -- everything --------------------------------------------------------------------------------------


@app.command("up")
def up(ray: PlatformRayOpt = True, as_json: JsonOpt = False) -> None:
    """Start the stack, migrate, and start every service as its own process."""
    from llmops_cli.migrations import migrate

    stack = load_stack()
    stack.up(with_ray=ray)
    env = service_env(stack)
    asyncio.run(migrate(list(SERVICES), env))
    Supervisor(stack).start_all(list(SERVICES.values()), env, timeout=180)
    status(as_json)


@app.command("down")
def down() -> None:
    """Stop every service, then the stack."""
    stack = load_stack()
    supervisor = Supervisor(stack)
    stopped = [spec.name for spec in SERVICES.values() if supervisor.stop(spec)]
    stopped += stack.down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing'}")


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """The stack and every service: endpoint, pid, and whether it answers."""
    stack = load_stack()
    env = service_env(stack)
    supervisor = Supervisor(stack)
    services = [asdict(supervisor.status(spec, env)) for spec in SERVICES.values()]
    data = {**stack.status_dict(), "services": services}
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    _print_components(data["components"], f"stack at {data['home']}")
    _print_components(services, "services")
    for svc in services:
        if svc["http_port"] is not None:
            console.print(f"{svc['name']} REST API: {rest_url(svc['http_port'])}")


# -- keys --------------------------------------------------------------------------------------------


async def _with_key_store(action):  # type: ignore[no-untyped-def]
    from llmops_common.auth import AUTH_SCHEMA, PostgresApiKeyStore
    from llmops_common.db import make_pool

    env = service_env(load_stack())
    pool = make_pool(env["LLMOPS_POSTGRES_DSN"], AUTH_SCHEMA)
    await pool.open(wait=True, timeout=10)
    try:
        return await action(PostgresApiKeyStore(pool))
    finally:
        await pool.close()


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
    role: Annotated[str, typer.Option(help="viewer, developer, service, approver or admin.")] = "viewer",
    as_json: JsonOpt = False,
) -> None:
    """Create a key; its secret is printed once and stored only as a hash."""
    from llmops_common.auth import Role, create_key

    parsed = Role.parse(role)
    creator = os.environ.get("USER", "cli")
    record, plaintext = asyncio.run(
        _with_key_store(lambda store: create_key(store, name=name, role=parsed, created_by=creator))
    )
    if as_json:
        typer.echo(json.dumps({"key_id": record.key_id, "name": record.name, "role": role, "key": plaintext}))
    else:
        console.print(Text.assemble("key id ", (record.key_id, "bold"),
                                    f" ({record.role.name.lower()}); the key, shown once:"))
        typer.echo(plaintext)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke a key (effective within seconds everywhere)."""
    asyncio.run(_with_key_store(lambda store: store.revoke(key_id)))
    console.print(f"revoked {key_id}")


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """Every key: id, name, role, state. Secrets are never shown."""
    records = asyncio.run(_with_key_store(lambda store: store.list()))
    rows = [{"key_id": r.key_id, "name": r.name, "role": r.role.name.lower(), "created_by": r.created_by,
             "revoked": r.revoked_at is not None} for r in records]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("key id", "name", "role", "created by", "state")
    for r in rows:
        table.add_row(r["key_id"], r["name"], r["role"], r["created_by"], "revoked" if r["revoked"] else "active")
    console.print(table)


# -- dev ------------------------------------------------------------------------------------------------


@dev_app.command("protos")
def dev_protos(check: Annotated[bool, typer.Option(help="Only report stale generated files.")] = False) -> None:
    """Compile protos/ into libs/gen (or, with --check, fail when the generated code is stale)."""
    from llmops_cli.protogen import generate, stale_files

    if check:
        stale = stale_files()
        if stale:
            console.print(Text.assemble(("stale generated code", "red"), f": {stale}; run `make protos`"))
            raise typer.Exit(1)
        console.print("generated code is up to date")
    else:
        console.print(f"generated into {generate()}")


@dev_app.command("grpc-docs")
def dev_grpc_docs(check: Annotated[bool, typer.Option(help="Only report a stale docs/grpc.md.")] = False) -> None:
    """Render docs/grpc.md from the protos' comments (or, with --check, fail when it is stale or a
    service, RPC, message, field or enum value has no comment)."""
    from llmops_cli.grpcdoc import descriptor_set, doc_path, is_stale, reference, repo_root, uncommented

    if check:
        missing, stale = uncommented(descriptor_set(repo_root() / "protos")), is_stale()
        if missing:
            console.print(Text.assemble(("uncommented in protos/", "red"), f": {missing}"))
        if stale:
            console.print(Text.assemble(("stale docs/grpc.md", "red"), "; run `llmops dev grpc-docs`"))
        if missing or stale:
            raise typer.Exit(1)
        console.print("docs/grpc.md is up to date")
    else:
        doc_path().write_text(reference())
        console.print(f"wrote {doc_path()}")


@dev_app.command("asyncapi")
def dev_asyncapi(check: Annotated[bool, typer.Option(help="Only report stale generated docs.")] = False) -> None:
    """Generate docs/asyncapi.yaml and docs/events.md from the event payload models (or, with --check,
    fail when they are stale)."""
    from llmops_cli.asyncapi import generate, stale_files

    if check:
        stale = stale_files()
        if stale:
            console.print(Text.assemble(("stale generated docs", "red"), f": {stale}; run `llmops dev asyncapi`"))
            raise typer.Exit(1)
        console.print("generated docs are up to date")
    else:
        console.print(f"generated {', '.join(str(p) for p in generate())}")


def run() -> None:
    """Entry point: domain errors are reported as one line, not a traceback."""
    from llmops_common.errors import DomainError

    try:
        app()
    except DomainError as exc:
        err_console.print(Text.assemble(("error", "red"), f" ({exc.code.value}): {exc}"), soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    run()
