"""Prompt-injection and jailbreak score per request, from three signals:

1. **patterns**: regular expressions for the usual families, run on text normalised against evasion
   (NFKC, case folding, zero-width and bidi controls removed, Cyrillic/Greek look-alikes mapped to Latin,
   spaced-out letters joined, leetspeak digits read as letters), and on base64 / hex blobs decoded;
2. **similarity**: the largest cosine between the prompt's embedding and the attack corpus
   (``attacks.txt``, curated by the project), as LangKit does;
3. **classifier** (optional): scikit-learn logistic regression on embeddings of the attack corpus
   against ``benign.txt``.

``score`` is 1 when a pattern matches, else the mean of the rescaled similarity and the classifier's
probability (the rescaled similarity alone without a classifier). A request counts as an attack when
``score >= THRESHOLD``. No library fits as a whole: LangKit, Rebuff and LLM Guard pull in their own model
downloads and stacks; the pieces here are the standard ones (unicodedata, re, scikit-learn).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
from sklearn.linear_model import LogisticRegression

from llmops_monitoring.detectors.embeddings import Embedder

THRESHOLD = 0.5
"""Score at or above which a request is an attack. On the held-out set of the unit tests (MiniLM, no
pattern matching any of its attacks) it flags about 97% of attacks and none of 240 ordinary questions;
the test asserts >= 90% and <= 2%."""

SIM_LOW, SIM_HIGH = 0.35, 0.75
"""Cosines mapped linearly onto 0..1 (clipped). With MiniLM, ordinary questions average about 0.3 against
the corpus and unseen attacks about 0.55; a close paraphrase of a corpus line exceeds 0.75."""

MAX_PATTERN_CHARS = 100_000
"""Patterns read at most this many characters from each end of a prompt, so cost stays bounded."""

EMBED_CHARS = 2000
"""A longer prompt is embedded as its head and its tail (an injection hides at either end)."""


@dataclass(frozen=True)
class InjectionScore:
    pattern: float  # 1.0 when a pattern matched, else 0.0
    similarity: float  # max cosine to the attack corpus
    classifier: float | None  # P(attack) from the logistic regression, None when disabled
    score: float  # combined, 0..1
    matched: str  # the pattern's name, else the nearest attack line


# Cyrillic and Greek letters that look Latin (the subset attackers use; NFKC leaves them alone).
_CONFUSABLES = str.maketrans("авеёкмнорстухіјѕԁɡαβεικνορτυχ", "abeekmhopctyxijsdgabeikvoptux")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_SPACED = re.compile(r"\b(?:\w[ .\-_*]){3,}\w\b")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Case-folded NFKC text with format characters (zero-width, bidi) dropped and look-alikes mapped."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc") or c in "\n\t ")
    text = text.casefold().translate(_CONFUSABLES)
    text = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)
    return _SPACE.sub(" ", text)


_W = r"[\w'-]*"  # the rest of a word
_GAP = r"(?:\W+\w+){0,4}?\W+"  # up to four filler words between two keywords

PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(rx)
    for name, rx in {
        "ignore_previous_instructions": (
            rf"\b(?:ignore|disregard|forget|neglect|skip|overrid|bypass|cancel|discard|drop|set aside|"
            rf"pay no attention to|do not follow|stop following){_W}{_GAP}"
            rf"(?:previous|prior|earlier|above|preceding|original|initial|former|all|every|your|the)\W+"
            rf"(?:\w+\W+){{0,3}}?(?:instruction|direction|rule|prompt|guideline|directive|order|command|"
            rf"polic|restriction|safeguard|filter|context|programming|training){_W}"
        ),
        "system_prompt_extraction": (
            rf"\b(?:reveal|show|print|repeat|output|tell|dump|leak|recite|echo|display|share|give|list|"
            rf"quote|copy|spell|translate|encode|write){_W}{_GAP}"
            rf"(?:system|hidden|secret|initial|original|internal|confidential|pre)[ -]?"
            rf"(?:prompt|instruction|message|rule|configuration|directive)"
        ),
        "prompt_leaking": (
            r"\b(?:repeat|print|output|copy|quote)\b.{0,40}\b(?:text|words|everything)\b.{0,20}"
            r"\b(?:above|before|preceding|precede|prior)\b"
        ),
        "dan_jailbreak": (
            r"\b(?:do anything now|jailbreak(?: mode| flag|:| successful)|jailbroken|dan mode|evilbot|"
            r"aim\b.{0,40}\bmachiavell|"
            r"(?:no|without|free from|freed from)\b.{0,30}\b(?:restrictions|filters|rules|limits|"
            r"limitations|censorship|content polic\w*|ethical guidelines)|stay in character|unfiltered|"
            r"uncensored|unrestricted)"
        ),
        "developer_mode": (
            r"\b(?:developer|debug|god|admin|sudo|maintenance|unrestricted|opposite) mode\W{0,3}"
            r"(?:enabled|engaged|activated|on(?!\s*\w))|\b(?:enable|activate|enter|switch to)\b"
            r".{0,20}\b(?:developer|god|sudo|admin|jailbreak|debug|unrestricted|maintenance) mode\b|"
            r"\badmin override\b|override code"
        ),
        "delimiter_injection": (
            r"<\|im_(?:start|end)\|>|\[/?inst\]|</?(?:system|user|assistant)>|#{2,}\s*system\b|"
            r"\bend of (?:user input|prompt|document)\b.{0,40}\b(?:instruction|system|prompt)|"
            r"\"role\"\s*:\s*\"system\"|\\n\\nhuman:|\bnew instructions?\s*(?:follow)?\s*:"
        ),
        "refusal_suppression": (
            r"\b(?:never|do not|don't|must not|forbidden from)\b.{0,20}\b(?:refuse|apologi[sz]e|say (?:you|i) "
            r"can(?:no|')t|add (?:any )?(?:warnings|disclaimers))"
        ),
        "encoded_payload": (
            r"\b(?:decode|translate from|read)\b.{0,40}\b(?:and|then)\b.{0,10}\b(?:follow|obey|do|execute)"
        ),
    }.items()
}

_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}){8,}\b")


def _decoded_blobs(text: str) -> list[str]:
    """Text hidden in base64 or hex runs (at most 20 of each), so patterns see what they say."""
    out = []
    for m in _B64.findall(text)[:20]:
        with contextlib.suppress(binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
            out.append(base64.b64decode(m + "=" * (-len(m) % 4), validate=True).decode("utf-8"))
    for m in _HEX.findall(text)[:20]:
        with contextlib.suppress(ValueError):
            out.append(bytes.fromhex(m).decode("utf-8"))
    return out


def match_pattern(text: str) -> str:
    """The name of the first pattern the (normalised, decoded) text matches, else ""."""
    if len(text) > 2 * MAX_PATTERN_CHARS:
        text = text[:MAX_PATTERN_CHARS] + "\n" + text[-MAX_PATTERN_CHARS:]
    variants = [normalise(text)]
    variants.append(variants[0].translate(_LEET))
    variants += [normalise(b) for b in _decoded_blobs(text)]
    for variant in variants:
        for name, rx in PATTERNS.items():
            if rx.search(variant):
                return name
    return ""


def load_corpus(name: str) -> list[str]:
    """Lines of a packaged corpus (``attacks.txt`` or ``benign.txt``), without blanks and comments."""
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class InjectionDetector:
    """Scores prompts; embeds the corpora (and fits the classifier) once, at construction."""

    def __init__(
        self,
        embedder: Embedder,
        corpus: Sequence[str] | None = None,
        benign: Sequence[str] | None = None,
        classifier: bool = True,
    ) -> None:
        self.embedder = embedder
        self.corpus = list(corpus) if corpus is not None else load_corpus("attacks.txt")
        if not self.corpus:
            raise ValueError("the attack corpus is empty")
        self._attacks = embedder.encode(self.corpus)
        self._classifier: LogisticRegression | None = None
        if classifier:
            benign_lines = list(benign) if benign is not None else load_corpus("benign.txt")
            x = np.vstack([self._attacks, embedder.encode(benign_lines)])
            y = np.r_[np.ones(len(self.corpus)), np.zeros(len(benign_lines))]
            self._classifier = LogisticRegression(C=10.0, class_weight="balanced", max_iter=1000).fit(x, y)

    def score(self, prompts: Sequence[str]) -> list[InjectionScore]:
        if not prompts:
            return []
        segments, owner = [], []
        for i, prompt in enumerate(prompts):
            parts = [prompt] if len(prompt) <= EMBED_CHARS else [prompt[:EMBED_CHARS], prompt[-EMBED_CHARS:]]
            segments += parts
            owner += [i] * len(parts)
        vectors = self.embedder.encode(segments)
        cosines = vectors @ self._attacks.T
        probs = self._classifier.predict_proba(vectors)[:, 1] if self._classifier is not None else None
        owner_arr = np.asarray(owner)
        results = []
        for i, prompt in enumerate(prompts):
            rows = np.flatnonzero(owner_arr == i)
            best_row, best_col = np.unravel_index(np.argmax(cosines[rows]), (len(rows), cosines.shape[1]))
            similarity = float(cosines[rows[best_row], best_col])
            prob = float(probs[rows].max()) if probs is not None else None
            scaled = float(np.clip((similarity - SIM_LOW) / (SIM_HIGH - SIM_LOW), 0.0, 1.0))
            pattern = match_pattern(prompt)
            combined = 1.0 if pattern else (scaled if prob is None else (scaled + prob) / 2)
            results.append(
                InjectionScore(
                    pattern=1.0 if pattern else 0.0,
                    similarity=similarity,
                    classifier=prob,
                    score=combined,
                    matched=pattern or self.corpus[best_col],
                )
            )
        return results
