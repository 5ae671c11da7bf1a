"""PII kinds on the field's libraries: phones in each default region's formats, IBANs, US SSNs, cards by
issuer and Luhn digit; the configurable kinds and phone regions."""

import pytest
from stdnum import luhn

from llmops.ingestion.v1 import ingestion_pb2 as pb
from llmops_common.errors import InvalidArgument
from llmops_ingestion.api import convert
from llmops_ingestion.domain.config import parse_config
from llmops_ingestion.domain.pii import DEFAULT_PHONE_REGIONS, PII_KINDS, PiiRedactor

ALL = PiiRedactor()


def _card(prefix: str, length: int) -> str:
    body = prefix + "0" * (length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


# --- phones -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        # Germany: national with and without separators, mobile, international, "(0)", "00"
        "030 6186925",
        "030/6186925",
        "0171 8007749",
        "0171-8007749",
        "+49 30 2462936",
        "+49 (0)30 2462936",
        "0049 30 2462936",
        "+4917180077490",
        # United Kingdom
        "020 7946 0958",
        "07911 123456",
        "+44 7911 123456",
        "0161 496 0000",
        # France
        "01 23 45 67 89",
        "06.12.34.56.78",
        "+33 6 12 34 56 78",
        "+33 (0)1 23 45 67 89",
        # India
        "+91 98765 43210",
        "098765 43210",
        "+91-22-2345-6789",
        # Brazil
        "(11) 91234-5678",
        "+55 11 91234-5678",
        "(21) 2345-6789",
        # United States
        "(202) 555-0143",
        "202-555-0143",
        "+1 415 555 2671",
        "1-800-555-0199",
    ],
)
def test_phone_in_the_default_regions_formats_is_redacted(phone):
    assert ALL.redact(f"Bitte rufen Sie {phone} an.") == ("Bitte rufen Sie [PHONE] an.", {"phone": 1})


def test_default_phone_regions_cover_the_issue_set():
    assert set(DEFAULT_PHONE_REGIONS) >= {"US", "GB", "DE", "FR", "IN", "BR"}
    assert ALL.phone_regions == DEFAULT_PHONE_REGIONS


def test_phone_regions_decide_which_national_formats_are_read():
    text = "Berlin 030 6186925, London 020 7946 0958, intl +49 30 2462936"
    assert PiiRedactor(phone_regions=["US"]).redact(text) == (
        "Berlin 030 6186925, London 020 7946 0958, intl [PHONE]",
        {"phone": 1},
    )
    assert PiiRedactor(phone_regions=["de"]).redact(text) == (
        "Berlin [PHONE], London 020 7946 0958, intl [PHONE]",
        {"phone": 2},
    )
    assert PiiRedactor(phone_regions=("GB", "DE")).phone_regions == ("GB", "DE")


def test_unknown_phone_region_is_refused():
    with pytest.raises(ValueError, match="'XX'"):
        PiiRedactor(phone_regions=["DE", "XX"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call +44 20 7946 0958 2024 edition", "Call [PHONE] 2024 edition"),
        ("At 12:30 030 6186925 rang", "At 12:30 [PHONE] rang"),
        ("WhatsApp +44 7494 209680 08/11/1992", "WhatsApp [PHONE] 08/11/1992"),
        ("Tel. 0033 1 09 44 02 87 20.10.2026", "Tel. [PHONE] 20.10.2026"),
        ("Am 20.10.2026 030 6186925 anrufen", "Am 20.10.2026 [PHONE] anrufen"),
    ],
)
def test_phone_next_to_a_year_a_time_or_a_date(text, expected):
    assert ALL.redact(text) == (expected, {"phone": 1})


# --- IBAN ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
        "CH93 0076 2011 6238 5295 7",
    ],
)
def test_iban_is_redacted_whole(value):
    assert ALL.redact(f"Überweisung an {value} bis Freitag.") == ("Überweisung an [IBAN] bis Freitag.", {"iban": 1})


@pytest.mark.parametrize(
    "text",
    [
        "Code DE88 3704 0044 0532 0130 00 fails the check digits.",
        "Ticket AB12 3456 7890 1234 is not an IBAN country.",
        "Model GB82WEST1234 is too short.",
    ],
)
def test_iban_near_misses_are_kept(text):
    assert ALL.redact(text) == (text, {})


def test_iban_digits_are_never_taken_for_a_phone():
    text = "IBAN DE89 3704 0044 0532 0130 00"
    assert PiiRedactor(["phone"]).redact(text) == (text, {})


def test_printed_iban_followed_by_capitals_keeps_them():
    assert ALL.redact("DE89 3704 0044 0532 0130 00 EUR") == ("[IBAN] EUR", {"iban": 1})


# --- US SSN -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 123-45-6789 on file", "SSN [SSN] on file"),
        ("her number is 536 22 1234.", "her number is [SSN]."),
        ("SSN: 536221234", "SSN: [SSN]"),
        ("social security number 536221234", "social security number [SSN]"),
    ],
)
def test_ssn_is_redacted(text, expected):
    assert ALL.redact(text) == (expected, {"ssn": 1})


@pytest.mark.parametrize(
    "text",
    [
        "Area 000-12-3456 is never issued.",
        "Area 666-12-3456 is never issued.",
        "ITIN 912-70-1234 is not an SSN.",
        "Group 123-00-4567 is never issued.",
        "The advertised 078-05-1120 was never valid.",
        "Counted 536221234 visitors.",  # nine bare digits without an SSN cue
        "Part 536-22-1234 ships today.",
    ],
)
def test_ssn_near_misses_are_kept(text):
    assert PiiRedactor(["ssn"]).redact(text) == (text, {})


# --- credit cards -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "card",
    [
        _card("2221", 16),  # Mastercard 2-series
        _card("51", 16),
        _card("3528", 16),  # JCB
        _card("62", 16),  # UnionPay
        "3056 930902 5904",  # Diners 4-6-4
        "3782-822463-10005",  # Amex 4-6-5 with dashes
        " ".join(_card("4", 19)[i : i + 4] for i in range(0, 19, 4)),  # 19-digit Visa, 4-4-4-4-3
    ],
)
def test_card_by_issuer_is_redacted(card):
    assert ALL.redact(f"Charged {card} today") == ("Charged [CREDIT_CARD] today", {"credit_card": 1})


def test_luhn_valid_number_without_an_issuer_prefix_is_not_a_card():
    number = _card("1", 16)
    assert luhn.is_valid(number)
    assert PiiRedactor(["credit_card"]).redact(f"Ref {number}") == (f"Ref {number}", {})


def test_card_after_other_digit_groups_is_found_at_its_own_start():
    assert ALL.redact("Call 020 7946 0958 4111 1111 1111 1111") == (
        "Call [PHONE] [CREDIT_CARD]",
        {"phone": 1, "credit_card": 1},
    )


# --- configuration ------------------------------------------------------------------------------------


def test_all_kinds_counted_in_one_text():
    text = (
        "ann@example.com, +49 30 2462936, 4111 1111 1111 1111, DE89 3704 0044 0532 0130 00, "
        "SSN 536-22-1234, 10.0.0.1, api_key=abc123"
    )
    assert ALL.redact(text) == (
        "[EMAIL], [PHONE], [CREDIT_CARD], [IBAN], SSN [SSN], [IP], api_key=[SECRET]",
        {kind: 1 for kind in PII_KINDS},
    )


@pytest.mark.parametrize("kind", ["iban", "ssn"])
def test_new_kinds_can_be_selected_alone(kind):
    text = "IBAN DE89 3704 0044 0532 0130 00, SSN 536-22-1234, tel +49 30 2462936"
    redacted, counts = PiiRedactor([kind]).redact(text)
    assert counts == {kind: 1}
    assert f"[{kind.upper()}]" in redacted and "[PHONE]" not in redacted


def test_config_carries_kinds_and_phone_regions():
    config = parse_config({"pii": {"kinds": ["ssn", "iban"], "phone_regions": ["de", "at"]}})
    assert config.pii.kinds == ("iban", "ssn")
    assert config.pii.phone_regions == ("DE", "AT")
    assert parse_config({"pii": {"phone_regions": []}}).pii.phone_regions == DEFAULT_PHONE_REGIONS
    assert config.config_hash() != parse_config({"pii": {"kinds": ["ssn", "iban"]}}).config_hash()


def test_config_refuses_unknown_phone_region_naming_the_field():
    with pytest.raises(InvalidArgument, match=r"preparation\.pii\.phone_regions.*'ZZ'"):
        parse_config({"pii": {"phone_regions": ["DE", "ZZ"]}})


def test_phone_regions_travel_over_grpc_both_ways():
    config = convert.preparation(pb.PreparationConfig(pii=pb.PiiStep(phone_regions=["de", "ch"])), present=True)
    assert config.pii.phone_regions == ("DE", "CH")
    message = convert._preparation_message(config.model_dump(mode="json"))
    assert list(message.pii.phone_regions) == ["DE", "CH"]
    assert convert.preparation(message, present=True) == config
