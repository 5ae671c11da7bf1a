"""Context cues that tell a number shaped like PII from an innocuous look-alike.

phonenumbers and python-stdnum judge a number by itself: ``868-741-5006`` is a valid North American
phone number, ``6.12.3.75`` a valid IPv4 address and a row of years may pass the Luhn check. Only the
words around a number and the number's own shape tell that it is a part number, a version, a section,
a date, a timestamp, an ISBN or a ZIP code. These predicates hold those rules; each returns ``True``
when the candidate is a look-alike and must be kept as is.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+|[§#]")
# Words skipped when looking for the cue before a number: "part no. 868-741-5006", "model #: 12-34".
_FILLER = frozenset(
    {"n", "nº", "no", "nr", "num", "number", "numbers", "nos", "is", "was", "the", "of", "#", "code", "id"}
)

# A number right after one of these (past filler words) is a reference, never a phone or an SSN.
_REFERENCE_CUES = frozenset(
    {
        "part", "sku", "model", "serial", "order", "item", "invoice", "ref", "reference", "tracking",
        "product", "catalog", "catalogue", "po", "lot", "batch", "article", "ticket",
        "build", "account", "acct", "customer", "asset", "isbn", "issn", "zip", "postcode", "postal",
        "patent", "docket", "claim", "policy", "shipment", "package", "parcel", "container",
        # German, French, Portuguese and Spanish
        "artikelnummer", "artikel", "bestellnummer", "bestellung", "teilenummer", "seriennummer", "modell",
        "kundennummer", "rechnungsnummer", "rechnung", "auftrag", "auftragsnummer", "referenz", "sendungsnummer",
        "commande", "référence", "réf", "facture", "modèle", "série", "pedido", "referência", "fatura", "modelo",
        "peça", "factura", "encomenda", "serie",
    }
)
# A dotted quad right after one of these is a version or a section number, not an IPv4 address.
_VERSION_CUES = frozenset(
    {
        "v", "ver", "version", "versions", "release", "releases", "build", "kernel", "firmware", "patch",
        "rev", "revision", "update", "upgrade", "downgrade", "package", "pkg", "tag", "section", "sections",
        "sec", "§", "§§", "chapter", "chapters", "clause", "clauses", "article", "articles", "paragraph",
        "para", "step", "steps", "figure", "fig", "table", "appendix", "rule", "rules", "item", "items",
        "note", "standard", "spec", "specification", "linux", "python", "java", "node", "chrome", "firefox",
        "android", "ios", "windows", "macos", "ubuntu", "debian",
    }
)
# Lists and ranges: the cue for "4.2.1.8" in "section 4.2.1.7 and 4.2.1.8" is the word before the list.
_CONNECTORS = _FILLER | {"and", "or", "to", "through", "from", "see", "in", "under", "per", "then", "vs"}

# The end of a sentence: "!", "?", ";", a line break, or a full stop after a word of four letters or more
# (so not "no." or "réf.", after which the number is the reference).
_SENTENCE_END = re.compile(r"(?s:.*)(?:[!?;\n]|(?<=[^\W\d_]{4})\.(?=\s))")

_PIN_OPERATORS = frozenset({"==", ">=", "<=", "~=", "!="})

_DATE = re.compile(
    r"(?:[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2,4})"
    r"(?:[ T][0-9]{1,2}[:.][0-9]{2}(?:[:.][0-9]{2})?)?"
)
_ZIP4 = re.compile(r"[0-9]{5}-[0-9]{4}")
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_GROUPS = re.compile(r"[0-9]+")


def _words_before(text: str, start: int, count: int = 4) -> list[str]:
    """Up to ``count`` lower-cased words just before ``start`` in the same sentence, nearest first."""
    window = text[max(0, start - 48) : start]
    if boundary := _SENTENCE_END.search(window):
        window = window[boundary.end() :]
    words = _WORD.findall(window)
    return [w.lower() for w in reversed(words[-count:])]


def _cue(words: list[str], cues: frozenset[str], skip: frozenset[str] = _FILLER) -> bool:
    for word in words:
        if word in skip:
            continue
        return word in cues
    return False


def is_reference_number(text: str, start: int) -> bool:
    """A number after "part", "SKU", "model", "serial", "order" and the like (``Part no. 868-741-5006``)."""
    return _cue(_words_before(text, start), _REFERENCE_CUES)


def is_version_or_section(text: str, start: int, end: int) -> bool:
    """A dotted number after "version", "v", "section", "§", a product name and the like, after a version
    pin (``numpy==1.26.4.1``), or one that goes on like a version (``1.2.3.4-beta``, ``1.2.3.4+build``)."""
    if text[end : end + 1] in ("-", "+", "_") and text[end + 1 : end + 2].isalpha():
        return True
    if text[max(0, start - 2) : start] in _PIN_OPERATORS:
        return True
    return _cue(_words_before(text, start, 6), _VERSION_CUES, _CONNECTORS)


def is_date_or_zip(candidate: str) -> bool:
    """A date (``2024-01-15``, ``15.01.2024``, with an optional time) or a ZIP+4 code (``90210-1234``)."""
    return _DATE.fullmatch(candidate) is not None or _ZIP4.fullmatch(candidate) is not None


_DATE_IN_RUN = re.compile(r"(?<![^ ])" + _DATE.pattern + r"(?![^ ])")


def outside_dates(candidate: str) -> list[tuple[int, int]]:
    """The spans of a run of digit groups that are not dates standing between spaces: the run
    ``+44 7494 209680 08/11/1992`` is a phone and then a date."""
    bounds = [0]
    for m in _DATE_IN_RUN.finditer(candidate):
        bounds += (m.start(), m.end())
    bounds.append(len(candidate))
    spans = []
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        piece = candidate[start:end]
        if stripped := piece.strip():
            start += piece.index(stripped)
            spans.append((start, start + len(stripped)))
    return spans


def is_year_row(candidate: str) -> bool:
    """Two or more years in a row: ``1998 2003 2011 2019``."""
    groups = _GROUPS.findall(candidate)
    return len(groups) >= 2 and all(_YEAR.fullmatch(g) for g in groups)


def is_timestamp(digits: str) -> bool:
    """A Unix time in seconds, milliseconds or microseconds between 2001 and 2040 (``1700000000123``)."""
    for length, scale in ((10, 1), (13, 1_000), (16, 1_000_000)):
        if len(digits) == length:
            return 1_000_000_000 * scale <= int(digits) < 2_200_000_000 * scale
    return False
