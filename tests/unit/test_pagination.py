"""Page tokens: signed, versioned, bound to one list, and checked against its key shape, so a forged or
tampered token is INVALID_ARGUMENT and never reaches a query."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from llmops_common.errors import InvalidArgument
from llmops_common.pagination import MAX_PAGE_SIZE, Int, KeyShape, PageTokens, Text, Timestamp, Uuid

TOKENS = PageTokens(b"unit-test key")
NAMES = KeyShape("t.names", (Text(),))
VERSIONS = KeyShape("t.versions", (Text(), Int(low=1)))
PROMOTIONS = KeyShape("t.promotions", (Timestamp(), Uuid()))
AUDIT = KeyShape("t.audit", (Int(low=1),))
NOT_OURS = "not a page token this API issued"

texts = st.text(max_size=200).filter(lambda s: "\x00" not in s)
bigints = st.integers(min_value=1, max_value=2**63 - 1)
instants = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))


def refused(token: str, shape: KeyShape, tokens: PageTokens = TOKENS) -> None:
    with pytest.raises(InvalidArgument, match=NOT_OURS) as err:
        tokens.page(10, token, shape)
    assert err.value.field == "page.page_token"


def legacy(values: list) -> str:
    """A token as the API used to issue them: unsigned base64 JSON (what a forger can write)."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@given(texts, bigints)
def test_a_token_carries_its_key_to_the_next_page(name, version):
    assert TOKENS.page(10, TOKENS.token((name, version), VERSIONS), VERSIONS).after == (name, version)


@given(instants, st.uuids())
def test_timestamp_and_uuid_keys_round_trip(instant, ident):
    page = TOKENS.page(10, TOKENS.token((instant, str(ident)), PROMOTIONS), PROMOTIONS)
    assert page.after == (instant, str(ident))


def test_an_offset_timestamp_comes_back_in_utc():
    instant = datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    (after, _), = [TOKENS.page(1, TOKENS.token((instant, str(uuid.uuid4())), PROMOTIONS), PROMOTIONS).after]
    assert after == instant and after.tzinfo is UTC


@pytest.mark.parametrize("forged, shape", [
    (legacy(["abc"]), AUDIT),           # was: text > bigint in the query, or int('abc') in a handler
    (legacy(["m"]), VERSIONS),          # was: a wrong placeholder count
    (legacy([["m"]]), NAMES),           # was: a list bound as a name
    (legacy(["m", 1]), VERSIONS),       # even the right shape, unsigned
])
def test_unsigned_tokens_are_refused(forged, shape):
    refused(forged, shape)


@pytest.mark.parametrize("key, shape", [
    (("abc",), AUDIT),                  # a string where the column is an integer
    ((2**63,), AUDIT),                  # beyond bigint
    ((0,), AUDIT),                      # below the declared range
    ((True,), AUDIT),                   # a bool is not an integer
    (("a\x00b", 1), VERSIONS),          # NUL in text
    (("x" * 5000, 1), VERSIONS),        # longer than the column allows
    (("not a time", str(uuid.uuid4())), PROMOTIONS),
    (("2024-01-01T00:00:00", str(uuid.uuid4())), PROMOTIONS),   # no offset
    (("0001-01-01T00:00:00+01:00", str(uuid.uuid4())), PROMOTIONS),  # before year 1 in UTC
    ((datetime.now(UTC).isoformat(), "not-a-uuid"), PROMOTIONS),
])
def test_signed_keys_of_the_wrong_shape_are_refused(key, shape):
    """The shape check stands on its own: even a correctly signed key is refused if it does not fit."""
    class Raw:
        def encode(self, value):
            return value

    raw = KeyShape(shape.name, tuple(Raw() for _ in shape.parts))  # type: ignore[misc]
    refused(TOKENS.token(key, raw), shape)


def test_a_token_is_valid_for_its_own_list_and_key_only():
    token = TOKENS.token(("m",), NAMES)
    refused(token, KeyShape("t.other", (Text(),)))
    refused(token, NAMES, PageTokens(b"another replica's key"))
    refused(token.replace("v1.", "v2.", 1), NAMES)


@given(texts, bigints, st.data())
def test_any_change_to_a_token_is_refused(name, version, data):
    token = TOKENS.token((name, version), VERSIONS)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.characters(codec="utf-8"))
    assume(replacement != token[position])
    refused(token[:position] + replacement + token[position + 1:], VERSIONS)


@given(st.text(max_size=300))
def test_any_text_not_issued_as_a_token_is_refused(text):
    assume(text)
    refused(text, VERSIONS)


def test_no_token_is_the_first_page_and_sizes_are_bounded():
    assert TOKENS.page(0, "", NAMES).after is None
    assert TOKENS.page(0, "", NAMES).size == 100
    assert TOKENS.page(10**9, "", NAMES).size == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument) as err:
        TOKENS.page(-1, "", NAMES)
    assert err.value.field == "page.page_size"


def test_an_oversized_token_is_refused_before_it_is_decoded():
    refused("v1." + "A" * 100_000 + ".x", NAMES)
