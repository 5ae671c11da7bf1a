"""The request bodies of the OpenAI-compatible API, as pydantic models with OpenAI's field names.

Types are strict (no ``"1"`` for 1, no ``true`` for 1), non-finite numbers and strings that are not
valid Unicode are refused, and unknown fields are ignored: the openai client sends fields this server
has no use for. Ranges are checked later, by ``SamplingParams.checked`` in the gateway; this layer
checks shapes and the request-level rules (one choice, no penalties, no echo) and turns a request into
an ``InferenceCall``. Every error is an ``InvalidArgument`` whose field is the parameter's path, e.g.
``messages[2].content[0].type``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote
from llmops_inference.params import MAX_TOP_LOGPROBS
from llmops_serving.gateway import InferenceCall, Message

#: OpenAI's limit on ``logprobs`` of the legacy completions API
MAX_COMPLETION_LOGPROBS = 5
#: the longest model name, user or session id taken from a request
MAX_NAME_CHARS = 256


class InvalidJson(InvalidArgument):
    """The body is not a JSON object."""


class Unsupported(InvalidArgument):
    """An OpenAI parameter this server does not implement was given a value other than its default."""


def _well_formed(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (it holds an unpaired surrogate)") from None
    return text


Text = Annotated[str, AfterValidator(_well_formed)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(_well_formed)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)


class StreamOptions(_Body):
    include_usage: bool | None = None


class _Request(_Body):
    """What both completion APIs share."""

    model: Name
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    stop: list[Text] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    seed: int | None = None
    user: Annotated[str, Field(max_length=MAX_NAME_CHARS), AfterValidator(_well_formed)] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # vLLM's extensions
    top_k: int | None = None
    ignore_eos: bool | None = None
    min_tokens: int | None = None

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def _sampling(self, max_tokens_field: str, max_tokens: int | None, max_tokens_limit: int) -> dict[str, Any]:
        """The ``SamplingParams`` fields the client set, after the request-level rules."""
        if self.n not in (None, 1):
            raise Unsupported(f"only one choice per request is supported, got {quote(self.n)}", field="n")
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(self, name) not in (None, 0):
                raise Unsupported("is not supported; leave it out or set it to 0", field=name)
        if max_tokens is not None and max_tokens > max_tokens_limit:
            raise InvalidArgument(f"must be at most {max_tokens_limit}, got {quote(max_tokens)}",
                                  field=max_tokens_field)
        chosen = {"max_tokens": max_tokens, "temperature": self.temperature, "top_p": self.top_p,
                  "top_k": self.top_k, "seed": self.seed, "ignore_eos": self.ignore_eos,
                  "min_tokens": self.min_tokens, "stop": None if self.stop is None else tuple(self.stop)}
        return {name: value for name, value in chosen.items() if value is not None}


class TextPart(_Body):
    type: Literal["text"]
    text: Text


class ChatMessage(_Body):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: list[TextPart] | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _string_content(cls, value: Any) -> Any:
        return [{"type": "text", "text": value}] if isinstance(value, str) else value

    @property
    def text(self) -> str:
        """The text parts joined by newlines (as vLLM does); an assistant turn may have none."""
        return "\n".join(part.text for part in self.content or ())


class ChatCompletionRequest(_Request):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_completion_tokens: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None

    def to_call(self, *, request_id: str, key_id: str, user: str, session: str,
                max_tokens_limit: int) -> InferenceCall:
        for i, message in enumerate(self.messages):
            if message.content is None and message.role != "assistant":
                raise InvalidArgument(f"a {message.role} message needs content", field=f"messages[{i}].content")
        if self.max_completion_tokens is not None:
            sampling = self._sampling("max_completion_tokens", self.max_completion_tokens, max_tokens_limit)
        else:
            sampling = self._sampling("max_tokens", self.max_tokens, max_tokens_limit)
        if self.top_logprobs is not None:
            if not self.logprobs:
                raise InvalidArgument("needs logprobs set to true", field="top_logprobs")
            if not 0 <= self.top_logprobs <= MAX_TOP_LOGPROBS:
                raise InvalidArgument(f"must be between 0 and {MAX_TOP_LOGPROBS}, got {quote(self.top_logprobs)}",
                                      field="top_logprobs")
        if self.logprobs:
            sampling["logprobs"] = self.top_logprobs or 0
        return InferenceCall(model=self.model, api="chat", request_id=request_id, key_id=key_id,
                             messages=tuple(Message(m.role, m.text) for m in self.messages), sampling=sampling,
                             user=self.user or user, session=session)


class CompletionRequest(_Request):
    prompt: list[Text]
    logprobs: int | None = None
    echo: bool | None = None
    suffix: Text | None = None
    best_of: int | None = None

    @field_validator("prompt", mode="before")
    @classmethod
    def _one_prompt(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and any(not isinstance(item, str) for item in value):
            raise ValueError("token-id prompts are not supported; send the prompt as text")
        return value

    def to_call(self, *, request_id: str, key_id: str, user: str, session: str,
                max_tokens_limit: int) -> InferenceCall:
        if len(self.prompt) != 1:
            raise Unsupported(f"must be a string or a list of exactly one string, got {len(self.prompt)}",
                              field="prompt")
        if self.echo:
            raise Unsupported("echo is not supported", field="echo")
        if self.suffix:
            raise Unsupported("suffix is not supported", field="suffix")
        if self.best_of not in (None, 1):
            raise Unsupported(f"only best_of 1 is supported, got {quote(self.best_of)}", field="best_of")
        sampling = self._sampling("max_tokens", self.max_tokens, max_tokens_limit)
        if self.logprobs is not None:
            if not 0 <= self.logprobs <= MAX_COMPLETION_LOGPROBS:
                raise InvalidArgument(f"must be between 0 and {MAX_COMPLETION_LOGPROBS}, got {quote(self.logprobs)}",
                                      field="logprobs")
            sampling["logprobs"] = self.logprobs
        return InferenceCall(model=self.model, api="completions", request_id=request_id, key_id=key_id,
                             prompt=self.prompt[0], sampling=sampling, user=self.user or user, session=session)


def decode_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ``InvalidJson``. Non-finite numbers pass here (Python's json
    reads ``NaN``) and are refused by the models, which name the field."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # bad syntax or encoding, over-long integers, deep nesting
        raise InvalidJson(f"the body is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise InvalidJson(f"the body must be a JSON object, not {type(data).__name__}")
    return data


Model = TypeVar("Model", bound=_Body)


def parse(model: type[Model], data: dict[str, Any]) -> Model:
    """``data`` as ``model``, or ``InvalidArgument`` naming the first bad parameter's path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        path = _path(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] != "missing":
            message += f" (got {_describe(error.get('input'))})"
        raise InvalidArgument(message, field=path) from None


def _describe(value: Any) -> str:
    """A short quote of a scalar; only the kind of a list or object (never its whole text)."""
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    return quote(value)


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
