"""Property tests of PII redaction: any text is handled, the counts match the placeholders, redacting
twice changes nothing, and no planted value survives."""

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from llmops_ingestion.domain.pii import PII_KINDS, PiiRedactor

ALL = PiiRedactor()
PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in PII_KINDS}

# Digits, the separators numbers are written with, and a few letters and cue words: the texts that
# reach every finder and cue. No "[", so every placeholder in the output was put there by the redactor.
_PIECES = st.sampled_from(
    [*"0123456789", " ", "-", ".", "/", "(", ")", "+", ":", "@", "\n", "a", "Z", "§", "#",
     " part ", " SSN ", " v", " section ", " call ", "ex.com", "DE", "GB82"]
)
noisy_text = st.lists(_PIECES, max_size=60).map("".join)


@settings(max_examples=100, deadline=None)
@given(noisy_text)
def test_any_text_is_handled_and_counts_match_the_placeholders(text):
    redacted, counts = ALL.redact(text)
    assert set(counts) <= set(PII_KINDS)
    for kind in PII_KINDS:
        assert redacted.count(PLACEHOLDERS[kind]) == counts.get(kind, 0)
    if not counts:
        assert redacted is text


@settings(max_examples=100, deadline=None)
@given(noisy_text)
def test_redacting_redacted_text_changes_nothing(text):
    once, _ = ALL.redact(text)
    assert ALL.redact(once) == (once, {})


def _card(prefix: str, length: int, seed: int) -> str:
    body = (prefix + str(seed).zfill(length))[: length - 1]
    return body + luhn.calc_check_digit(body)


cards = st.builds(
    lambda plan, seed, sep: (lambda d: sep.join(d[i : i + 4] for i in range(0, 16, 4)) if len(d) == 16 else d)(
        _card(*plan, seed)
    ),
    st.sampled_from([("4", 16), ("51", 16), ("2221", 16), ("34", 15), ("6011", 16), ("3528", 16), ("36", 14)]),
    st.integers(0, 10**15),
    st.sampled_from(["", " ", "-"]),
)
ssns = st.builds(
    lambda area, group, serial, sep: f"{area:03d}{sep}{group:02d}{sep}{serial:04d}",
    st.integers(1, 665).filter(lambda a: a != 666),
    st.integers(1, 99),
    st.integers(1, 9999),
    st.sampled_from(["-", " "]),
)
phones = st.sampled_from(
    ["030 6186925", "0171 8007749", "+49 30 2462936", "020 7946 0958", "+44 7911 123456", "01 23 45 67 89",
     "+33 6 12 34 56 78", "+91 98765 43210", "(11) 91234-5678", "(202) 555-0143", "+1-415-555-2671"]
)
ibans = st.sampled_from(
    ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "FR14 2004 1010 0505 0001 3M02 606", "NL91ABNA0417164300"]
)
ips = st.sampled_from(["192.168.1.20", "8.8.4.4", "2001:db8::7", "fe80::1ff:fe23:4567:890a"])
emails = st.sampled_from(["ann@example.com", "j.smith+x@mail.example.co.uk"])
planted = st.one_of(cards, ssns.map(lambda s: f"SSN {s}"), phones, ibans, ips, emails)
fillers = st.sampled_from([", ", "; ", " and ", "\n", " — ", ". Then ", " (see notes) "])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(planted, fillers), min_size=1, max_size=5))
def test_no_planted_value_survives(items):
    text = "Details: " + "".join(value + filler for value, filler in items)
    redacted, counts = ALL.redact(text)
    for value, _ in items:
        assert value.removeprefix("SSN ") not in redacted
    assert sum(counts.values()) == len(items)
