"""The prompt client's parsing of references and variable specs refuses what the service would."""

import pytest

from llmops.prompts.v1 import prompts_pb2 as pb
from llmops_common.errors import InvalidArgument
from llmops_common.prompt_client import PromptRef, variable_from_pb


@pytest.mark.parametrize("ref", ["support\n", "support@production\n", "support/3\n", "support@", "a" * 300,
                                 "x/1" + "0" * 20])
def test_malformed_references_are_refused(ref: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        PromptRef.parse(ref)
    assert caught.value.field == "ref"


def test_well_formed_references_parse() -> None:
    assert PromptRef.parse("support-bot@production") == PromptRef("support-bot", "production", None)
    assert PromptRef.parse("support-bot/12") == PromptRef("support-bot", None, 12)


@pytest.mark.parametrize(("spec", "where"), [
    (pb.VariableSpec(name="q", delimiting=2147483647), "variables.'q'.delimiting"),
    (pb.VariableSpec(name="q", type=99), "variables.'q'.type"),
])
def test_unknown_enum_values_are_invalid_arguments(spec: pb.VariableSpec, where: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        variable_from_pb(spec)
    assert caught.value.field == where
