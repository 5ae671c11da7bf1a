"""Finding numeric PII in free text: IBANs, credit cards, US SSNs, IPv4 addresses and phone numbers.

The libraries validate, the regexes here only find candidates: python-stdnum checks IBANs
(``stdnum.iban``: country, length, mod-97), card checksums (``stdnum.luhn``) and SSN structure
(``stdnum.us.ssn``: area, group, serial and the numbers never issued); ``ipaddress`` checks IPv4
octets; phonenumbers (libphonenumber) finds and validates phone numbers against each region's numbering
plan at ``Leniency.VALID``. What is written here: the candidate patterns (stdnum validates a string, it
does not search text), the card issuer prefixes (python-stdnum has a Luhn check but no card-brand
module), and the calls to :mod:`~llmops_ingestion.domain.pii_context` that refuse look-alikes.

Each finder returns ``(start, end)`` spans in the text it was given.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

from llmops_ingestion.domain import pii_context

Span = tuple[int, int]

DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "BR")

# --- IBAN: two letters, two check digits, then 11-30 letters and digits, printed in groups of four ----

IBAN_GATE = re.compile(r"[A-Z]{2}[0-9]{2}")
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![A-Za-z0-9])"
)


def find_ibans(text: str) -> list[Span]:
    spans = []
    for m in _IBAN.finditer(text):
        candidate = m.group()
        # A printed IBAN may be followed by a word in capitals ("... 3000 NOK"): drop trailing groups.
        while not iban.is_valid(candidate) and candidate.count(" ") > 2:
            candidate = candidate.rsplit(" ", 1)[0]
        if iban.is_valid(candidate):
            spans.append((m.start(), m.start() + len(candidate)))
    return spans


# --- credit cards: 13-19 digits, contiguous or grouped 4-4-4-4(-3), 4-6-5 or 4-6-4 -------------------

_CARD = re.compile(
    r"(?<![\w.,+-])(?:[0-9]{13,19}"
    r"|[0-9]{4}(?P<s>[ -])[0-9]{4}(?P=s)[0-9]{4}(?P=s)[0-9]{1,4}(?:(?P=s)[0-9]{3})?"
    r"|[0-9]{4}(?P<t>[ -])[0-9]{6}(?P=t)[0-9]{4,5})"
    r"(?![0-9]|[.,/-][0-9])"
)
# Issuer prefixes with the lengths they issue (ISO/IEC 7812 IIN ranges of the major networks).
_ISSUERS = re.compile(
    r"4(?:[0-9]{12}|[0-9]{15}|[0-9]{18})"  # Visa
    r"|(?:5[1-5][0-9]{2}|222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}"  # Mastercard
    r"|3[47][0-9]{13}"  # American Express
    r"|3(?:0[0-5]|[689][0-9])[0-9]{11,16}"  # Diners Club
    r"|(?:6011|64[4-9][0-9]|65[0-9]{2})[0-9]{12,15}"  # Discover
    r"|35(?:2[89]|[3-8][0-9])[0-9]{12,15}"  # JCB
    r"|62[0-9]{14,17}"  # UnionPay
    r"|(?:50|5[6-9]|6[0-9])[0-9]{10,17}"  # Maestro
)


def _is_card(m: re.Match[str]) -> bool:
    digits = m.group().replace(" ", "").replace("-", "")
    return _ISSUERS.fullmatch(digits) is not None and luhn.is_valid(digits) and not pii_context.is_year_row(m.group())


def find_cards(text: str) -> list[Span]:
    return _scan(_CARD, text, _is_card)


def _scan(pattern: re.Pattern[str], text: str, accept: Callable[[re.Match[str]], bool]) -> list[Span]:
    """Spans of the matches ``accept`` takes. A refused match consumes one character only, so a card
    right after other digits (``7946 0958 4111 1111 1111 1111``) is still tried at its own start."""
    spans: list[Span] = []
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        if accept(m):
            spans.append(m.span())
            pos = m.end()
        else:
            pos = m.start() + 1
    return spans


# --- US SSN: AAA-GG-SSSS (dashes or spaces), or nine digits right after "SSN" / "social security" ---

_SSN = re.compile(r"(?<![\w.,+-])[0-9]{3}(?P<s>[- ])[0-9]{2}(?P=s)[0-9]{4}(?![0-9]|[.,/-][0-9])")
_SSN_BARE = re.compile(r"(?i:\b(?:ssn|ss#|social security(?: number| no\.?)?)\W{0,3})([0-9]{9})(?![\w.,/-][0-9]|\w)")


def find_ssns(text: str) -> list[Span]:
    spans = _scan(
        _SSN,
        text,
        lambda m: ssn.is_valid(m.group().replace(" ", "-")) and not pii_context.is_reference_number(text, m.start()),
    )
    spans += [m.span(1) for m in _SSN_BARE.finditer(text) if ssn.is_valid(m.group(1))]
    return spans


# --- IPv4 ---------------------------------------------------------------------------------------------

IPV4_GATE = re.compile(r"[0-9]\.[0-9]{1,3}\.[0-9]")
_IPV4 = re.compile(r"(?<![\w.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![\w]|\.[0-9])")


def _is_ipv4(candidate: str) -> bool:
    try:
        ipaddress.IPv4Address(candidate)  # refuses octets over 255 and leading zeros
    except ValueError:
        return False
    return True


def find_ipv4(text: str) -> list[Span]:
    return _scan(
        _IPV4, text, lambda m: _is_ipv4(m.group()) and not pii_context.is_version_or_section(text, m.start(), m.end())
    )


# --- phones -------------------------------------------------------------------------------------------

# phonenumbers is slow (about 0.3 ms a call), so it only sees runs of 7 or more digits with separators,
# and only the run, not the whole text.
PHONE_GATE = re.compile(r"[0-9](?:[ ()./-]{0,3}[0-9]){6}")
_PHONE_RUN = re.compile(r"(?<![\w.,:+/-])(?:\+ ?)?\(?[0-9](?:[ ./-]{0,2}\(?[0-9]\)?){6,}(?![\w]|[.,:/-][0-9])")
_LAST_GROUP = re.compile(r"[ ./-]+\(?[0-9]+\)?\Z")
_DIGITS = re.compile(r"[0-9]")
# Two phones written one after the other fit (``030 6186925 0171 8007749``); a longer run is a table.
_MAX_RUN_DIGITS = 32


def check_regions(regions: Iterable[str]) -> tuple[str, ...]:
    """The regions, upper-cased and deduplicated in order; ``ValueError`` names any that phonenumbers does
    not know."""
    checked = tuple(dict.fromkeys(r.upper() for r in regions))
    unknown = [r for r in checked if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValueError(f"unknown phone region(s): {', '.join(map(repr, unknown))}; use ISO 3166-1 alpha-2 codes")
    return checked


def find_phones(text: str, regions: tuple[str, ...]) -> list[Span]:
    spans: list[Span] = []
    for run in _PHONE_RUN.finditer(text):
        if pii_context.is_reference_number(text, run.start()):
            continue
        for piece_start, piece_end in pii_context.outside_dates(run.group()):
            offset = run.start() + piece_start
            candidate = run.group()[piece_start:piece_end]
            if pii_context.is_date_or_zip(candidate) or pii_context.is_year_row(candidate):
                continue
            if _IPV4.fullmatch(candidate):
                continue  # a dotted quad left here is a version or a section number
            if len(_DIGITS.findall(candidate)) > _MAX_RUN_DIGITS:
                continue  # a table of numbers, not a phone (and the matcher's time grows with the run)
            for start, end in _match_phones_trimming(candidate, regions):
                if candidate[start:end].isdigit() and pii_context.is_timestamp(candidate[start:end]):
                    continue
                spans.append((offset + start, offset + end))
    return spans


@functools.lru_cache(maxsize=65_536)
def _match_phones_trimming(run: str, regions: tuple[str, ...]) -> tuple[Span, ...]:
    """Phone numbers in the run; when there are none, in the run less its last group, which the matcher
    does not try (``+44 20 7946 0958 2024``). Cached: the same numbers recur across a dataset's records."""
    if found := _match_phones(run, regions):
        return found
    trimmed = _LAST_GROUP.sub("", run)
    if trimmed != run and len(_DIGITS.findall(trimmed)) >= 7:
        return _match_phones(trimmed, regions)
    return ()


def _match_phones(run: str, regions: tuple[str, ...]) -> tuple[Span, ...]:
    """Phone numbers in the run, trying the regions in order until every digit is covered; where the
    regions disagree, the longest match wins."""
    found: list[Span] = []
    digits = len(_DIGITS.findall(run))
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(run, region, leniency=phonenumbers.Leniency.VALID):
            span = (match.start, match.end)
            overlapping = [s for s in found if s[0] < span[1] and span[0] < s[1]]
            if all(s[1] - s[0] < span[1] - span[0] for s in overlapping):
                found = [s for s in found if s not in overlapping] + [span]
        if sum(len(_DIGITS.findall(run[s:e])) for s, e in found) == digits:
            break
    return tuple(sorted(found))
