"""Numbers shaped like PII that context shows are something else stay untouched; the same numbers
without the cue are redacted, so the cue is what refuses them."""

import pytest

from llmops_ingestion.domain.pii import PiiRedactor

ALL = PiiRedactor()


@pytest.mark.parametrize(
    "text",
    [
        # versions and section numbers that are valid IPv4 addresses
        "Upgrade the kernel 6.12.3.75 tonight.",
        "Built with v1.2.3.4 and V 2.0.1.1.",
        "Linux 6.12.3.75 LTS",
        "release 10.2.0.1-beta is out",
        "See section 4.2.1.7 and 4.2.1.8.",
        "Under § 4.2.1.7, per clause 10.1.2.3 or chapter 3.1.4.1.",
        "Upgrade from version 1.2.3.4 to 1.2.3.5.",
        "pip install numpy==1.26.4.1 'pkg>=2.0.1.3'",
        # part, SKU, model, serial and order numbers that are valid phone numbers
        "Part 868-741-5006 is back in stock.",
        "SKU: 868-741-5006",
        "model no. 868-741-5006",
        "Serial number 202-555-0143.",
        "Order #415-555-2671 shipped.",
        "Artikelnummer 030 6186925",
        "Réf. n° 01 23 45 67 89",
        # rows of years and timestamps
        "Editions 1998 2003 2011 2019 sold out.",
        "Winners in 2019 2020 2021 2022 2023.",
        "created_at 1700000000123 ms",
        "epoch 1700000000 seconds",
        # dates, ISBNs, ZIP codes, amounts
        "Logged 2024-01-15 10:30:45 and 15.01.2024 and 01/15/2024.",
        "ISBN 978-3-16-148410-0",
        "ISBN-13: 9783161484100",
        "Beverly Hills, CA 90210-1234",
        "Revenue was 1,234,567,890 EUR or 1 000 000 000 units.",
        # a table of numbers: a run of more than 32 digits
        "Counts 44751 16447 33102 70917 62557 8053 46126 28951",  # phonenumbers finds a phone in it
    ],
)
def test_lookalike_is_left_untouched(text):
    assert ALL.redact(text) == (text, {})


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("Upgrade the host 6.12.3.75 tonight.", "Upgrade the host [IP] tonight.", "ip"),
        ("Traffic from 10.0.0.1 to 10.0.0.2.", "Traffic from [IP] to [IP].", "ip"),
        ("Call 868-741-5006 today.", "Call [PHONE] today.", "phone"),
        ("Order desk: call 415-555-2671.", "Order desk: call [PHONE].", "phone"),
        ("Tel. 030 6186925", "Tel. [PHONE]", "phone"),
        ("Thanks for the order. 030 6186925 rang.", "Thanks for the order. [PHONE] rang.", "phone"),
        ("Part shipped!\n030 6186925", "Part shipped!\n[PHONE]", "phone"),
        ("In case 030 6186925 is busy", "In case [PHONE] is busy", "phone"),
    ],
)
def test_the_same_number_without_the_cue_is_redacted(text, expected, kind):
    redacted, counts = ALL.redact(text)
    assert redacted == expected
    assert set(counts) == {kind}


def test_rows_of_years_are_never_cards_even_when_luhn_valid():
    # 2019 2020 2021 2022 -> not a card issuer range; 1996 ... -> no issuer starts with 1
    for row in ("2019 2020 2021 2022", "1996 2000 2004 2008"):
        assert PiiRedactor(["credit_card"]).redact(f"Years {row}") == (f"Years {row}", {})
