"""Text normalisation: line breaks and whitespace controls separate words, never glue them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmops_ingestion.domain.text import make_normalizer

normalize = make_normalizer("NFC")
WORDS = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=12)
SEPARATORS = st.sampled_from(["\r", "\r\n", "\n", "\t", " ", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\u2028",
                              "\r\r", " \r "])


@pytest.mark.parametrize(("text", "expected"), [
    ("hello\rworld", "hello\nworld"),  # a bare carriage return is a line break, like \r\n
    ("hello\r\nworld", "hello\nworld"),
    ("one\r\rtwo", "one\n\ntwo"),
    ("a\x0cb\x0bc", "a b c"),
    ("tab\tand  spaces ", "tab and spaces"),
    ("bell\x07ringing", "bellringing"),  # a control that is not whitespace is still removed
])
def test_line_breaks_and_controls(text, expected):
    assert normalize(text) == expected


@given(st.lists(WORDS, min_size=1, max_size=6), st.lists(SEPARATORS, min_size=5, max_size=5))
def test_separated_words_stay_separate_words(words, separators):
    text = "".join(w + separators[i % len(separators)] for i, w in enumerate(words))
    assert normalize(text).split() == words
