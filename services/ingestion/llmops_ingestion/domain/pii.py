"""PII redaction for dataset preparation: emails, phone numbers, credit cards, IP addresses and secrets.

``PiiRedactor(kinds).redact(text)`` returns the text with each finding replaced by a placeholder
(``[EMAIL]``, ``[PHONE]``, ``[CREDIT_CARD]``, ``[IP]``, ``[SECRET]``) and the number of findings by kind.

Why no library: presidio and scrubadub need spaCy models downloaded at run time, which this platform
forbids, and for these kinds they use regexes plus a Luhn check anyway. This module is standard-library
``re`` only.

Speed: it runs on every record of million-record datasets, so each pass is guarded by a cheap check
(``'@' in text``, one scan for a digit, a few substring tests) and every pattern run on ordinary text starts
with a literal or a character class, which lets ``re`` skip ahead without trying each position. Text
with no PII costs a few microseconds and is returned unchanged (the same object).

Rules, where the kinds are ambiguous:

* Numbers are read as runs of digit groups joined by one kind of separator (space, dash or dot), each run
  judged as a whole: a card, else a phone, else a card in its leading groups (a card, then a year) or its
  trailing groups (a year or a phone, then a card). A group going on with another separator is left to
  the next run (``2024 4111-1111-1111-1111``). Two phones joined only by a space read as one number.
* credit_card: 13-19 digits, contiguous or as a 4-digit group then 3-6-digit groups joined by spaces or
  dashes, not starting with 0, passing the Luhn check. A card-shaped number failing Luhn is never a card;
  it is then judged by the phone rules, so a grouped 10-15-digit run becomes ``[PHONE]`` and a 16-19-digit
  one (longer than any E.164 number) stays as is. Cards win over phones: a Luhn-valid card is never
  reported as a phone, even when only phones are asked for.
* phone: ``+`` then 8-15 digits (``+44 20 7946 0958``, ``+1-202-555-0143``, ``+442079460958``, groups
  after the 15th digit are left out); ``(202) 555-0143``, ``+1 (202) 555-0143``; or 2-6 groups with
  10-15 digits (``202-555-0143``, ``202.555.0143``, ``020 7946 0958``, ``01 23 45 67 89``). A bare digit
  run with no separator and no ``+`` is not a phone (it is as likely an id or a timestamp); neither are
  dates, times, versions, prices, IPv4-shaped numbers, thousands (``1 000 000 000``), rows of 2-digit
  numbers (``10 20 30 40 50``) or of years.
* ip: IPv4 with octets 0-255 and no leading zeros, not part of a longer dotted run (``1.2.3.4.5``) or a
  word (``v1.2.3.4``); IPv6 in full, ``::``-compressed and IPv4-mapped forms, containing at least one
  digit (so ``::`` in code or ``dead::beef`` is left alone); times like ``12:30:45`` never match.
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

import re
from collections.abc import Callable, Iterable

PII_KINDS: tuple[str, ...] = ("email", "phone", "credit_card", "ip", "secret")

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

# --- credit card, IPv4, phone: one pass over the digits ----------------------------------------------

# Not followed by more digits, nor by a time, a date or a decimal part.
_END = r"(?!\w|[.,:/][0-9])"
_GROUP = r"[0-9]{1,6}(?![0-9]|[:/,][0-9])"
_IP4 = r"(?P<ip4>(?<=[0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?!\w|\.[0-9]))"
# "(202) 555-0143"; "+1 (202) 555-0143", "+44 (0)20 7946 0958".
_PAREN = (
    r"(?P<paren>(?:(?<=\()[0-9]{3}\) ?[0-9]{3}[ .-][0-9]{4}"
    r"|(?<=\+)[0-9]{1,3}[ .-]?\([0-9]{1,4}\)[ .-]?[0-9]{2,5}"
    rf"(?:(?P<ps>[ .-]){_GROUP}(?:(?P=ps){_GROUP}){{0,2}})?(?![ .-][0-9]{{1,5}}(?![0-9]|[:/,][0-9]))){_END})"
)
# A run: one or more groups of digits joined by one kind of separator, with 10 digits or more (8 after a
# "+"): "4111 1111 1111 1111", "202-555-0143", "+44 20 7946 0958", "4111111111111111". It is judged as a
# whole by PiiRedactor._judge_run.
_RUN = (
    r"(?P<run>(?:(?<=\+)[0-9](?=(?:[ .-]?[0-9]){7})|(?<=[0-9])(?<![+-][0-9])(?=(?:[ .-]?[0-9]){9}))"
    rf"[0-9]*(?:(?P<sep>[ .-]){_GROUP}(?:(?P=sep){_GROUP})*)?{_END})"
)

_DIGIT = re.compile(r"[0-9]")
# Every match above has two digits with a separator between them, or 8 digits in a row.
_NUMERIC_GATE = re.compile(r"[0-9](?:[ .()-][0-9]|[0-9]{7})")


def _numeric_pattern(card: bool, ip: bool, phone: bool) -> re.Pattern[str] | None:
    alternatives = [_IP4] if ip else []
    if phone:
        alternatives.append(_PAREN)
    if card or phone:
        alternatives.append(_RUN)
    if not alternatives:
        return None
    # The leading class lets `re` jump from digit to digit; the look-behinds reject digits inside words,
    # decimals, times and dates.
    head = r"[+(0-9](?<![\w.][+(0-9])" if phone else r"[0-9](?<![\w.][0-9])"
    head += r"(?<![0-9][:/,][0-9])"
    return re.compile(head + "(?:" + "|".join(alternatives) + ")")


def _digit_count(s: str) -> int:
    return sum(1 for ch in s if "0" <= ch <= "9")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_card(groups: list[str], sep: str | None) -> bool:
    """13-19 digits passing Luhn, not starting with 0: contiguous, or a group of 4 then groups of 3-6 joined
    by spaces or dashes."""
    if len(groups) > 1 and (sep == "." or len(groups[0]) != 4 or not all(3 <= len(g) <= 6 for g in groups[1:])):
        return False
    digits = "".join(groups)
    return 13 <= len(digits) <= 19 and digits[0] != "0" and _luhn(digits)


def _is_phone(groups: list[str], sep: str | None, plus: bool) -> bool:
    """After "+": 8-15 digits. Otherwise 2-6 groups (the first of 1-4 digits, the others of 2-5) with 10-15
    digits, and not an IPv4-shaped number, a number grouped in thousands (``1 000 000 000``), a row of
    2-digit numbers (``10 20 30 40 50``; ``01 23 45 67 89`` is a phone), a row of years or a card number."""
    digits = sum(map(len, groups))
    if plus:
        return 8 <= digits <= 15 and len(groups) <= 7 and (len(groups) == 1 or all(len(g) <= 5 for g in groups))
    if not (10 <= digits <= 15 and 2 <= len(groups) <= 6 and len(groups[0]) <= 4):
        return False
    if not all(2 <= len(g) <= 5 for g in groups[1:]):
        return False
    if sep == "." and len(groups) == 4 and all(len(g) <= 3 for g in groups):
        return False
    if sep != "-" and len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
        return False
    if groups[0][0] != "0" and all(len(g) <= 2 for g in groups):
        return False
    if all(len(g) == 4 and g[:2] in ("19", "20") for g in groups):
        return False  # a row of years
    return not _is_card(groups, sep)


def _is_ipv4(s: str) -> bool:
    return not any((len(octet) > 1 and octet[0] == "0") or int(octet) > 255 for octet in s.split("."))


def _is_ipv6(s: str) -> bool:
    if not any("0" <= ch <= "9" for ch in s):
        return False
    if "." in s:
        s, _, v4 = s.rpartition(":")
        if not _is_ipv4(v4):
            return False
        s += ":0:0"  # the IPv4 tail stands for two groups
    if "::" in s:
        if s.count("::") > 1:
            return False
        left, right = s.split("::")
        groups = (left.split(":") if left else []) + (right.split(":") if right else [])
        if len(groups) > 7:
            return False
    else:
        groups = s.split(":")
        if len(groups) != 8:
            return False
    return all(_HEX_GROUP.fullmatch(g) for g in groups)


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
    ``[IP]`` and ``[SECRET]``, counting the findings by kind.

    ``kinds`` limits the kinds redacted (``None`` or empty: all of :data:`PII_KINDS`; one name alone is
    accepted too); the rules for each kind are in the module docstring. A redactor keeps no state between
    calls, so one instance can be shared by threads.
    """

    __slots__ = ("_card", "_digit_kinds", "_email", "_ip", "_kinds", "_numeric", "_phone", "_secret")

    def __init__(self, kinds: Iterable[str] | None = None) -> None:
        requested = (kinds,) if isinstance(kinds, str) else tuple(kinds or ())
        unknown = [k for k in requested if k not in PII_KINDS]
        if unknown:
            raise ValueError(
                f"unknown PII kind(s): {', '.join(map(repr, unknown))}; valid kinds are: {', '.join(PII_KINDS)}"
            )
        selected = set(requested or PII_KINDS)
        self._kinds = tuple(k for k in PII_KINDS if k in selected)
        self._secret = "secret" in selected
        self._email = "email" in selected
        self._ip = "ip" in selected
        self._card = "credit_card" in selected
        self._phone = "phone" in selected
        self._numeric = _numeric_pattern(self._card, self._ip, self._phone)
        self._digit_kinds = self._numeric is not None or self._secret

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this redactor replaces, in :data:`PII_KINDS` order."""
        return self._kinds

    def __repr__(self) -> str:
        return f"PiiRedactor(kinds={self._kinds!r})"

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
            if self._numeric is not None and _NUMERIC_GATE.search(text, first):
                text = self._redact_numbers(text, counts)
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

    def _redact_numbers(self, text: str, counts: dict[str, int]) -> str:
        """Credit cards, IPv4 addresses and phones in one pass. A rejected candidate consumes no more than it
        must, so a card right after a year (``2024 4111-1111-1111-1111``) is still found."""
        pattern = self._numeric
        assert pattern is not None
        pieces: list[str] = []
        last = pos = 0
        while (m := pattern.search(text, pos)) is not None:
            start, end = m.span()
            group = m.lastgroup
            if group == "run":
                spans, resume = self._judge_run(m)
            else:
                s = m.group()
                if group == "ip4":
                    ok, kind = _is_ipv4(s), "ip"
                else:  # "paren"
                    ok, kind = 10 - 2 * (s[0] == "+") <= _digit_count(s) <= 15, "phone"
                spans, resume = ([(kind, start, end)] if ok else []), start + 1
            if not spans:
                pos = resume
                continue
            for kind, span_start, span_end in spans:
                pieces += (text[last:span_start], _PLACEHOLDER[kind])
                _add(counts, kind, 1)
                last = span_end
            pos = last
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

    def _judge_run(self, m: re.Match[str]) -> tuple[list[tuple[str, int, int]], int]:
        """Judge a run of digit groups. Returns the spans found, and where to search next when there are
        none: the run's last group, which may go on with another separator (``2024 4111-1111-1111-1111``)."""
        text = m.string
        start, end = m.span()
        plus = text[start] == "+"
        sep = m.group("sep")
        body = text[start + plus : end]
        groups = body.split(sep) if sep else [body]
        after = text[end : end + 2]
        goes_on = sep is not None and len(after) == 2 and after[0] in " .-" and after[0] != sep and after[1].isdigit()
        spans: list[tuple[str, int, int]] = []
        if goes_on and not (self._card and not plus and _is_card(groups, sep)):
            # The last group goes on with another separator: unless the whole is a card, it rather belongs
            # to the next number (a phone then a card: "020 7946 0958 4111-1111-1111-1111").
            spans = self._judge_groups(groups[:-1], sep, plus, start)
        if not spans:
            spans = self._judge_groups(groups, sep, plus, start)
        return spans, (end - len(groups[-1]) if len(groups) > 1 else start + 1)

    def _judge_groups(self, groups: list[str], sep: str | None, plus: bool, start: int) -> list[tuple[str, int, int]]:
        """A card, else a phone, else a card in the leading groups (a card then a year) or in the trailing
        groups (a year or a phone, then a card)."""
        width = len(sep) if sep else 0
        offsets = [start + plus]  # where each group starts
        for g in groups:
            offsets.append(offsets[-1] + len(g) + width)
        end = offsets[-1] - width
        card, phone = self._card, self._phone
        if card and not plus and _is_card(groups, sep):
            return [("credit_card", start, end)]
        if phone and _is_phone(groups, sep, plus):
            return [("phone", start, end)]
        if card and not plus:
            digits, n = 0, 0
            while n < len(groups) - 1 and digits + len(groups[n]) <= 19:
                digits += len(groups[n])
                n += 1
            for k in range(n, 0, -1):
                if _is_card(groups[:k], sep):
                    return [("credit_card", start, offsets[k] - width)]
        digits = 0
        for k in range(len(groups) - 1, 0, -1) if card else ():
            digits += len(groups[k])
            if digits > 19:
                break
            if digits >= 13 and _is_card(groups[k:], sep):
                if phone and _is_phone(groups[:k], sep, plus):
                    return [("phone", start, offsets[k] - width), ("credit_card", offsets[k], end)]
                return [("credit_card", offsets[k], end)]
        if plus and phone:  # "+" starts a phone: the groups after its 15th digit are something else
            digits, best = 0, 0
            for k, g in enumerate(groups[:-1], 1):
                digits += len(g)
                if digits > 15:
                    break
                if _is_phone(groups[:k], sep, plus):
                    best = k
            if best:
                return [("phone", start, offsets[best] - width)]
        return []


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
