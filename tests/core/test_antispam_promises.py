"""collector/antispam.py keeps its promises: exact ages, the expiry limit, every forged token refused."""

from __future__ import annotations

import random
import string
from dataclasses import FrozenInstanceError, astuple

import pytest

from collector import antispam
from collector.antispam import HONEYPOT_FIELD, SUBMISSION_ID_FIELD, TOKEN_FIELD, Tokens, honeypot_filled

SECRET = "clé de test"
DAY = 86_400.0
ISSUED_AT = 1_618_473_600.0  # 15 April 2021, 08:00 UTC: far from the real clock
REFUSED = (False, None, 0.0, False)  # (valid, submission id, age, expired) of a token that says nothing


@pytest.fixture
def tokens():
    return Tokens(SECRET, max_age=DAY)


def test_a_page_gets_a_token_its_submission_id_and_an_empty_honeypot(tokens):
    hidden = tokens.issue(now=ISSUED_AT)
    assert set(hidden) == {TOKEN_FIELD, SUBMISSION_ID_FIELD, HONEYPOT_FIELD}
    assert hidden[HONEYPOT_FIELD] == ""
    assert len(hidden[SUBMISSION_ID_FIELD]) == 24
    assert tokens.issue(now=ISSUED_AT)[SUBMISSION_ID_FIELD] != hidden[SUBMISSION_ID_FIELD]


@pytest.mark.parametrize("seconds", [0.0, 3.0, 2.5, 3600.0, DAY])
def test_the_age_is_exactly_the_time_since_the_page_was_made(tokens, seconds):
    hidden = tokens.issue(now=ISSUED_AT)
    check = tokens.check(hidden[TOKEN_FIELD], hidden[SUBMISSION_ID_FIELD], now=ISSUED_AT + seconds)
    assert astuple(check) == (True, hidden[SUBMISSION_ID_FIELD], seconds, False)


def test_a_check_cannot_be_altered_once_made(tokens):
    hidden = tokens.issue(now=ISSUED_AT)
    check = tokens.check(hidden[TOKEN_FIELD], hidden[SUBMISSION_ID_FIELD], now=ISSUED_AT + 3)
    with pytest.raises(FrozenInstanceError):
        check.age = 3600.0


def test_the_stamp_keeps_milliseconds(tokens):
    fine = tokens.issue(now=100.0004)
    coarse = tokens.issue(now=100.004)
    assert tokens.check(fine[TOKEN_FIELD], fine[SUBMISSION_ID_FIELD], now=100.0004).age == pytest.approx(0.0004, abs=1e-9)
    assert tokens.check(coarse[TOKEN_FIELD], coarse[SUBMISSION_ID_FIELD], now=100.004).age == pytest.approx(0, abs=1e-9)


def test_the_age_is_a_difference_of_times_whatever_their_size(tokens):
    hidden = tokens.issue(now=100.0)
    assert tokens.check(hidden[TOKEN_FIELD], hidden[SUBMISSION_ID_FIELD], now=250.0).age == 150.0


def test_without_a_given_time_the_clock_is_read(tokens, monkeypatch):
    monkeypatch.setattr(antispam.time, "time", lambda: ISSUED_AT)
    hidden = tokens.issue()
    monkeypatch.setattr(antispam.time, "time", lambda: ISSUED_AT + 7.25)
    assert tokens.check(hidden[TOKEN_FIELD], hidden[SUBMISSION_ID_FIELD]).age == 7.25


def test_a_token_is_valid_up_to_max_age_and_expired_beyond(tokens):
    hidden = tokens.issue(now=ISSUED_AT)
    token, submission_id = hidden[TOKEN_FIELD], hidden[SUBMISSION_ID_FIELD]
    assert tokens.check(token, submission_id, now=ISSUED_AT + DAY).valid
    late = tokens.check(token, submission_id, now=ISSUED_AT + DAY + 0.5)
    assert astuple(late) == (False, submission_id, DAY + 0.5, True)


def test_the_configured_max_age_is_the_one_applied():
    short = Tokens(SECRET, max_age=60)
    hidden = short.issue(now=ISSUED_AT)
    assert short.check(hidden[TOKEN_FIELD], hidden[SUBMISSION_ID_FIELD], now=ISSUED_AT + 60).valid
    assert short.check(hidden[TOKEN_FIELD], hidden[SUBMISSION_ID_FIELD], now=ISSUED_AT + 61).expired


def signed(tokens: Tokens, payload) -> str:
    """A token signed with the right key around any payload (what a robot that stole the key could not make)."""
    return tokens.serializer.dumps(payload)


VALID_ID = "A" * 24


@pytest.mark.parametrize("payload, posted_id", [
    ([VALID_ID, ISSUED_AT], "B" * 24),              # another submission's id, sorting after
    (["B" * 24, ISSUED_AT], VALID_ID),              # or before
    ([123456789012345678, ISSUED_AT], "123456789012345678"),  # id not text
    (["short", ISSUED_AT], "short"),                # id too short
    (["A" * 65, ISSUED_AT], "A" * 65),              # id too long
    (["A" * 23 + "/", ISSUED_AT], "A" * 23 + "/"),  # id with a character outside the alphabet
    ([VALID_ID, str(ISSUED_AT)], VALID_ID),         # stamp not a number
    ([VALID_ID, None], VALID_ID),
    ([VALID_ID, ISSUED_AT, "extra"], VALID_ID),     # ValueError on unpacking
    ([VALID_ID], VALID_ID),
    (42, VALID_ID),                                 # TypeError on unpacking
])
def test_a_well_signed_but_malformed_token_is_refused(tokens, payload, posted_id):
    assert astuple(tokens.check(signed(tokens, payload), posted_id, now=ISSUED_AT)) == REFUSED


def test_ids_of_16_and_64_characters_are_accepted(tokens):
    for submission_id in ("a" * 16, "Z_-9" * 16):
        check = tokens.check(signed(tokens, [submission_id, ISSUED_AT]), submission_id, now=ISSUED_AT + 1)
        assert astuple(check) == (True, submission_id, 1.0, False)


@pytest.mark.parametrize("token, posted_id", [
    (None, VALID_ID), (["x"], VALID_ID), ("not-a-token", VALID_ID), ("", VALID_ID),
])
def test_missing_or_forged_tokens_are_refused(tokens, token, posted_id):
    assert astuple(tokens.check(token, posted_id, now=ISSUED_AT)) == REFUSED


def test_a_token_signed_with_another_key_is_refused(tokens):
    other = Tokens("une autre clé", max_age=DAY).issue(now=ISSUED_AT)
    assert not tokens.check(other[TOKEN_FIELD], other[SUBMISSION_ID_FIELD], now=ISSUED_AT).valid


def test_the_posted_id_must_be_text(tokens):
    hidden = tokens.issue(now=ISSUED_AT)
    assert astuple(tokens.check(hidden[TOKEN_FIELD], [hidden[SUBMISSION_ID_FIELD]], now=ISSUED_AT)) == REFUSED


def token_of_length(tokens: Tokens, length: int) -> tuple[str, str]:
    """A well-signed token exactly `length` characters long: a 64-character id, a stamp of many digits."""
    alphabet = string.ascii_letters + string.digits + "_-"
    rng = random.Random(length)
    for _attempt in range(200):
        submission_id = "".join(rng.choice(alphabet) for _ in range(64))
        for digits in range(1, 120):
            token = signed(tokens, [submission_id, int("".join(rng.choice("123456789") for _ in range(digits)))])
            if len(token) == length:
                return token, submission_id
            if len(token) > length:
                break
    raise AssertionError(f"no token of {length} characters")


def test_tokens_up_to_200_characters_are_read_longer_ones_refused_unread(tokens):
    token, submission_id = token_of_length(tokens, 200)
    assert tokens.check(token, submission_id, now=ISSUED_AT).submission_id == submission_id
    token, submission_id = token_of_length(tokens, 201)
    assert astuple(tokens.check(token, submission_id, now=ISSUED_AT)) == REFUSED


@pytest.mark.parametrize("value, filled", [
    ("", False), ("   ", False), (None, False), ([], False), (["", " "], False),
    ("https://spam.example", True), (" x ", True), (["", "x"], True), (0, False), (7, True),
])
def test_the_honeypot_is_filled_by_anything_but_blanks(value, filled):
    assert honeypot_filled(value) is filled


def test_a_bound_token_is_valid_only_for_the_value_it_was_bound_to_and_never_carries_it(tokens):
    hidden = tokens.issue(now=ISSUED_AT, bound_to="192.0.2.0/24")
    token, submission_id = hidden[TOKEN_FIELD], hidden[SUBMISSION_ID_FIELD]
    assert tokens.check(token, submission_id, now=ISSUED_AT, bound_to="192.0.2.0/24").valid
    assert astuple(tokens.check(token, submission_id, now=ISSUED_AT, bound_to="198.51.100.0/24")) == REFUSED
    assert astuple(tokens.check(token, submission_id, now=ISSUED_AT)) == REFUSED, "a bound token is no unbound one"
    unbound = tokens.issue(now=ISSUED_AT)
    assert astuple(tokens.check(unbound[TOKEN_FIELD], unbound[SUBMISSION_ID_FIELD], now=ISSUED_AT,
                                bound_to="192.0.2.0/24")) == REFUSED
    assert "192.0.2" not in Tokens(SECRET, DAY).serializer.loads(token)[2]
    assert Tokens("autre clé", DAY)._binding("192.0.2.0/24") != tokens._binding("192.0.2.0/24"), "keyed"
