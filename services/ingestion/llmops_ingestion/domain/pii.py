"""PII redaction for dataset preparation: emails, phones, credit cards, IBANs, US SSNs, IP addresses and
secrets.

``PiiRedactor(kinds, phone_regions).redact(text)`` returns the text with each finding replaced by a
placeholder (``[EMAIL]``, ``[PHONE]``, ``[CREDIT_CARD]``, ``[IBAN]``, ``[SSN]``, ``[IP]``, ``[SECRET]``) and
the number of findings by kind.

The field's libraries do the judging: phonenumbers (libphonenumber) finds and validates phones against
each region's numbering plan, python-stdnum checks IBANs, SSNs and the Luhn digit, ``ipaddress`` checks
IPv4 and IPv6 (:mod:`~llmops_ingestion.domain.pii_numbers`). What is still written by hand, because the
libraries do not do it:

* finding candidates: stdnum validates a given string and does not search text, so the IBAN, card, SSN
  and IP patterns are ours; phonenumbers would search text, but at about 0.3 ms a call and region, so
  it only sees runs of 7+ digits with separators, found by a regex first;
* the card issuer prefixes (stdnum has the Luhn check but no card-brand module);
* context (:mod:`~llmops_ingestion.domain.pii_context`): the libraries judge a number alone, so a part
  number that is a valid US phone, a version that is a valid IPv4 address, a row of years, a timestamp,
  a date, an ISBN or a ZIP code would pass; the cue words before it and its shape refuse it;
* the order between kinds, so that a number is one kind only;
* emails and secrets entirely: presidio and scrubadub need spaCy models downloaded at run time, which
  this platform forbids, and for these kinds they use regexes too.

Speed: it runs on every record of million-record datasets, so each pass is guarded by a cheap check
(``'@' in text``, one scan for a digit, a run of 7 digits for the number kinds, a few substring tests)
and every pattern run on ordinary text starts with a literal or a character class, which lets ``re``
skip ahead without trying each position. Text with no PII costs a few microseconds and is returned
unchanged (the same object).

Rules, where the kinds are ambiguous:

* Number kinds are found in this order, each on the text with the earlier findings blanked out: IBAN,
  credit card, SSN, IPv4, phone. So an IBAN is never partly a phone and a card never a phone. A kind
  that is not selected is still found and kept, so its digits are not taken for another kind.
* iban: two capitals, two check digits and 11-30 letters or digits, compact or printed in groups of
  four; valid by ``stdnum.iban`` (country, length, mod-97 and the national checks stdnum knows). Trailing
  groups that break the check are left out (``... 0130 00 EUR``).
* credit_card: 13-19 digits, contiguous or grouped 4-4-4-4(-3), 4-6-5 or 4-6-4 with spaces or dashes,
  with a known issuer prefix (Visa, Mastercard 51-55 and 2221-2720, Amex, Diners, Discover, JCB, UnionPay,
  Maestro) for its length, passing the Luhn check, and not a row of years.
* ssn: ``AAA-GG-SSSS`` or ``AAA GG SSSS``, or nine digits right after "SSN" or "social security (number)";
  valid by ``stdnum.us.ssn`` (no area 000, 666 or 900-999, no group 00 or serial 0000, none of the numbers
  known never to be issued); not after a reference cue ("part", "order", ...).
* phone: what ``phonenumbers.PhoneNumberMatcher`` finds at ``Leniency.VALID`` for any of the regions, tried
  in order (default US, GB, DE, FR, IN, BR; a number with ``+`` is found whatever the regions, one with
  ``00`` in the regions that dial it): ``030 6186925``, ``+49 (0)30 2462936``, ``020 7946 0958``,
  ``01 23 45 67 89``, ``(11) 91234-5678``, ``(202) 555-0143``. Not: a number after a reference cue
  ("part", "SKU", "model", "serial", "order", "Artikelnummer", "réf." and the like), a date (a run is cut
  around the dates in it: ``+44 7494 209680 08/11/1992``), a ZIP+4 code, a row of years, a dotted quad or
  a bare run of digits that reads as a Unix time in s, ms or µs, nor a run of more than 32 digits (a
  table of numbers: ``12 15 18 22 ...``, and the matcher's time grows with it). When nothing is found in
  a run, its last group is left out and the rest tried again (``+44 20 7946 0958 2024``).
* ip: IPv4 valid by ``ipaddress`` (octets 0-255, no leading zeros), not part of a longer dotted run
  (``1.2.3.4.5``) or a word (``v1.2.3.4``), not followed by ``-beta``-like suffixes and not after a
  version or section cue ("version", "kernel", "release", "section", "§", "clause", a product name;
  through lists: ``section 4.2.1.7 and 4.2.1.8``); IPv6 in full, ``::``-compressed and IPv4-mapped forms
  valid by ``ipaddress``, containing at least one digit (so ``::`` in code or ``dead::beef`` is left
  alone); times like ``12:30:45`` never match.
* secret:
  - well-known formats: ``-----BEGIN ... PRIVATE KEY-----`` blocks (to the END line, or to the end of the
    text when it is missing), AWS ``AKIA``/``ASIA`` key ids, GitHub ``ghp_``/``gho_``/``ghu_``/``ghs_``/
    ``ghr_``/``github_pat_``, Slack ``xox[abpr]-``, OpenAI-style ``sk-`` (20+ characters including a digit,
    so ``sk-learn-...`` prose is safe; covers ``sk-proj-``), Stripe ``sk_``/``rk_`` ``live``/``test``, Google
    ``AIza`` + 35, JWTs ``eyJ...eyJ...sig``;
  - ``name=value`` / ``name: value`` assignments (also quoted, JSON and ``:=``) whose name *ends* with
    api_key/apikey/secret/secret_key/private_key/token/password/passwd/pwd/passphrase (any case, any
    prefix: ``AWS_SECRET_ACCESS_KEY``, ``accessToken``, ``X-Auth-Token``): only the value is replaced, so
    ``api_key=[SECRET]``. Names like ``max_tokens``, ``tokenizer`` or ``token_count`` do not end with a
    keyword and are left alone. Values that are references, not secrets (``$VAR``, ``<placeholder>``,
    ``{...}``, ``***``, ``os.environ[...]``, ``get_password()``) are skipped, and a full stop after an
    unquoted value is kept as the end of the sentence. After a plain word name (``Password:``) with ``:``
    and no quotes, a value made of letters only is prose and is kept (``The secret: patience.``);
  - generic high-entropy tokens: a run of 32+ characters of ``[A-Za-z0-9+_-]`` (plus ``=`` padding) with
    upper case, lower case and digits, at least two separate digit runs, lower-case runs of 4+ letters
    covering under half of it, and at most one ``+``/``-``/``_`` per 8 characters. So long words,
    identifiers, slugs and model names stay, and so do hex strings and UUIDs: a 40-hex git SHA or a
    64-hex sha256 is a content hash, not a secret (a hex key is still caught after a keyword such as
    ``api_key=`` or by its prefix). ``/`` ends a token, so URLs and paths are never taken for secrets.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable

from llmops_ingestion.domain import pii_numbers
from llmops_ingestion.domain.pii_numbers import DEFAULT_PHONE_REGIONS

PII_KINDS: tuple[str, ...] = ("email", "phone", "credit_card", "iban", "ssn", "ip", "secret")
_NUMERIC_KINDS = ("phone", "credit_card", "iban", "ssn", "ip")
_Finder = Callable[[str], list[tuple[int, int]]]

_PLACEHOLDER = {kind: f"[{kind.upper()}]" for kind in PII_KINDS}

# --- secret -----------------------------------------------------------------------------------------

_PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r".*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)

# Well-known formats; each is searched only when a substring every match contains is in the text.
_AWS = re.compile(r"A(?<![A-Za-z0-9]A)[KS]IA[A-Z0-9]{16}(?![A-Za-z0-9])")
_GITHUB = re.compile(r"g(?<![A-Za-z0-9]g)(?:h[pousr]_[A-Za-z0-9]{20,}|ithub_pat_[A-Za-z0-9_]{20,})(?![\w-])")
_SLACK = re.compile(r"xox(?<![A-Za-z0-9]xox)[abpr]-[A-Za-z0-9-]{10,}(?![\w-])")
_OPENAI = re.compile(r"sk-(?<![A-Za-z0-9-]sk-)(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{20,}(?![\w-])")
_STRIPE = re.compile(r"(?<![A-Za-z0-9])[sr]k_(?:live|test)_[A-Za-z0-9]{10,}(?![\w-])")
_GOOGLE = re.compile(r"AIza(?<![A-Za-z0-9_-]AIza)[A-Za-z0-9_-]{35}(?![\w-])")
_JWT = re.compile(r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*(?![\w-])")

_ASSIGNMENT = re.compile(
    r"(?<![\w.-])"
    r"(?P<name>[\w.-]*?"
    r"(?i:api[_-]?key|secret(?:[_-]?(?:access[_-]?)?key)?|private[_-]?key|token|passw(?:or)?d|pwd|passphrase))"
    r"(?P<sep>[\"']?[ \t]{0,8}(?::=|=|:)[ \t]{0,8})"
    r"(?:(?P<q>[\"'])(?P<quoted>(?![$<{%*]|\[[A-Z_]+\][\"'])[^\"'\r\n]{1,256})(?P=q)"
    r"|(?P<bare>(?![$<{%*=])[^\s\"',;&()\[\]{}<>`]++)(?![(\[]))"
)
# The cheap test for an assignment: a keyword just before a ":" or "=" (the name must end with one).
_KEYWORD_BEFORE = re.compile(r"(?i:key|secret|token|passw(?:or)?d|pwd|passphrase)[\"']?[ \t]{0,8}[:=]\Z")

_TOKEN = re.compile(r"(?<![A-Za-z0-9+_-])[A-Za-z0-9+_-]{32,}={0,2}(?![A-Za-z0-9+_=-])")
# A token has two separate digit runs, so some digit follows a token character that is not a digit, and
# 32+ characters, so 16 token characters end or start at that digit.
_TOKEN_GATE = re.compile(r"[0-9](?<=[A-Za-z+_-][0-9])(?:(?<=[A-Za-z0-9+_-]{16})|(?=[A-Za-z0-9+_-]{15}))")
_DIGIT_RUN = re.compile(r"[0-9]+")
_WORDISH = re.compile(r"[a-z]{4,}")
_HEXISH = re.compile(r"[0-9a-fA-F-]+")

# --- email ------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9_%+-])[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"(?![A-Za-z0-9-]|\.[A-Za-z0-9])"
)

# --- ip ---------------------------------------------------------------------------------------------

_V6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
_V6 = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?![\w:]|\.[0-9])"
)
_HEX_GROUP = re.compile(r"[0-9A-Fa-f]{1,4}")

_DIGIT = re.compile(r"[0-9]")


def _is_ipv6(s: str) -> bool:
    if not any("0" <= ch <= "9" for ch in s):
        return False  # "dead::beef", "::" in code
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


def _is_random_token(token: str) -> bool:
    token = token.rstrip("=")
    if _HEXISH.fullmatch(token):
        return False  # hex digests (git SHA, sha256, md5) and UUIDs: content hashes, not secrets
    has_upper = has_lower = False
    for ch in token:
        if "A" <= ch <= "Z":
            has_upper = True
        elif "a" <= ch <= "z":
            has_lower = True
    if not (has_upper and has_lower):
        return False
    if len(_DIGIT_RUN.findall(token)) < 2:
        return False
    if 2 * sum(len(w) for w in _WORDISH.findall(token)) >= len(token):
        return False
    separators = token.count("-") + token.count("_") + token.count("+")
    return separators * 8 <= len(token)


def _is_prose_name(name: str) -> bool:
    """``Password`` or ``token`` as a plain word, not an identifier such as ``db_password`` or ``API_KEY``."""
    return name.isalpha() and name[1:].islower()


class PiiRedactor:
    """Replaces personal data and secrets in text with ``[EMAIL]``, ``[PHONE]``, ``[CREDIT_CARD]``,
    ``[IBAN]``, ``[SSN]``, ``[IP]`` and ``[SECRET]``, counting the findings by kind.

    ``kinds`` limits the kinds redacted (``None`` or empty: all of :data:`PII_KINDS`; one name alone is
    accepted too); ``phone_regions`` are the ISO 3166-1 regions whose national formats are read as phones
    (numbers written with ``+`` and a country code are found whatever the regions). The rules for each
    kind are in the module docstring. A redactor keeps no state between calls, so one instance can be
    shared by threads.
    """

    __slots__ = ("_digit_kinds", "_email", "_finders", "_ip", "_kinds", "_regions", "_secret")

    def __init__(
        self, kinds: Iterable[str] | None = None, phone_regions: Iterable[str] = DEFAULT_PHONE_REGIONS
    ) -> None:
        requested = (kinds,) if isinstance(kinds, str) else tuple(kinds or ())
        unknown = [k for k in requested if k not in PII_KINDS]
        if unknown:
            raise ValueError(
                f"unknown PII kind(s): {', '.join(map(repr, unknown))}; valid kinds are: {', '.join(PII_KINDS)}"
            )
        selected = set(requested or PII_KINDS)
        self._kinds = tuple(k for k in PII_KINDS if k in selected)
        self._regions = pii_numbers.check_regions((phone_regions,) if isinstance(phone_regions, str) else phone_regions)
        self._secret = "secret" in selected
        self._email = "email" in selected
        self._ip = "ip" in selected
        self._finders = self._numeric_finders(selected)
        self._digit_kinds = bool(self._finders) or self._secret

    def _numeric_finders(self, selected: set[str]) -> tuple[tuple[str, re.Pattern[str], _Finder], ...]:
        if not selected & set(_NUMERIC_KINDS):
            return ()
        regions = self._regions
        finders: list[tuple[str, re.Pattern[str], _Finder]] = [
            ("iban", pii_numbers.IBAN_GATE, pii_numbers.find_ibans),
            ("credit_card", pii_numbers.PHONE_GATE, pii_numbers.find_cards),
            ("ssn", pii_numbers.PHONE_GATE, pii_numbers.find_ssns),
            ("ip", pii_numbers.IPV4_GATE, pii_numbers.find_ipv4),
        ]
        if "phone" in selected:
            finders.append(("phone", pii_numbers.PHONE_GATE, lambda text: pii_numbers.find_phones(text, regions)))
        return tuple(finders)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this redactor replaces, in :data:`PII_KINDS` order."""
        return self._kinds

    @property
    def phone_regions(self) -> tuple[str, ...]:
        """The regions whose national phone formats are recognised, upper-cased, in the order tried."""
        return self._regions

    def __repr__(self) -> str:
        return f"PiiRedactor(kinds={self._kinds!r}, phone_regions={self._regions!r})"

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        """Return ``text`` with its PII replaced, and the count of replacements by kind (only kinds found;
        empty when nothing was found, and then ``text`` itself is returned)."""
        counts: dict[str, int] = {}
        original = text
        if self._secret:
            text = self._redact_known_secrets(text, counts)
        if self._email and "@" in text:
            text = _redact_emails(text, counts)
        if self._ip and ":" in text and _V6_HINT.search(text):
            text = _V6.sub(_counting(counts, "ip", _is_ipv6), text)
        if self._digit_kinds and (digit := _DIGIT.search(text)):
            first = digit.start()
            if self._secret and _TOKEN_GATE.search(text, first):
                text = _TOKEN.sub(_counting(counts, "secret", _is_random_token), text)
            if self._finders:
                text = self._redact_numbers(text, counts, first)
        if not counts:
            return original, counts  # candidates were found and rejected: the text is unchanged
        return text, counts

    def _redact_known_secrets(self, text: str, counts: dict[str, int]) -> str:
        if "-----BEGIN" in text:
            text = _subn(_PEM, text, counts)
        if ("=" in text or ":" in text) and _has_assignment(text):
            text = _ASSIGNMENT.sub(_assignment_replacer(counts), text)
        if "_" in text:
            if "gh" in text or "github_pat_" in text:
                text = _subn(_GITHUB, text, counts)
            if "k_live_" in text or "k_test_" in text:
                text = _subn(_STRIPE, text, counts)
        if "-" in text:
            if "xox" in text:
                text = _subn(_SLACK, text, counts)
            if "sk-" in text:
                text = _subn(_OPENAI, text, counts)
        if "IA" in text:
            text = _subn(_AWS, text, counts)
        if "AIza" in text:
            text = _subn(_GOOGLE, text, counts)
        if "eyJ" in text:
            text = _subn(_JWT, text, counts)
        return text

    def _redact_numbers(self, text: str, counts: dict[str, int], first: int) -> str:
        """IBANs, cards, SSNs, IPv4 addresses and phones, in that order: each finder sees the text with the
        earlier findings blanked out, so a card is never also a phone. Kinds not selected are still found
        (and kept) so that their digits are not taken for another kind."""
        found: list[tuple[int, int, str]] = []
        masked = text
        for kind, gate, find in self._finders:
            if gate.search(masked, max(0, first - 2)) is None:  # an IBAN starts with two letters
                continue
            spans = find(masked)
            if spans:
                found += [(start, end, kind) for start, end in spans]
                masked = _blank(masked, spans)
        pieces: list[str] = []
        last = 0
        for start, end, kind in sorted(found):
            if kind in self._kinds:
                pieces += (text[last:start], _PLACEHOLDER[kind])
                _add(counts, kind, 1)
                last = end
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span replaced by as many ``_``: the offsets stay, and no digits are left."""
    pieces: list[str] = []
    last = 0
    for start, end in sorted(spans):
        pieces += (text[last:start], "_" * (end - start))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _subn(pattern: re.Pattern[str], text: str, counts: dict[str, int]) -> str:
    text, n = pattern.subn("[SECRET]", text)
    _add(counts, "secret", n)
    return text


def _has_assignment(text: str) -> bool:
    for separator in ":=":
        i = text.find(separator)
        while i != -1:
            if _KEYWORD_BEFORE.search(text, max(0, i - 24), i + 1):
                return True
            i = text.find(separator, i + 1)
    return False


def _add(counts: dict[str, int], kind: str, n: int) -> None:
    if n:
        counts[kind] = counts.get(kind, 0) + n


def _counting(counts: dict[str, int], kind: str, accept: Callable[[str], bool]) -> Callable[[re.Match[str]], str]:
    placeholder = _PLACEHOLDER[kind]

    def replace(m: re.Match[str]) -> str:
        s = m.group()
        if not accept(s):
            return s
        _add(counts, kind, 1)
        return placeholder

    return replace


def _assignment_replacer(counts: dict[str, int]) -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        name, sep, quote, bare = m.group("name", "sep", "q", "bare")
        if quote is not None:
            value = f"{quote}[SECRET]{quote}"
        else:
            core = bare.rstrip(".")  # a full stop after the value ends the sentence
            if not core or (":" in sep and "=" not in sep and core.isalpha() and _is_prose_name(name)):
                return m.group()  # "Password: swordfish" in prose
            value = "[SECRET]" + bare[len(core) :]
        _add(counts, "secret", 1)
        return f"{name}{sep}{value}"

    return replace


def _redact_emails(text: str, counts: dict[str, int]) -> str:
    """Search for emails only around each ``@``: a local part has at most 64 characters, a domain at most 255."""
    pieces: list[str] = []
    last = 0
    at = text.find("@")
    while at != -1:
        m = _EMAIL.search(text, max(last, at - 64), at + 320)
        if m is None:
            # Any email around an "@" up to 64 further on lies inside the window just searched.
            at = text.find("@", at + 65)
            continue
        pieces.append(text[last : m.start()])
        pieces.append("[EMAIL]")
        last = m.end()
        at = text.find("@", last)
    if not pieces:
        return text
    pieces.append(text[last:])
    _add(counts, "email", (len(pieces) - 1) // 2)
    return "".join(pieces)
