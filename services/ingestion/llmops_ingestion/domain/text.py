"""Text rules: Unicode normalisation and whitespace clean-up, script of a text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# C0/C1 control characters are removed, except those that separate words: tab, newline, and the other
# whitespace controls (vertical tab, form feed, the information separators, NEL) become spaces, so that
# no two words are glued together. Line breaks: ``\r\n`` and a bare ``\r`` are both one newline
# (Python's universal newlines).
_WHITESPACE_CONTROLS = [0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x1F, 0x85]
_CONTROLS: dict[int, str | None] = {c: None for c in [*range(9), *range(11, 32), 127, *range(128, 160)]}
_CONTROLS.update({c: " " for c in _WHITESPACE_CONTROLS})
_BLANK_LINES = re.compile(r"\n{3,}")


def make_normalizer(form: str) -> Callable[[str], str]:
    """Unicode ``form`` (NFC, NFKC, ...), control characters removed, runs of spaces collapsed within
    lines, lines stripped, at most one blank line in a row, no leading or trailing whitespace."""

    def normalize(text: str) -> str:
        if not text.isascii():
            text = unicodedata.normalize(form, text)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = text.translate(_CONTROLS)
        if "\n" not in text:
            return " ".join(text.split())
        text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
        return _BLANK_LINES.sub("\n\n", text).strip()

    return normalize


def script_of(text: str, *, sample: int = 200) -> str:
    """The dominant Unicode script of a text's letters ("Latin", "Cyrillic", "CJK", ...; "None")."""
    if text.isascii():
        return "Latin" if any(c.isalpha() for c in text) else "None"
    counts: dict[str, int] = {}
    seen = 0
    for char in text:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        script = name.split(" ", 1)[0] if name else "Unknown"
        if script in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL"):
            script = "CJK"
        counts[script] = counts.get(script, 0) + 1
        seen += 1
        if seen >= sample:
            break
    if not counts:
        return "None"
    return max(counts, key=counts.__getitem__).title().replace("Cjk", "CJK")
