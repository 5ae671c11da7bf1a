"""``llmops chat MODEL [PROMPT]``: a quick try of a served model over the serving service's
OpenAI-compatible REST API, with the official ``openai`` client. With PROMPT, one streamed answer;
without, a conversation whose history goes with every turn (``/exit`` or EOF ends it, Ctrl-C cancels
the answer being streamed, closing its connection so the server frees the slot)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from llmops_cli.local import admin_key, load_stack
from llmops_cli.output import err_console
from llmops_cli.services import SERVICES, rest_url
from llmops_cli.toolkit import ApiKeyOpt

if TYPE_CHECKING:
    from openai import APIError, OpenAI

EXIT_COMMAND = "/exit"
# A turn that fails with one of these cannot succeed later in the session (bad key, no such model).
FATAL_STATUS = (401, 403, 404)


def default_url() -> str:
    """The local stack's serving REST API: ``$LLMOPS_SERVING_HTTP_PORT``, else the settings' default port."""
    return rest_url(int(os.environ.get("LLMOPS_SERVING_HTTP_PORT") or SERVICES["serving"].default_http_port()))


def chat(
    model: Annotated[str, typer.Argument(help="Model to ask: name, name@alias or name/version.")],
    prompt: Annotated[str | None, typer.Argument(help="One question (omit for a conversation).")] = None,
    system: Annotated[str | None, typer.Option("--system", help="System message.")] = None,
    temperature: Annotated[float | None, typer.Option("--temperature", min=0.0, help="Sampling temperature.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1, help="Most tokens per answer.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampling seed.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Base URL of the OpenAI-compatible API "
                                                          "(default: the local stack's serving service).")] = None,
    api_key: ApiKeyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole chat.completion JSON, not streamed "
                                                        "(needs PROMPT).")] = False,
) -> None:
    """Chat with a served model: one streamed answer to PROMPT, or a conversation."""
    if as_json and prompt is None:
        raise typer.BadParameter("--json needs a PROMPT")
    openai = _openai()
    base_url = url or default_url()
    # No retries: a quick try should show a failure at once, not after backoff.
    client = openai.OpenAI(base_url=base_url, api_key=api_key or admin_key(load_stack()), max_retries=0)
    params = {k: v for k, v in {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}.items()
              if v is not None}
    start = [{"role": "system", "content": system}] if system is not None else []
    try:
        if prompt is None:
            _converse(client, model, start, params)
        elif as_json:
            raw = client.chat.completions.with_raw_response.create(
                model=model, messages=[*start, {"role": "user", "content": prompt}], **params)
            typer.echo(raw.http_response.text)
        else:
            _answer(client, model, [*start, {"role": "user", "content": prompt}], params)
    except KeyboardInterrupt:
        typer.echo()
        raise typer.Exit(130) from None
    except openai.APIConnectionError as exc:
        typer.echo(f"error: cannot reach {base_url}: {exc}", err=True)
        raise typer.Exit(1) from None
    except openai.APIError as exc:
        _report(exc)
        raise typer.Exit(1) from None


def _openai() -> Any:
    """The openai package, imported only when a chat runs (it comes with the serving extra)."""
    try:
        import openai
    except ImportError:
        typer.echo("error: `llmops chat` needs the openai client: pip install 'llmops-platform[serving]'", err=True)
        raise typer.Exit(1) from None
    return openai


def _answer(client: OpenAI, model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    """Stream one answer to stdout as it arrives, then its token usage to stderr; the answer's text."""
    parts: list[str] = []
    usage = None
    with client.chat.completions.create(model=model, messages=messages, stream=True,
                                        stream_options={"include_usage": True}, **params) as stream:
        for chunk in stream:
            usage = chunk.usage or usage
            for choice in chunk.choices:
                if choice.delta.content:
                    parts.append(choice.delta.content)
                    typer.echo(choice.delta.content, nl=False)
    typer.echo()
    if usage is not None:
        err_console.print(f"usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens",
                          style="dim")
    return "".join(parts)


def _converse(client: OpenAI, model: str, history: list[dict[str, str]], params: dict[str, Any]) -> None:
    """Read a line, answer it with the whole history, keep the exchange; a cancelled or failed turn is
    dropped from the history (a key or model error ends the session)."""
    api_error = _openai().APIError
    while True:
        try:
            line = input("> ")
        except EOFError:
            typer.echo()
            return
        except KeyboardInterrupt:  # at the prompt: a fresh line, as in a shell
            typer.echo()
            continue
        if line.strip() == EXIT_COMMAND:
            return
        if not line.strip():
            continue
        turn = [*history, {"role": "user", "content": line}]
        try:
            answer = _answer(client, model, turn, params)
        except KeyboardInterrupt:
            typer.echo()
            err_console.print("(cancelled)", style="dim")
            continue
        except api_error as exc:
            if getattr(exc, "status_code", None) in FATAL_STATUS:
                raise
            _report(exc)
            continue
        history = [*turn, {"role": "assistant", "content": answer}]


def _report(exc: APIError) -> None:
    """The server's OpenAI error message, as ``error (<HTTP status>): <message>`` on stderr."""
    body = exc.body if isinstance(exc.body, dict) else {}
    message = str(body.get("message") or exc.message).replace("\n", " ")
    status = getattr(exc, "status_code", None)
    typer.echo(f"error ({status}): {message}" if status else f"error: {message}", err=True)
