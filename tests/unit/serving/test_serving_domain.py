"""Serving's pure rules: model names, sampling parameters (client over release over defaults) and the
chat prompt a model continues."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_common.errors import InvalidArgument, NotFound
from llmops_common.templating import ChatMessage, Template, VariableSpec, VariableType
from llmops_serving.domain.chat import chat_prompt
from llmops_serving.domain.names import MAX_VERSION, ModelName, parse_model_name
from llmops_serving.domain.sampling import release_defaults, resolve

# -- model names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "parsed"), [
    ("support-bot@production", ModelName("support-bot", alias="production")),
    ("tiny_llama.v2/3", ModelName("tiny_llama.v2", version=3)),
    (f"m/{MAX_VERSION}", ModelName("m", version=MAX_VERSION)),
    ("tiny", ModelName("tiny")),
    ("a0", ModelName("a0")),
])
def test_model_names_parse_and_print_back(text: str, parsed: ModelName) -> None:
    assert parse_model_name(text) == parsed
    assert str(parsed) == text


@pytest.mark.parametrize("text", [
    "", None, 3, b"tiny", "\x00", "tiny\x00", "a@", "@prod", "/3", "a/", "a/0", "a/-1", "a/+3", "a/3.0", "a/ 3",
    "a/99999999999999999999999", f"a/{MAX_VERSION + 1}", "a/٣", "a/３", "ｔiny", "tinу", "tiny@prоd", "a@b@c",
    "a/3@prod", "a/3/4", "-a", ".a", "a b", "a\n", "x" * 129, "a@" + "p" * 65, "a@3prod",
])
def test_names_that_cannot_exist_are_unknown_models(text: Any) -> None:
    with pytest.raises(NotFound) as caught:
        parse_model_name(text)
    assert caught.value.field == "model"
    assert len(str(caught.value)) < 300


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_model_name_or_not_found(text: str) -> None:
    try:
        parsed = parse_model_name(text)
    except NotFound as exc:
        assert exc.field == "model"
        return
    assert str(parsed) == text and text.isascii()


# -- sampling parameters --------------------------------------------------------------------------------


def test_client_values_win_over_the_release_which_wins_over_the_defaults() -> None:
    release = {"temperature": 0.2, "top_p": 0.9, "max_tokens": 40}
    params, asked = resolve({"temperature": 0.7}, release, default_max_tokens=16, max_tokens_limit=64)
    assert (params.temperature, params.top_p, params.max_tokens, asked) == (0.7, 0.9, 40, True)
    params, asked = resolve({}, {}, default_max_tokens=16, max_tokens_limit=64)
    assert (params.temperature, params.max_tokens, asked) == (1.0, 16, False)
    params, _ = resolve({}, {}, default_max_tokens=100, max_tokens_limit=64)
    assert params.max_tokens == 64  # the default never exceeds the limit
    params, asked = resolve({"max_tokens": 5}, release, default_max_tokens=16, max_tokens_limit=64)
    assert (params.max_tokens, asked) == (5, True)


def test_a_release_struct_holds_whole_floats_that_become_integers() -> None:
    struct = struct_pb2.Struct()
    struct.update({"max_tokens": 32, "top_k": 5, "seed": 7, "temperature": 1.0, "stop": "END", "unknown": 1})
    parameters = json_format.MessageToDict(struct)
    assert parameters["max_tokens"] == 32.0 and isinstance(parameters["max_tokens"], float)

    defaults = release_defaults(parameters)
    assert defaults == {"max_tokens": 32, "top_k": 5, "seed": 7, "temperature": 1.0, "stop": ("END",)}
    assert all(type(defaults[k]) is int for k in ("max_tokens", "top_k", "seed"))
    params, _ = resolve({}, parameters, default_max_tokens=16, max_tokens_limit=64)
    assert (params.max_tokens, params.top_k, params.seed, params.stop) == (32, 5, 7, ("END",))


def test_a_release_fractional_integer_is_refused_naming_it() -> None:
    with pytest.raises(InvalidArgument) as caught:
        resolve({}, {"max_tokens": 3.5}, default_max_tokens=16, max_tokens_limit=64)
    assert caught.value.field == "max_tokens"


@pytest.mark.parametrize(("client", "field"), [
    ({"frequency_penalty": 0.1}, "frequency_penalty"), ({"temperature": 3}, "temperature"),
    ({"max_tokens": 65}, "max_tokens"), ({"stop": 3}, "stop"), ({"stop": {"a": 1}}, "stop"),
    ({"stop": ["a", ""]}, "stop[1]"), ({"top_p": float("nan")}, "top_p"), ({"seed": True}, "seed"),
])
def test_bad_client_parameters_are_refused_naming_them(client: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        resolve(client, {}, default_max_tokens=16, max_tokens_limit=64)
    assert caught.value.field == field


def test_a_stop_string_or_list_becomes_a_tuple() -> None:
    for stop, expected in (("x", ("x",)), (["x", "y"], ("x", "y")), (("x",), ("x",))):
        params, _ = resolve({"stop": stop}, {}, default_max_tokens=16, max_tokens_limit=64)
        assert params.stop == expected


# -- chat prompts -------------------------------------------------------------------------------------------

CHAT = [ChatMessage("system", "Be brief."), ChatMessage("user", "first"), ChatMessage("assistant", "ok"),
        ChatMessage("user", "What is 2+2?")]


def test_a_release_template_that_declares_messages_renders_them() -> None:
    template = Template(text="{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}<assistant>",
                        variables=(VariableSpec("messages", VariableType.LIST),))
    assert chat_prompt(CHAT, template=template, tokenizer=None) == (
        "<system>Be brief.\n<user>first\n<assistant>ok\n<user>What is 2+2?\n<assistant>")


def test_a_release_template_with_an_instruction_gets_the_last_user_message() -> None:
    template = Template(text="### Instruction:\n{{ instruction }}\n{{ input }}### Response:\n",
                        variables=(VariableSpec("instruction"), VariableSpec("input", required=False)))
    assert chat_prompt(CHAT, template=template, tokenizer=None) == "### Instruction:\nWhat is 2+2?\n### Response:\n"
    chat = Template(messages=(ChatMessage("system", "You are terse."), ChatMessage("user", "{{ instruction }}")),
                    variables=(VariableSpec("instruction"),))
    assert chat_prompt(CHAT, template=chat, tokenizer=None) == "system: You are terse.\nuser: What is 2+2?\n"


def test_without_a_release_template_the_tokenizers_chat_template_is_used(tiny_tokenizer: Any) -> None:
    tokenizer = copy.deepcopy(tiny_tokenizer)
    tokenizer.chat_template = ("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
                               "{% if add_generation_prompt %}[assistant] {% endif %}")
    assert chat_prompt(CHAT[:2], template=None, tokenizer=tokenizer) == "[system] Be brief.\n[user] first\n[assistant] "


def test_without_any_template_each_message_is_one_role_line(tiny_tokenizer: Any) -> None:
    assert not getattr(tiny_tokenizer, "chat_template", None)
    assert chat_prompt(CHAT[:2], template=None, tokenizer=tiny_tokenizer) == "system: Be brief.\nuser: first\n"
    assert chat_prompt([], template=None, tokenizer=None) == ""
