"""Benchmark: PII recall per kind and false positives on look-alikes, on planted ground truth.

Data, generated with a fixed seed: records of filler prose, each with one planted value of one kind in
a sentence (English, German, French or Portuguese), and as many records with an innocuous look-alike
that a number-shaped detector takes for PII. Planted values are valid by the issuing rules, in the
formats people write them, mixed:

- phone: US, GB, DE, FR, IN and BR fixed and mobile numbers (drawn at random and kept when
  libphonenumber calls them valid), written internationally (``+49 30 2462936``, ``+49 (0)30 2462936``,
  ``0049 30 2462936``, ``+4930...``), nationally (``030 6186925``, ``030/6186925``, ``0171-8007749``,
  ``01.23.45.67.89``, ``(202) 555-0143``, ``(11) 91234-5678``) and without separators;
- credit_card: Visa, Mastercard (51-55 and 2221-2720), Amex, Discover, JCB, Diners, with a valid Luhn
  digit, contiguous or grouped 4-4-4-4, 4-6-5 or 4-6-4 with spaces or dashes;
- iban: DE, GB, FR, ES, IT, NL, BE, CH, AT and BR IBANs with valid check digits (and national checks
  where python-stdnum has them), compact or printed in groups of four;
- ssn: issuable US SSNs as ``AAA-GG-SSSS``, ``AAA GG SSSS`` or nine digits after "SSN";
- email; ip: IPv4 and IPv6 (full, compressed, IPv4-mapped), some with a port.

Look-alikes: versions and section numbers shaped like IPv4 addresses (``kernel 6.12.3.75``,
``v1.2.3.4``, ``section 4.2.1.7``), part, SKU, model, serial and order numbers that are valid phone
numbers, rows of years, Unix timestamps in seconds and milliseconds, dates and times, ISBNs, ZIP+4
codes, prices and large counts.

Measured: the recall of each kind (the planted value is gone and a placeholder of its kind was counted)
and the false-positive rate (a look-alike record counts when anything in it is redacted).

    python bench/pii_quality.py [--quick]

The last line printed is one JSON object; ``measure_pii`` returns the same figures for
``bench/ingestion_quality.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import time
from collections import Counter
from collections.abc import Callable

import phonenumbers
from phonenumbers import PhoneNumberFormat
from stdnum import iban, luhn
from stdnum.us import ssn

from llmops_ingestion.domain.pii import PiiRedactor

RECALL_TARGET, FALSE_POSITIVE_TARGET = 0.95, 0.01
KINDS = ("phone", "credit_card", "iban", "ssn", "email", "ip")

FILLER = (
    "The quarterly review covered the onboarding process for the support team.",
    "Agents should document their reasoning in the ticketing system and follow up within 2 days.",
    "Die Lieferung kommt voraussichtlich am Dienstag, bitte bestätigen Sie den Termin.",
    "Merci de confirmer la réservation avant vendredi, 3 personnes sont attendues.",
    "O relatório mensal foi enviado para a equipe de vendas ontem à tarde.",
    "We moved 12 servers to the new rack and updated 48 cables last week.",
    "Please keep this message for your records.",
)

# --- phones ---------------------------------------------------------------------------------------

# National significant number prefixes and lengths, fixed line and mobile, per region.
_PHONE_PLANS = {
    "US": [("", 10)],
    "GB": [("20", 10), ("161", 10), ("131", 10), ("1632", 10), ("7", 10)],
    "DE": [("30", 9), ("30", 10), ("89", 10), ("40", 10), ("221", 10), ("69", 10), ("151", 11), ("171", 10),
           ("176", 11), ("160", 10)],
    "FR": [("1", 9), ("2", 9), ("3", 9), ("4", 9), ("5", 9), ("6", 9), ("7", 9), ("9", 9)],
    "IN": [("9", 10), ("8", 10), ("7", 10), ("6", 10), ("11", 10), ("22", 10), ("80", 10)],
    "BR": [("119", 11), ("219", 11), ("11", 10), ("21", 10), ("31", 10), ("619", 11)],
}


def _national_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    code = phonenumbers.country_code_for_region(region)
    while True:
        prefix, length = rng.choice(_PHONE_PLANS[region])
        if region == "US":
            prefix = str(rng.randint(2, 9)) + str(rng.randint(0, 8)) + str(rng.randint(0, 9)) + str(rng.randint(2, 9))
        digits = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix)))
        number = phonenumbers.parse("+" + str(code) + digits)
        if phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == region:
            return number


def phone(rng: random.Random) -> str:
    region = rng.choice(list(_PHONE_PLANS))
    number = _national_number(rng, region)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    nsn = phonenumbers.national_significant_number(number)
    styles: list[Callable[[], str]] = [
        lambda: international,
        lambda: international.replace(" ", "-"),
        lambda: phonenumbers.format_number(number, PhoneNumberFormat.E164),
        lambda: national,
    ]
    if region == "US":
        styles += [
            lambda: f"{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}",
            lambda: f"{nsn[:3]}.{nsn[3:6]}.{nsn[6:]}",
            lambda: f"1-{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}",
            lambda: f"+1 ({nsn[:3]}) {nsn[3:6]}-{nsn[6:]}",
        ]
    else:
        head, _, tail = national.partition(" ")
        styles += [
            lambda: national.replace(" ", ""),
            lambda: f"{head}-{tail.replace(' ', '')}" if tail else national,
            lambda: f"+{number.country_code} ({national[0]}){national[1:]}" if national[0] == "0" else national,
        ]
        if region in ("GB", "DE", "FR"):
            styles.append(lambda: "00" + international[1:])
        if region in ("GB", "DE"):
            styles.append(lambda: f"({head}) {tail}" if tail else national)  # "(030) 6186925"
        if region == "BR":
            styles.append(lambda: f"+55 ({nsn[:2]}) {nsn[2:-4]}-{nsn[-4:]}")  # "+55 (11) 91234-5678"
        if region == "DE":
            styles.append(lambda: f"{head}/{tail.replace(' ', '')}" if tail else national)
        if region == "FR":
            styles.append(lambda: national.replace(" ", "."))
    return rng.choice(styles)()


# --- cards, IBANs, SSNs, emails, IPs ----------------------------------------------------------------

_CARD_PLANS = [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15), ("37", 15),
               ("6011", 16), ("65", 16), ("3528", 16), ("36", 14), ("300", 14)]


def credit_card(rng: random.Random) -> str:
    prefix, length = rng.choice(_CARD_PLANS)
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    digits = body + luhn.calc_check_digit(body)
    sep = rng.choice([" ", "-", ""])
    if not sep:
        return digits
    if length == 16:
        return sep.join(digits[i : i + 4] for i in range(0, 16, 4))
    if length in (14, 15):
        return sep.join((digits[:4], digits[4:10], digits[10:]))
    return digits  # 13-digit Visa: written in one piece


# Country, BBAN as (kind, length) parts: n digits, a upper-case letters, c alphanumerics.
_BBANS = {
    "DE": "18n", "GB": "4a14n", "FR": "10n11c2n", "ES": "20n", "IT": "1a10n12c", "NL": "4a10n", "BE": "12n",
    "CH": "5n12c", "AT": "16n", "BR": "23n1a1c",
}


def _bban(rng: random.Random, spec: str) -> str:
    out, count = [], ""
    alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": string.digits + string.ascii_uppercase}
    for ch in spec:
        if ch.isdigit():
            count += ch
        else:
            out += [rng.choice(alphabet[ch]) for _ in range(int(count))]
            count = ""
    return "".join(out)


def iban_number(rng: random.Random) -> str:
    while True:
        country = rng.choice(list(_BBANS))
        bban = _bban(rng, _BBANS[country])
        number = country + iban.calc_check_digits(country + "00" + bban) + bban
        if iban.is_valid(number):
            return iban.format(number) if rng.random() < 0.6 else number


def ssn_number(rng: random.Random) -> str:
    while True:
        value = f"{rng.randint(1, 899):03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if ssn.is_valid(value):
            break
    sep = rng.choice(["-", "-", " "])
    return f"{value[:3]}{sep}{value[3:5]}{sep}{value[5:]}"


def email(rng: random.Random) -> str:
    first = rng.choice(["anna", "j.smith", "li_wei", "marc-olivier", "o'brien", "sales", "joao.silva"]).replace("'", "")
    domain = rng.choice(["example.com", "mail.example.co.uk", "firma.de", "exemple.fr", "empresa.com.br"])
    return f"{first}{rng.choice(['', str(rng.randint(1, 99)), '+news'])}@{domain}"


def ip(rng: random.Random) -> str:
    style = rng.randrange(5)
    if style == 0:
        return ".".join(str(rng.randint(1, 255)) for _ in range(4))
    if style == 1:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if style == 2:
        return ":".join(f"{rng.randint(0, 0xFFFF):04x}" for _ in range(8))
    if style == 3:
        return f"2001:db8:{rng.randint(1, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}"
    return f"::ffff:192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "phone": phone, "credit_card": credit_card, "iban": iban_number, "ssn": ssn_number, "email": email, "ip": ip,
}
TEMPLATES = {
    "phone": ["Call me at {}.", "Tel.: {}", "Rufen Sie mich unter {} an.", "Appelez le {} demain.",
              "Ligue para {} amanhã.", "My number is {}, thanks", "Mobil {} (ab 18 Uhr)", "WhatsApp: {}"],
    "credit_card": ["Paid with card {} yesterday.", "Kartennummer: {}", "card={}", "Numéro de carte {}."],
    "iban": ["Please transfer to IBAN {}.", "IBAN: {}", "Konto {} (Sparkasse)", "RIB/IBAN {} merci"],
    "ssn": ["SSN: {}", "Her social security number is {}.", "ssn {} on file"],
    "email": ["Write to {}.", "E-Mail: {}", "contact <{}>"],
    "ip": ["Request from {} at noon.", "host {} is down", "ssh root@{} failed", "server [{}]:443 refused",
           "curl http://{}/health"],
}


def planted(rng: random.Random, kind: str) -> tuple[str, str]:
    """A record with one planted value of ``kind`` (and, in a third of them, a look-alike too)."""
    value = GENERATORS[kind](rng)
    if kind == "ssn" and rng.random() < 0.2:
        value = value.replace("-", "").replace(" ", "")
        sentence = f"SSN {value} verified."
    else:
        sentence = rng.choice(TEMPLATES[kind]).format(value)
        if kind == "ip" and "[{}]" in sentence and ":" not in value:
            sentence = sentence.replace(f"[{value}]", value)
    if rng.random() < 0.33:
        sentence += " " + _embed(rng, rng.choice(list(LOOKALIKES.values()))(rng))
    return _embed(rng, sentence), value


# --- look-alikes ------------------------------------------------------------------------------------


def _octets(rng: random.Random) -> str:
    return ".".join(str(rng.randint(0, 20 if i else 9)) for i in range(4))


def _year_row(rng: random.Random) -> str:
    return " ".join(str(y) for y in sorted(rng.sample(range(1950, 2031), rng.randint(4, 5))))


def _isbn13(rng: random.Random) -> str:
    body = rng.choice(["978", "979"]) + "".join(rng.choice(string.digits) for _ in range(9))
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    digits = body + str(check)
    return rng.choice([digits, f"{digits[:3]}-{digits[3]}-{digits[4:6]}-{digits[6:12]}-{digits[12]}"])


def _phone_shaped(rng: random.Random) -> str:
    number = _national_number(rng, rng.choice(["US", "US", "GB", "DE"]))
    nsn = phonenumbers.national_significant_number(number)
    if number.country_code == 1:
        return f"{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


LOOKALIKES: dict[str, Callable[[random.Random], str]] = {
    "version": lambda r: r.choice(["kernel {}", "Upgrade to v{}", "version {} fixes it", "release {}-beta",
                                   "Linux {} LTS", "from version {} to 6.12.3.76", "pip install pkg=={}",
                                   "__version__ = '{}'"]).format(_octets(r)),
    "section": lambda r: r.choice(["See section {}.", "per § {}", "clause {} applies", "Sections 4.2.1.6 and {}",
                                   "Abschnitt 2: siehe Kapitel 3, chapter {}"]).format(_octets(r)),
    "part_number": lambda r: r.choice(["Part {}", "SKU: {}", "model no. {}", "serial number {}", "Order #{}",
                                       "Bestellnummer: {}", "item {} is back in stock", "Artikelnummer {}",
                                       "Réf. n° {}", "Pedido nº {}"]).format(_phone_shaped(r)),
    "years": lambda r: r.choice(["Editions {} sold out.", "Winners in {}.", "Jahre: {}"]).format(_year_row(r)),
    "timestamp": lambda r: r.choice(["ts={}", "created_at {} ms", "epoch {}"]).format(
        r.randint(1_000_000_000_000, 2_100_000_000_000) if r.random() < 0.7 else r.randint(1_000_000_000, 2_100_000_000)
    ),
    "date": lambda r: r.choice(["{y}-{m:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}", "{d:02d}.{m:02d}.{y}",
                                "{m:02d}/{d:02d}/{y}", "{y}/{m:02d}/{d:02d}"]).format(
        y=r.randint(1990, 2030), m=r.randint(1, 12), d=r.randint(1, 28), h=r.randint(0, 23), mi=r.randint(0, 59),
        s=r.randint(0, 59)),
    "isbn": lambda r: r.choice(["ISBN {}", "ISBN-13: {}", "the book ({}) is out of print"]).format(_isbn13(r)),
    "zip": lambda r: r.choice(["Beverly Hills, CA {}", "New York, NY {}", "ZIP {}"]).format(
        f"{r.randint(10000, 99999)}-{r.randint(1000, 9999)}"),
    "amount": lambda r: r.choice(["It costs ${:,}.99", "Revenue was {:,} EUR", "{:,} units shipped"]).format(
        r.randint(1_000_000, 999_999_999)),
}


def _embed(rng: random.Random, sentence: str) -> str:
    before = rng.sample(FILLER, rng.randint(0, 2))
    after = rng.sample(FILLER, rng.randint(0, 2))
    return " ".join([*before, sentence, *after])


# --- measurement ------------------------------------------------------------------------------------


def measure_pii(quick: bool, seed: int = 16) -> dict:
    """Recall by kind and the false-positive rate on look-alikes, for the default redactor."""
    rng = random.Random(seed)
    per_kind = 100 if quick else 500
    per_family = 70 if quick else 350
    redactor = PiiRedactor()
    found: Counter[str] = Counter()
    false_positives: Counter[str] = Counter()
    records = 0
    started = time.perf_counter()
    for kind in KINDS:
        for _ in range(per_kind):
            text, value = planted(rng, kind)
            redacted, counts = redactor.redact(text)
            records += 1
            if value not in redacted and counts.get(kind, 0) >= 1:
                found[kind] += 1
    for family, make in LOOKALIKES.items():
        for _ in range(per_family):
            text = _embed(rng, make(rng))
            records += 1
            if redactor.redact(text)[1]:
                false_positives[family] += 1
    elapsed = time.perf_counter() - started
    recall = {kind: round(found[kind] / per_kind, 4) for kind in KINDS}
    lookalikes = per_family * len(LOOKALIKES)
    return {
        "pii_recall_min_kind": min(recall.values()),
        "pii_recall_target": RECALL_TARGET,
        "pii_false_positive_rate": round(sum(false_positives.values()) / lookalikes, 4),
        "pii_false_positive_target": FALSE_POSITIVE_TARGET,
        "pii_recall_by_kind": recall,
        "pii_planted_per_kind": per_kind,
        "pii_false_positives": sum(false_positives.values()),
        "pii_false_positives_by_family": dict(false_positives),
        "lookalikes": lookalikes,
        "pii_us_per_record": round(elapsed / records * 1e6, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 planted values per kind, 70 look-alikes per family")
    arguments = parser.parse_args()
    print(json.dumps({"bench": "pii_quality", **measure_pii(arguments.quick)}), flush=True)
