"""Streaming text: the incremental detokenizer's deltas add up to the tokenizer's decoding, never
showing half a character, and the stop matcher emits exactly the text before the first stop
sequence however the text arrives."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from llmops_inference.text import IncrementalDetokenizer, StopMatcher

FIXTURE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def decode(tokenizer: Any, ids: list[int]) -> str:
    return tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def stream(tokenizer: Any, ids: list[int], prompt: list[int] | tuple[int, ...] = ()) -> list[str]:
    detok = IncrementalDetokenizer(tokenizer, prompt)
    return [detok.add(i) for i in ids] + [detok.flush()]


@FIXTURE
@given(data=st.data())
def test_deltas_of_any_token_ids_join_to_their_decoding(tiny_tokenizer: Any, data: st.DataObject) -> None:
    ids = data.draw(st.lists(st.integers(0, tiny_tokenizer.vocab_size - 1), max_size=40))
    assert "".join(stream(tiny_tokenizer, ids)) == decode(tiny_tokenizer, ids)


@FIXTURE
@given(text=st.text(st.sampled_from("ab é ü漢字\n€😀"), max_size=30), prompt=st.text("the quick brown", max_size=20))
def test_deltas_of_real_text_never_hold_half_a_character(tiny_tokenizer: Any, text: str, prompt: str) -> None:
    ids = tiny_tokenizer.encode(text)
    deltas = stream(tiny_tokenizer, ids, tiny_tokenizer.encode(prompt))
    assert "".join(deltas) == text
    assert not any("\ufffd" in d for d in deltas)


def test_a_character_split_over_tokens_arrives_whole_with_its_last_token(tiny_tokenizer: Any) -> None:
    ids = [tiny_tokenizer.convert_tokens_to_ids(t) for t in tiny_tokenizer.convert_ids_to_tokens(
        tiny_tokenizer.encode("😀"))]
    assert len(ids) > 1  # no merge covers the emoji: one token per byte
    assert stream(tiny_tokenizer, ids) == [""] * (len(ids) - 1) + ["😀", ""]


def test_special_tokens_are_not_shown(tiny_tokenizer: Any) -> None:
    ids = [tiny_tokenizer.bos_token_id, *tiny_tokenizer.encode("the fox"), tiny_tokenizer.eos_token_id]
    assert "".join(stream(tiny_tokenizer, ids)) == "the fox"


def matched_text(stops: list[str], chunks: list[str]) -> tuple[str, bool]:
    matcher = StopMatcher(stops)
    out = []
    for chunk in chunks:
        text, matched = matcher.feed(chunk)
        out.append(text)
        if matched:
            return "".join(out), True
    return "".join(out) + matcher.flush(), False


@st.composite
def chunked(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = draw(st.text(st.sampled_from("abcab\u00e9"), max_size=40))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=10)))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(max_examples=1000, deadline=None)
@given(case=chunked(), stops=st.lists(st.text(st.sampled_from("abc\u00e9"), min_size=1, max_size=4), max_size=4))
def test_the_emitted_text_ends_before_the_first_stop_sequence(case: tuple[str, list[str]], stops: list[str]) -> None:
    text, chunks = case
    # with one stop inside another, which one ends generation depends on where a token boundary falls
    assume(not any(a != b and a in b for a in stops for b in stops))
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    emitted, matched = matched_text(stops, chunks)
    assert emitted == (text[:min(hits)] if hits else text)
    assert matched == bool(hits)


@settings(max_examples=300, deadline=None)
@given(case=chunked(), stops=st.lists(st.text(st.sampled_from("abc"), min_size=1, max_size=4), max_size=4))
def test_nested_stop_sequences_still_cut_at_a_stop(case: tuple[str, list[str]], stops: list[str]) -> None:
    text, chunks = case
    emitted, matched = matched_text(stops, chunks)
    assert text.startswith(emitted)
    if matched:
        assert any(text.startswith(s, len(emitted)) for s in stops)
        assert not any(s in emitted for s in stops)  # it never ran past a stop
    else:
        assert emitted == text and not any(s in text for s in stops)


def test_a_stop_sequence_split_over_chunks_is_held_back_then_dropped() -> None:
    matcher = StopMatcher(["STOP"])
    assert matcher.feed("hello ST") == ("hello ", False)
    assert matcher.feed("O") == ("", False)
    assert matcher.feed("P and more") == ("", True)
    matcher = StopMatcher(["STOP"])
    assert matcher.feed("a ST") == ("a ", False)
    assert matcher.feed("ar") == ("STar", False)  # not a stop after all: released
    assert matcher.flush() == ""
    assert StopMatcher([]).feed("anything") == ("anything", False)
