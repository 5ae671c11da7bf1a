"""The pure parts of a job: records into (prompt, completion) text, prompt-masked tokens, packing, the
seeded batch order a resumed run replays, a trial's plan, and the reason a failed job gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmops_common.templating import ChatMessage, Template, VariableSpec, VariableType
from llmops_common.templating.wire import template_to_wire
from llmops_training.jobs import data
from llmops_training.jobs.driver import failure_reason
from llmops_training.jobs.protocol import DataPlan, StorageAccess, TrainPlan
from llmops_training.jobs.sweep import trial_index, trial_plan

TEXT = Template(text="Q: {{ instruction }} {{ input }}\nA:", variables=(
    VariableSpec("instruction", VariableType.STRING, True, None, ""),
    VariableSpec("input", VariableType.STRING, False, "", "")))
CHAT = Template(messages=(ChatMessage("system", "Be brief."),), variables=(
    VariableSpec("messages", VariableType.LIST, True, None, ""),))


class WordTokenizer:
    """One id per word (by first appearance), bos 1, eos 2: enough to see what is masked."""

    bos_token_id, eos_token_id = 1, 2

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [self.vocab.setdefault(w, 10 + len(self.vocab)) for w in text.split()]


def test_an_instruction_record_masks_the_rendered_prompt_and_trains_on_the_output():
    plan = DataPlan(shape="instruction", train_uris=(), template=template_to_wire(TEXT))
    record = {"instruction": "name a colour", "input": "", "output": "red it is"}
    assert data.prompt_and_completion(record, plan) == ("Q: name a colour \nA:", "red it is")
    only_instruction = Template(text="Do: {{ instruction }}", variables=TEXT.variables[:1])
    narrow = DataPlan(shape="instruction", train_uris=(), template=template_to_wire(only_instruction))
    assert data.prompt_and_completion(record, narrow)[0] == "Do: name a colour"  # gets only what it declares
    [example] = data.tokenize([record], plan, WordTokenizer(), max_length=64)
    prompt_tokens = 1 + 5  # bos + "Q: name a colour A:"
    assert example.labels[:prompt_tokens] == (data.IGNORE,) * prompt_tokens
    assert example.labels[prompt_tokens:] == example.input_ids[prompt_tokens:]
    assert example.input_ids[-1] == WordTokenizer.eos_token_id and len(example.input_ids) == prompt_tokens + 4


def test_a_chat_record_trains_on_its_last_assistant_turn_only():
    plan = DataPlan(shape="chat", train_uris=(), template=template_to_wire(CHAT))
    record = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                           {"role": "user", "content": "bye"}, {"role": "assistant", "content": "goodbye now"}]}
    prompt, completion = data.prompt_and_completion(record, plan)
    assert (prompt, completion) == ("system: Be brief.\n", "goodbye now")
    with pytest.raises(ValueError, match="no assistant turn"):
        data.prompt_and_completion({"messages": [{"role": "user", "content": "hi"}]}, plan)


def test_a_text_record_trains_on_every_token_and_a_cut_prompt_leaves_the_record_out():
    plan = DataPlan(shape="text", train_uris=())
    [example] = data.tokenize([{"text": "one two three"}], plan, WordTokenizer(), max_length=64)
    assert data.IGNORE not in example.labels[1:]
    instruction = DataPlan(shape="instruction", train_uris=(), template=template_to_wire(TEXT))
    long_prompt = {"instruction": " ".join(["word"] * 50), "input": "", "output": "answer"}
    assert data.tokenize([long_prompt], instruction, WordTokenizer(), max_length=16) == []


def test_packing_keeps_every_token_and_label_in_order():
    examples = [data.Example((1, 2, 3), (-100, 2, 3)), data.Example((4, 5), (4, 5)), data.Example((6,), (6,))]
    packed = data.pack(examples, max_length=4)
    assert [e.input_ids for e in packed] == [(1, 2, 3, 4), (5, 6)]
    assert [e.labels for e in packed] == [(-100, 2, 3, 4), (5, 6)]


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 200), micro_batch=st.integers(1, 8), world=st.integers(1, 4), seed=st.integers(0, 10**6),
       step=st.integers(0, 500))
def test_the_batch_order_is_a_pure_function_of_the_step_and_ranks_never_share_an_example(
        size, micro_batch, world, seed, step):
    order = data.BatchOrder(size, micro_batch, world, seed)
    batches = [order.micro_batch_at(step, rank) for rank in range(world)]
    assert batches == [data.BatchOrder(size, micro_batch, world, seed).micro_batch_at(step, r) for r in range(world)]
    assert all(0 < len(b) <= micro_batch and all(0 <= i < size for i in b) for b in batches)
    if size >= micro_batch * world:
        flat = [i for b in batches for i in b]
        assert len(flat) == len(set(flat))


def test_one_epoch_visits_every_example_once():
    order = data.BatchOrder(24, 3, 2, seed=7)
    seen = [i for step in range(order.micro_steps_per_epoch) for rank in range(2)
            for i in order.micro_batch_at(step, rank)]
    assert sorted(seen) == list(range(24))


def _plan() -> TrainPlan:
    return TrainPlan(run_id="sweep1", base_uri="s3://m/base", data=DataPlan(shape="text", train_uris=("s3://d/x",)),
                     output_uri="s3://m/out", checkpoint_uri="s3://a/ckpt",
                     storage=StorageAccess(endpoint="h:1", access_key="a" * 20, secret_key="s" * 40))


def test_a_trial_plan_sets_its_parameters_and_runs_alone_without_output():
    plan = trial_plan(_plan(), {"hyperparameters.learning_rate": 0.01, "lora.r": 4}, trial=3)
    assert (plan.hyperparameters.learning_rate, plan.lora.r) == (0.01, 4)
    assert plan.run_id == "sweep1-t3" and plan.output_uri == ""
    assert (plan.distributed.workers, plan.distributed.zero_stage) == (1, 0)
    assert plan.hyperparameters.eval_every_steps > 0
    assert trial_index("run_abc_00007") == 7


def test_a_failure_reason_is_the_last_meaningful_line_bounded():
    error = RuntimeError("Traceback (most recent call last):\n  File \"x.py\", line 1\n    ^^^\nValueError: bad shard")
    assert failure_reason(error) == "RuntimeError: ValueError: bad shard"
    assert len(failure_reason(RuntimeError("x" * 5000))) <= 600
