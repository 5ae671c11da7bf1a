"""Token counts, with the tokenizer a length filter names: loaded from a local file, never downloaded."""

from __future__ import annotations

from pathlib import Path

from llmops_common.errors import InvalidArgument
from llmops_common.validation import quote

TOKENIZER_FIELD = "preparation.length_filter.tokenizer"
#: a real tokenizer.json is a few MB; this bounds what loading one may read
MAX_TOKENIZER_BYTES = 256 * 2**20


class TokenCounter:
    """Counts tokens: ``whitespace`` splits on whitespace; otherwise a local ``tokenizer.json`` file
    (or a folder holding one) is loaded with the ``tokenizers`` library. Nothing is downloaded."""

    def __init__(self, tokenizer: str) -> None:
        self.name = tokenizer
        self._tokenizer = None
        if tokenizer != "whitespace":
            path = Path(tokenizer)
            if path.is_dir():
                path = path / "tokenizer.json"
            if not path.is_file():
                raise InvalidArgument(f"no tokenizer.json at {quote(str(path))}; use 'whitespace' or a local path",
                                      field=TOKENIZER_FIELD)
            if path.stat().st_size > MAX_TOKENIZER_BYTES:
                raise InvalidArgument(f"{quote(str(path))} is larger than a tokenizer.json may be "
                                      f"({MAX_TOKENIZER_BYTES // 2**20} MiB)", field=TOKENIZER_FIELD)
            try:
                from tokenizers import Tokenizer
            except ImportError:  # pragma: no cover - depends on the installed extras
                raise InvalidArgument("the 'tokenizers' package is not installed on this service",
                                      field=TOKENIZER_FIELD) from None
            try:
                self._tokenizer = Tokenizer.from_file(str(path))
            except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception for any bad file
                raise InvalidArgument(f"{quote(str(path))} is not a tokenizer.json the tokenizers library can "
                                      f"load: {quote(str(exc), 120)}", field=TOKENIZER_FIELD) from None

    def count(self, texts: list[str]) -> list[int]:
        if self._tokenizer is None:
            return [len(t.split()) for t in texts]
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]
