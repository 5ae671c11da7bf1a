"""Generated tokens to text, as they arrive: never a half character, never a stop sequence.

Byte-level BPE spreads one character's bytes over several tokens; until the last one arrives the
decoded text ends in U+FFFD, so that tail is held back (the approach of TGI and vLLM's incremental
detokenizer; ``tokenizers``' own ``DecodeStream`` needs a ``tokenizers.Tokenizer`` and cannot skip
special tokens per step). A stop sequence can arrive split over deltas, so any tail of the text that
could start one is held back until it can be told apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CONTEXT_TOKENS = 4  # prompt tokens decoded with the first generated ones (leading-space rules)


class IncrementalDetokenizer:
    def __init__(self, tokenizer: Any, prompt_ids: Sequence[int] = ()) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = list(prompt_ids[-CONTEXT_TOKENS:])
        self.prefix = 0
        self.read = len(self.ids)

    def _decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def add(self, token_id: int) -> str:
        """The text that became certain with this token ("" while a character is incomplete)."""
        self.ids.append(token_id)
        before = self._decode(self.ids[self.prefix:self.read])
        after = self._decode(self.ids[self.prefix:])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self.prefix, self.read = self.read, len(self.ids)
            return after[len(before):]
        return ""

    def flush(self) -> str:
        """Whatever is still held back, at the end of the generation."""
        before = self._decode(self.ids[self.prefix:self.read])
        after = self._decode(self.ids[self.prefix:])
        self.prefix = self.read = len(self.ids)
        return after[len(before):] if after.startswith(before) else ""


class StopMatcher:
    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """(text safe to emit, whether a stop sequence matched). After a match the emitted text ends
        before the stop sequence, and the caller stops generating."""
        buffer = self.pending + text
        if not self.stops:
            self.pending = ""
            return buffer, False
        hits = [i for i in (buffer.find(stop) for stop in self.stops) if i >= 0]
        if hits:
            self.pending = ""
            return buffer[:min(hits)], True
        hold = max((k for stop in self.stops for k in range(min(len(stop) - 1, len(buffer)), 0, -1)
                    if buffer.endswith(stop[:k])), default=0)
        self.pending = buffer[len(buffer) - hold:] if hold else ""
        return buffer[:len(buffer) - hold], False

    def flush(self) -> str:
        pending, self.pending = self.pending, ""
        return pending
