"""PII redaction: each kind in its usual formats, near-misses left alone, counts, the kinds filter, and
that a record changes where it should and nowhere else.

Fake credentials are assembled at run time so that secret scanners do not flag this file.
"""

import pytest

from llmops_ingestion.domain.pii import PII_KINDS, PiiRedactor

ALL = PiiRedactor()

PLAIN = (
    "The quarterly review meeting covered the new onboarding process for the support team, including how "
    "agents should escalate difficult customer complaints, document their reasoning in the ticketing system, "
    "and follow up within two business days to confirm that every issue has been resolved satisfactorily."
)


def _fake(prefix: str, body: str) -> str:
    return prefix + body


ALNUM36 = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"  # 36 characters, letters and digits mixed
AWS_KEY_ID = _fake("AKIA", "IOSFODNN7EXAMPLE")
AWS_STS_KEY_ID = _fake("ASIA", "Y34FZKBOKMUTVV7A")
GITHUB_CLASSIC = _fake("ghp", "_" + ALNUM36)
GITHUB_OAUTH = _fake("gho", "_" + ALNUM36)
GITHUB_SERVER = _fake("ghs", "_" + ALNUM36)
GITHUB_FINE_GRAINED = _fake("github", "_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF")
SLACK_BOT = _fake("xox", "b-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx")
SLACK_USER = _fake("xox", "p-123456789012-1234567890123-1234567890123-abcdef0123456789")
OPENAI_LEGACY = _fake("sk", "-" + ALNUM36 + "AbCdEfGhIjKl")
OPENAI_PROJECT = _fake("sk", "-proj-" + ALNUM36 + "_-Xy9Zw8")
STRIPE_LIVE = _fake("sk", "_live_4eC39HqLyjWDarjtT1zdp7dc")
STRIPE_RESTRICTED = _fake("rk", "_live_51Habcdefghijklmn0123")
GOOGLE = _fake("AI", "zaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe")
JWT = _fake("eyJ", "hbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
PEM = _fake("-----BEGIN ", "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq98\nZ9Vx2t0c5H\n-----END RSA PRIVATE KEY-----")
OPENSSH_TRUNCATED = _fake("-----BEGIN ", "OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n(truncated)")
RANDOM_BASE62 = "Zx9Kq2Lm8Np4Rt6Vw1Yb3Cd5Ef7Gh0Jk2Mn"
RANDOM_BASE64URL = "Qm9vbGVhbjE2LWJ5dGUta2V5-9x_TzQ1bGZ3ZHQ5cU0="


# --- email --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "john.doe@example.com",
        "first.last+newsletter@mail.example.co.uk",
        "a-b_c@x-y.io",
        "JOHN.DOE@EXAMPLE.ORG",
        "support@sub.domain.example.travel",
        "x1@d.museum",
    ],
)
def test_email_is_redacted(email):
    assert ALL.redact(f"Write to {email}, please.") == ("Write to [EMAIL], please.", {"email": 1})


@pytest.mark.parametrize(
    "text",
    [
        "user@localhost is the default",
        "follow @handle for news",
        "x@example.c has a one-letter TLD",
        "name at example dot com",
        "foo@bar without a domain",
        "an @ sign alone",
    ],
)
def test_email_near_misses_are_kept(text):
    assert ALL.redact(text) == (text, {})


# --- phone --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "+44 20 7946 0958",
        "+1-202-555-0143",
        "+1 (202) 555-0143",
        "+44 (0)20 7946 0958",
        "+442079460958",
        "+33 1 23 45 67 89",
        "(202) 555-0143",
        "202-555-0143",
        "202.555.0143",
        "202 555 0143",
        "1-800-555-0199",
        "020 7946 0958",
        "01 23 45 67 89",
    ],
)
def test_phone_is_redacted(phone):
    assert ALL.redact(f"Call {phone} today.") == ("Call [PHONE] today.", {"phone": 1})


@pytest.mark.parametrize(
    "text",
    [
        "Founded in 2024 by 42 people.",
        "Upgrade to version 1.2.3 or 10.4.22 now.",
        "It shipped on 2024-01-15 and again on 15.01.2024.",
        "The job ran at 12:30:45 on 2024-01-15 10:30:45.",
        "It costs $1,299.99, or 1.299,99 EUR, or 3.14159 of something.",
        "Revenue was 1 000 000 000 or 1.000.000.000 last year.",
        "Dial 555-0143 for the desk.",
        "ISBN 978-3-16-148410-0 is a book.",
        "Order 1234567890 shipped.",  # a bare digit run is as likely an id or a timestamp: not a phone
        "Scores were 10 20 30 in three rounds.",
        "Scores were 10 20 30 40 50 60 in six rounds.",
        "Editions 2022 2023 2024 were sold out.",
    ],
)
def test_phone_near_misses_are_kept(text):
    assert ALL.redact(text) == (text, {})


@pytest.mark.parametrize("ip", ["192.168.100.200", "10.0.0.1", "999.999.999.999"])
def test_ipv4_shaped_numbers_are_not_phones(ip):
    assert PiiRedactor(["phone"]).redact(f"host {ip} up") == (f"host {ip} up", {})


# --- credit card --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",
        "3782 822463 10005",
        "378282246310005",
        "6011-1111-1111-1117",
        "4222222222222",
    ],
)
def test_credit_card_is_redacted(card):
    assert ALL.redact(f"Paid with {card} yesterday.") == ("Paid with [CREDIT_CARD] yesterday.", {"credit_card": 1})


@pytest.mark.parametrize(
    "text",
    [
        "Paid with 1234 5678 9012 3456 yesterday.",
        "Paid with 0000 0000 0000 0000 yesterday.",
        "Paid with 4111 1111-1111 1111 yesterday.",  # mixed separators
        "Paid with 41111 11111 11111 1 yesterday.",  # not grouped like a card
    ],
)
def test_credit_card_near_misses_are_kept(text):
    assert ALL.redact(text) == (text, {})


def test_luhn_failing_card_number_is_not_a_card_and_too_long_to_be_a_phone():
    # 16 digits failing Luhn: never a card, and longer than any E.164 number (15 digits): left as is.
    text = "Ref 4111 1111 1111 1112 and 4111-1111-1111-1112 and 4111111111111112."
    assert ALL.redact(text) == (text, {})


def test_credit_card_takes_precedence_over_phone():
    assert ALL.redact("3782 822463 10005") == ("[CREDIT_CARD]", {"credit_card": 1})
    # A valid card is never a phone, even when only phones are asked for.
    assert PiiRedactor(["phone"]).redact("4111 1111 1111 1111") == ("4111 1111 1111 1111", {})


@pytest.mark.parametrize(
    ("text", "expected", "counts"),
    [
        ("In 2024 4111-1111-1111-1111 was charged", "In 2024 [CREDIT_CARD] was charged", {"credit_card": 1}),
        ("Card 4111 1111 1111 1111 2024 expired", "Card [CREDIT_CARD] 2024 expired", {"credit_card": 1}),
        ("Card 4111 1111 1111 1111 exp 12/25", "Card [CREDIT_CARD] exp 12/25", {"credit_card": 1}),
        (
            "Cards 4111 1111 1111 1111 5555 5555 5555 4444",
            "Cards [CREDIT_CARD] [CREDIT_CARD]",
            {"credit_card": 2},
        ),
        (
            "Call 020 7946 0958 4111 1111 1111 1111",
            "Call [PHONE] [CREDIT_CARD]",
            {"phone": 1, "credit_card": 1},
        ),
        (
            "Call 020 7946 0958 4111-1111-1111-1111",
            "Call [PHONE] [CREDIT_CARD]",
            {"phone": 1, "credit_card": 1},
        ),
        (
            "Call (202) 555-0143 4111 1111 1111 1111",
            "Call [PHONE] [CREDIT_CARD]",
            {"phone": 1, "credit_card": 1},
        ),
        ("Call +1-202-555-0143 12:30 today", "Call [PHONE] 12:30 today", {"phone": 1}),
        ("At 12:30 020 7946 0958 rang", "At 12:30 [PHONE] rang", {"phone": 1}),
        ("Call +44 20 7946 0958 2024 edition", "Call [PHONE] 2024 edition", {"phone": 1}),
        ("Call 020 7946 0958, 020 7946 0959", "Call [PHONE], [PHONE]", {"phone": 2}),
    ],
)
def test_numbers_next_to_other_numbers(text, expected, counts):
    assert ALL.redact(text) == (expected, counts)


# --- ip -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ip",
    [
        "192.168.1.1",
        "10.0.0.255",
        "8.8.8.8",
        "0.0.0.0",
        "255.255.255.255",
        "2001:db8::1",
        "fe80::1ff:fe23:4567:890a",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "::1",
        "2001:db8::",
        "::ffff:192.168.1.1",
    ],
)
def test_ip_is_redacted(ip):
    assert ALL.redact(f"Request from {ip} at noon.") == ("Request from [IP] at noon.", {"ip": 1})


def test_ip_at_sentence_end_and_in_ranges():
    assert ALL.redact("Server at 10.0.0.1. Range 10.0.0.1-10.0.0.255") == (
        "Server at [IP]. Range [IP]-[IP]",
        {"ip": 3},
    )


@pytest.mark.parametrize(
    "text",
    [
        "Bad address 999.1.1.1 here.",
        "Bad address 256.1.1.1 here.",
        "Leading zeros 01.02.03.04 here.",
        "Version 1.2.3 and v1.2.3.4 and 1.2.3.4.5 here.",
        "At 12:30:45 or 23:59 exactly.",
        "MAC 00:1A:2B:3C:4D:5E here.",
        "C++ std::vector and Haskell a :: b and dead::beef.",
    ],
)
def test_ip_near_misses_are_kept(text):
    assert ALL.redact(text) == (text, {})


# --- secret -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        AWS_KEY_ID,
        AWS_STS_KEY_ID,
        GITHUB_CLASSIC,
        GITHUB_OAUTH,
        GITHUB_SERVER,
        GITHUB_FINE_GRAINED,
        SLACK_BOT,
        SLACK_USER,
        OPENAI_LEGACY,
        OPENAI_PROJECT,
        STRIPE_LIVE,
        STRIPE_RESTRICTED,
        GOOGLE,
        JWT,
        PEM,
        RANDOM_BASE62,
        RANDOM_BASE64URL,
    ],
)
def test_secret_is_redacted(secret):
    assert ALL.redact(f"use {secret} now") == ("use [SECRET] now", {"secret": 1})


def test_private_key_block_without_end_line_is_redacted_to_the_end():
    assert ALL.redact(f"key:\n{OPENSSH_TRUNCATED}") == ("key:\n[SECRET]", {"secret": 1})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_key=abc123", "api_key=[SECRET]"),
        ("apikey = 'hunter2'", "apikey = '[SECRET]'"),
        ("API_KEY: abcdef", "API_KEY: [SECRET]"),
        ("db_password=hunter2", "db_password=[SECRET]"),
        ("client_secret: s3cr3t", "client_secret: [SECRET]"),
        ("export GITHUB_TOKEN=abc123def", "export GITHUB_TOKEN=[SECRET]"),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY=[SECRET]"),
        ("X-Auth-Token: abc123", "X-Auth-Token: [SECRET]"),
        ('accessToken: "abc"', 'accessToken: "[SECRET]"'),
        ('{"password": "correct horse battery staple"}', '{"password": "[SECRET]"}'),
        ("passwd := 'pa55'", "passwd := '[SECRET]'"),
        ("my password: Summer2024!", "my password: [SECRET]"),
        ("GET /v1?api_key=abc123&user=jo", "GET /v1?api_key=[SECRET]&user=jo"),
        (f"token={JWT}", "token=[SECRET]"),
        (f"private_key={PEM}", "private_key=[SECRET]"),
    ],
)
def test_secret_assignment_keeps_the_name_and_redacts_the_value(text, expected):
    assert ALL.redact(text) == (expected, {"secret": 1})


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens=512",
        "tokenizer=gpt2",
        "token_count: 3",
        "password_hash=abc",
        "The secret: patience.",
        "Password: swordfish",  # a plain word after a prose "Password:" is kept
        "api_key=os.environ['OPENAI_API_KEY']",
        "password=get_password()",
        'password = "${DB_PASSWORD}"',
        "api_key=<your-key>",
        "password: ********",
        "if password == 'x':",
        "Note: the key point is speed.",
    ],
)
def test_secret_assignment_near_misses_are_kept(text):
    assert ALL.redact(text) == (text, {})


@pytest.mark.parametrize(
    "text",
    [
        "commit da39a3ee5e6b4b0d3255bfef95601890afd80709 fixed it",  # 40-hex git SHA: a content hash
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 matches",
        "md5 D41D8CD98F00B204E9800998ECF8427E matches",
        "id 550e8400-e29b-41d4-a716-446655440000 found",  # UUID
        "pneumonoultramicroscopicsilicovolcanoconiosis is a word",
        "class AbstractSingletonProxyFactoryBean2 and ThisIsMyVeryLongCamelCaseName123456",
        "model Meta-Llama-3-8B-Instruct-GPTQ-4bit on x86_64-unknown-linux-gnu-gcc-12-2-0-release",
        "test_redact_preserves_surrounding_text_exactly2 passed",
        "see https://github.com/Org/Repo2/blob/4f3c2a1b/src/Main3.java",
        "sk-learn-is-a-python-library-for-machine-learning and risk-1234567890abcdefghijk",
        "Q3 revenue for COVID-19 H100 GPUs",
    ],
)
def test_secret_near_misses_are_kept(text):
    assert ALL.redact(text) == (text, {})


# --- together -----------------------------------------------------------------------------------------


def test_counts_by_kind_with_several_findings():
    text = (
        "From ann@example.com and bob.smith+x@mail.example.org: call +1-202-555-0143, pay with "
        "4111 1111 1111 1111 or 5555-5555-5555-4444 or 378282246310005, hosts 10.0.0.1 and 2001:db8::1, "
        f"api_key=abc123 and {AWS_KEY_ID}."
    )
    assert ALL.redact(text) == (
        (
            "From [EMAIL] and [EMAIL]: call [PHONE], pay with [CREDIT_CARD] or [CREDIT_CARD] or [CREDIT_CARD], "
            "hosts [IP] and [IP], api_key=[SECRET] and [SECRET]."
        ),
        {"email": 2, "phone": 1, "credit_card": 3, "ip": 2, "secret": 2},
    )


MIXED = "Mail a@b.io, call +1-202-555-0143, card 4111 1111 1111 1111, host 10.0.0.1, api_key=abc123."


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("email", "Mail [EMAIL], call +1-202-555-0143, card 4111 1111 1111 1111, host 10.0.0.1, api_key=abc123."),
        ("phone", "Mail a@b.io, call [PHONE], card 4111 1111 1111 1111, host 10.0.0.1, api_key=abc123."),
        ("credit_card", "Mail a@b.io, call +1-202-555-0143, card [CREDIT_CARD], host 10.0.0.1, api_key=abc123."),
        ("ip", "Mail a@b.io, call +1-202-555-0143, card 4111 1111 1111 1111, host [IP], api_key=abc123."),
        ("secret", "Mail a@b.io, call +1-202-555-0143, card 4111 1111 1111 1111, host 10.0.0.1, api_key=[SECRET]."),
    ],
)
def test_kinds_filter_redacts_only_the_selected_kind(kind, expected):
    redactor = PiiRedactor([kind])
    assert redactor.kinds == (kind,)
    assert redactor.redact(MIXED) == (expected, {kind: 1})


def test_kinds_filter_with_several_kinds():
    assert PiiRedactor(["ip", "email"]).redact(MIXED) == (
        "Mail [EMAIL], call +1-202-555-0143, card 4111 1111 1111 1111, host [IP], api_key=abc123.",
        {"email": 1, "ip": 1},
    )


@pytest.mark.parametrize("kinds", [None, [], ()])
def test_no_kinds_means_all_kinds(kinds):
    redactor = PiiRedactor(kinds)
    assert redactor.kinds == PII_KINDS
    assert redactor.redact(MIXED)[1] == {"email": 1, "phone": 1, "credit_card": 1, "ip": 1, "secret": 1}


def test_kinds_are_normalised_to_the_canonical_order():
    assert PiiRedactor(["secret", "email", "email"]).kinds == ("email", "secret")
    assert PiiRedactor("ip").kinds == ("ip",)


@pytest.mark.parametrize(("kinds", "unknown"), [(["passport"], "'passport'"), (["email", "Email"], "'Email'")])
def test_unknown_kind_is_refused_with_the_valid_kinds(kinds, unknown):
    with pytest.raises(ValueError) as error:
        PiiRedactor(kinds)
    message = str(error.value)
    assert unknown in message
    for kind in PII_KINDS:
        assert kind in message


@pytest.mark.parametrize(
    "text",
    [
        "",
        PLAIN,
        PLAIN.replace("two business days", "2 business days (about 48 hours) in Q3 2024"),
        "Note: the key point of the review, at 9 a.m. sharp, is speed = quality.",
        "Version 2.4.1 of the tokenizer (max_tokens=512) was released on 2024-01-15.",
        "Émile paid €12.50 — naïve café déjà vu; 日本語のテキスト。",
    ],
)
def test_text_without_pii_is_returned_unchanged(text):
    redacted, counts = ALL.redact(text)
    assert redacted is text
    assert counts == {}


def test_only_the_pii_changes_and_the_surrounding_text_is_kept_exactly():
    text = (
        "john@example.com\n"
        "\tName:  Émile Zola (client #42)\r\n"
        "  Phone:\t(202) 555-0143 ;  card=4111-1111-1111-1111  \n"
        "«IP» 192.168.0.7… and “secret” password: s3cr3t!\n"
        f"{AWS_KEY_ID}"
    )
    assert ALL.redact(text) == (
        (
            "[EMAIL]\n"
            "\tName:  Émile Zola (client #42)\r\n"
            "  Phone:\t[PHONE] ;  card=[CREDIT_CARD]  \n"
            "«IP» [IP]… and “secret” password: [SECRET]\n"
            "[SECRET]"
        ),
        {"email": 1, "phone": 1, "credit_card": 1, "ip": 1, "secret": 2},
    )


def test_redactor_is_reusable_and_calls_are_independent():
    first = ALL.redact("a@example.com")
    second = ALL.redact("b@example.com and c@example.com")
    assert first == ("[EMAIL]", {"email": 1})
    assert second == ("[EMAIL] and [EMAIL]", {"email": 2})
