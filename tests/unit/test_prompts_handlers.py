"""The prompt store's use cases on the in-memory unit of work."""

import pytest

from llmops_common.auth import Principal, Role
from llmops_common.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from llmops_common.templating import ChatMessage, Template, VariableSpec, VariableType
from llmops_prompts import handlers
from llmops_prompts.domain.model import CreateVersion
from llmops_prompts.store.memory import InMemoryPrompts

DEV = Principal("k1", "dev", Role.DEVELOPER)
ANN = Principal("k2", "ann", Role.APPROVER)
PROTECTED = frozenset({"production"})


@pytest.fixture
async def store():
    state = InMemoryPrompts()
    await handlers.create_prompt(state.unit_of_work, "support", "answers", {"team": "cx"}, actor=DEV)
    for source in ("Answer: {{ q }}", "Answer briefly: {{ q }} ({{ n }})"):
        specs = (VariableSpec("q"),) + ((VariableSpec("n", VariableType.INTEGER, required=False, default=1),)
                                        if "{{ n }}" in source else ())
        await handlers.create_version(state.unit_of_work,
                                      CreateVersion("support", Template(text=source, variables=specs),
                                                    {"temperature": 0.2}), actor=DEV)
    return state


async def test_versions_are_numbered_and_latest_follows(store):
    prompt, version, label = await handlers.get_prompt(store.unit_of_work, "support")
    assert (prompt.latest_version, version.version, label) == (2, 2, "latest")
    assert prompt.labels == {"latest": 2} and version.labels == ("latest",)
    assert [e.type for e in store.outbox] == ["llmops.prompts.version.created"] * 2
    with pytest.raises(AlreadyExists):
        await handlers.create_prompt(store.unit_of_work, "support", "", {}, actor=DEV)


async def test_production_wins_over_latest_and_labels_move(store):
    await handlers.set_label(store.unit_of_work, "support", "production", 1, actor=ANN, protected=PROTECTED)
    _, version, label = await handlers.get_prompt(store.unit_of_work, "support")
    assert (version.version, label) == (1, "production")
    assert (await handlers.get_prompt(store.unit_of_work, "support", label="latest"))[1].version == 2
    moved = store.outbox[-1]
    assert moved.type == "llmops.prompts.label.moved" and moved.payload.new_version == 1
    assert store.audit[-1].action == "label.moved" and store.audit[-1].actor == "ann"


async def test_label_rules(store):
    with pytest.raises(InvalidArgument, match="'latest' is maintained automatically"):
        await handlers.set_label(store.unit_of_work, "support", "latest", 1, actor=ANN, protected=PROTECTED)
    with pytest.raises(PermissionDenied, match="protected"):
        await handlers.set_label(store.unit_of_work, "support", "production", 1, actor=DEV, protected=PROTECTED)
    await handlers.set_label(store.unit_of_work, "support", "staging", 1, actor=DEV, protected=PROTECTED)
    with pytest.raises(NotFound):
        await handlers.set_label(store.unit_of_work, "support", "staging", 9, actor=DEV, protected=PROTECTED)
    with pytest.raises(NotFound):
        await handlers.get_prompt(store.unit_of_work, "support", label="canary")
    assert await handlers.delete_label(store.unit_of_work, "support", "staging", actor=DEV, protected=PROTECTED) == 1


async def test_render_and_diff(store):
    version, output = await handlers.render_prompt(store.unit_of_work, "support", {"q": "why"}, version=2)
    assert (version.version, output) == (2, "Answer briefly: why (1)")
    change = await handlers.diff_versions(store.unit_of_work, "support", 1, 2)
    assert "-Answer: {{ q }}" in change.template_diff and "+Answer briefly: {{ q }} ({{ n }})" in change.template_diff
    assert [(c.path, c.kind) for c in change.variable_changes] == [("variables.n", "added")]
    assert "\n+Answer briefly" in change.template_diff  # lines stay apart without trailing newlines
    assert change.model_config_changes == [] and not change.type_changed


async def test_chat_versions_and_tags(store):
    chat = Template(messages=(ChatMessage("system", "Be kind."), ChatMessage("user", "{{ q }}")),
                    variables=(VariableSpec("q"),))
    created = await handlers.create_version(store.unit_of_work, CreateVersion("support", chat, request_id="r1"),
                                            actor=DEV)
    again = await handlers.create_version(store.unit_of_work, CreateVersion("support", chat, request_id="r1"),
                                          actor=DEV)
    assert created.version == again.version == 3
    assert (await handlers.diff_versions(store.unit_of_work, "support", 2, 3)).type_changed
    tagged = await handlers.update_tags(store.unit_of_work, "support", {"owner": "ann"}, ["team"], actor=DEV)
    assert tagged.tags == {"owner": "ann"}
