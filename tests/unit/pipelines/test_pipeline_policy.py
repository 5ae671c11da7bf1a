"""Pipeline definitions: defaults, digests, and every refusal naming its field; hostile YAML."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_fakes import DEFINITION

from llmops_common.errors import InvalidArgument
from llmops_pipelines.domain.policy import MAX_DEPTH, parse_definition


def test_a_definition_takes_its_defaults_and_a_stable_digest():
    definition = parse_definition(DEFINITION)
    assert definition.evaluate.compare_with == ["champion", "base"] and definition.evaluate.split == "test"
    assert definition.training_dataset == "qa-data"
    assert [name for name, _ in definition.steps()] == ["train", "evaluate", "promote-staging", "promote-production"]
    assert [name for name, _ in definition.steps(promote=False)] == ["train", "evaluate"]
    assert definition.digest() == parse_definition(DEFINITION + "\n# comment\n").digest()
    assert definition.digest() != parse_definition(DEFINITION.replace("seed: 7", "seed: 8")).digest()


@pytest.mark.parametrize(("change", "field", "message"), [
    (("model_name: qa-lora", "model_name: 'bad name'"), "definition.model_name", "pattern"),
    (("name: qa", "name: qa\nsurprise: 1"), "definition.surprise", "Extra inputs"),
    (("{alias: staging,", "{alias: 'st@ging',"), "definition.promote.0.alias", "pattern"),
    (("approvals: 1", "approvals: 99"), "definition.promote.1.approvals", "less than or equal"),
    (("max_steps: 5", "max_steps: five"), "definition.train.spec", "not a TrainingSpec"),
    (("spec: {hyperparameters", "spec: {dataset_version: x, hyperparameters"), "definition.train.spec",
     "set by the pipeline"),
    (("datasets: [qa-data]", "datasets: [qa-data]\n  every: 10s"), "definition.trigger.every", "at least a minute"),
    (("datasets: [qa-data]", "datasets: [qa-data]\n  alerts: [earthquake]"), "definition.trigger.alerts.0", ""),
    (("base_model: models:/tiny@latest", "base_model: http://x"), "definition.train.base_model", "pattern"),
    (("backoff_seconds: 10", "backoff_seconds: .nan"), "definition.retry.backoff_seconds", ""),
    (("{alias: production, approvals: 1}", "{alias: staging}"), "definition", "each alias at most once"),
])
def test_refusals_name_the_field(change, field, message):
    with pytest.raises(InvalidArgument) as caught:
        parse_definition(DEFINITION.replace(*change))
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize(("text", "message"), [
    ("", "give the pipeline definition"),
    ("- a\n- b\n", "must be a YAML mapping"),
    ("name: [unclosed\n", "at line"),
    ("a: &x [1]\nb: *x\n", "anchors and aliases"),
    ("x: " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2), "nests deeper"),
    ("name: \x00\n", "NUL"),
    ("x: " + "y" * 70_000, "larger than"),
    ("!!python/object:os.system {}\n", "could not determine a constructor"),
])
def test_hostile_yaml_is_refused_clearly(text, message):
    with pytest.raises(InvalidArgument) as caught:
        parse_definition(text)
    assert message in str(caught.value)


def test_an_alias_bomb_is_refused_before_it_expands():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20))
    with pytest.raises(InvalidArgument, match="anchors and aliases"):
        parse_definition(bomb)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_a_definition_or_a_clear_refusal(text):
    try:
        parse_definition(text)
    except InvalidArgument as exc:
        assert exc.field and exc.field.startswith("definition")


@settings(max_examples=50, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                                       max_size=4), max_leaves=20))
def test_any_yaml_value_in_the_spec_is_refused_by_field_or_accepted(value):
    import yaml

    text = DEFINITION.replace("spec: {hyperparameters: {max_steps: 5, seed: 7}}",
                              "spec: " + yaml.safe_dump({"extra": value}, default_flow_style=True).strip())
    try:
        parse_definition(text)
    except InvalidArgument as exc:
        assert exc.field and exc.field.startswith("definition")
