"""A seeded, English-like training corpus generated from a small shipped grammar.

Short stories about a handful of people, animals, things and places, with agreement, pronouns,
counting and sums: regular enough that a tiny model's loss falls visibly within a few hundred steps,
varied enough to train a BPE tokenizer. ``random.Random(seed)`` is specified to give the same stream
on every platform, so the same seed always gives the same bytes. One document a line (no newline
inside a document), the ``text_lines`` format the ingestion service reads.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

DEFAULT_DOCUMENTS = 4000

PEOPLE = {
    "she": ["Anna", "Maria", "Lena", "Sofia", "Clara", "Emma", "Nora", "Ruth", "Alice", "Irene", "Julia", "Marta"],
    "he": ["Tom", "Ben", "Paul", "Oscar", "Hugo", "Felix", "Leo", "Samuel", "Peter", "Victor", "Daniel", "Karl"],
}
ANIMALS = ["cat", "dog", "horse", "fox", "owl", "rabbit", "goat", "duck", "mouse", "bear", "crow", "sheep"]
THINGS = ["book", "lamp", "basket", "letter", "key", "boat", "cup", "map", "coat", "clock", "bell", "box",
          "apple", "bread", "stone", "shell", "ribbon", "kettle", "ladder", "candle"]
PLACES = ["the market", "the river", "the old mill", "the garden", "the harbour", "the forest", "the station",
          "the library", "the hill", "the bakery", "the square", "the school", "the farm", "the bridge"]
ADJECTIVES = ["small", "old", "red", "quiet", "bright", "heavy", "green", "warm", "strange", "tiny", "blue",
              "wooden", "broken", "shiny", "soft", "tall", "yellow", "dusty", "new", "round"]
ADVERBS = ["slowly", "quickly", "carefully", "happily", "quietly", "early", "again", "at last", "together"]
TRANSITIVE = [("find", "found"), ("carry", "carried"), ("open", "opened"), ("paint", "painted"),
              ("clean", "cleaned"), ("hide", "hid"), ("bring", "brought"), ("buy", "bought"), ("fix", "fixed"),
              ("watch", "watched"), ("hold", "held"), ("drop", "dropped"), ("sell", "sold"), ("follow", "followed")]
INTRANSITIVE = [("walk", "walked"), ("sing", "sang"), ("sleep", "slept"), ("wait", "waited"), ("laugh", "laughed"),
                ("run", "ran"), ("rest", "rested"), ("dance", "danced"), ("listen", "listened"), ("smile", "smiled")]
WEATHER = ["It was raining.", "The sun was warm.", "The wind was cold.", "It was a grey morning.",
           "Snow covered the roofs.", "The evening was calm.", "Fog lay over the town."]
PREPOSITIONS = ["near", "behind", "under", "beside", "inside", "across"]
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
ONSETS = ["b", "br", "c", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pr", "r", "s",
          "sh", "st", "t", "tr", "v", "w", "z"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "ie"]
CODAS = ["", "n", "r", "l", "s", "th", "m", "ck", "nd", "st", "x"]
ENDINGS = ["Then everyone went home.", "It was a good day.", "Nobody forgot it.", "The end.",
           "They laughed about it for a long time.", "After that, all was quiet again."]


def _coined(rng: random.Random) -> str:
    """A made-up proper noun of two or three syllables (family and town names): the many rare words a
    tokenizer of thousands of tokens needs to learn sub-word pieces."""
    syllables = rng.randint(2, 3)
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables)).capitalize()


def _plural(noun: str) -> str:
    return f"{noun}es" if noun.endswith(("s", "x", "ch", "sh")) else f"{noun}s"


class _Story:
    """One document: a protagonist, a companion, and sentences drawn from the grammar."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pronoun = rng.choice(sorted(PEOPLE))
        self.name = rng.choice(PEOPLE[self.pronoun])
        self.animal = rng.choice(ANIMALS)
        self.place = rng.choice(PLACES)
        self.family, self.town = _coined(rng), _coined(rng)

    def thing(self) -> str:
        adjective = self.rng.choice(ADJECTIVES)
        return f"{'an' if adjective[0] in 'aeiou' else 'a'} {adjective} {self.rng.choice(THINGS)}"

    def subject(self) -> str:
        return self.rng.choice([self.name, self.pronoun.capitalize(), f"The {self.animal}"])

    def sentence(self) -> str:
        rng = self.rng
        pick = rng.randrange(9)
        if pick == 0:
            verb, where = rng.choice(TRANSITIVE)[1], rng.choice(PREPOSITIONS)
            return f"{self.subject()} {verb} {self.thing()} {where} {self.place}."
        if pick == 1:
            return f"{self.subject()} {rng.choice(INTRANSITIVE)[1]} {rng.choice(ADVERBS)}."
        if pick == 2:
            a, b = rng.randrange(7), rng.randrange(6)
            return f"{self.name} had {NUMBERS[a]} {_plural(rng.choice(THINGS))} and found {NUMBERS[b]} more, so " \
                   f"{self.pronoun} had {NUMBERS[a + b]}."
        if pick == 3:
            start = rng.randrange(6)
            return f"The {self.animal} counted: {', '.join(NUMBERS[start:start + 4])}."
        if pick == 4:
            return rng.choice(WEATHER)
        if pick == 5:
            verb = rng.choice(TRANSITIVE)[0]
            return f'"I want to {verb} {self.thing()}," said {self.name}.'
        if pick == 6:
            return f"The {self.animal} was {rng.choice(ADJECTIVES)}, and {self.name} liked it."
        if pick == 7:
            return f"{self.subject()} went to {rng.choice(PLACES)} with the {self.animal}."
        return f"A letter came from {_coined(rng)}, a friend of the {self.family} family in {self.town}."

    def text(self) -> str:
        opening = f"{self.name} {self.family} lived near {self.place} in {self.town} with a {self.animal}."
        body = [self.sentence() for _ in range(self.rng.randint(3, 8))]
        return " ".join([opening, *body, self.rng.choice(ENDINGS)])


def generate_documents(seed: int, count: int = DEFAULT_DOCUMENTS) -> list[str]:
    """``count`` short documents, the same for the same ``seed`` and ``count``."""
    if count < 1:
        raise ValueError("count must be at least 1")
    rng = random.Random(seed)
    return [_Story(rng).text() for _ in range(count)]


def write_corpus(path: Path, documents: Sequence[str]) -> Path:
    """Write ``documents`` as UTF-8, one a line (the same seed writes the same bytes)."""
    path.write_text("".join(f"{doc}\n" for doc in documents), encoding="utf-8", newline="\n")
    return path
