"""The mails' bytes, written with less work per message, are the ones the library writes, and stay valid.

`mail_wire.WIRE_POLICY` takes shortcuts around the email generator's header folding; whatever a
header holds, it must give the bytes compat32 gives. `encoded_words` writes a non-ASCII subject
as RFC 2047 encoded words: a reader decodes the very text, and no word or line is too long.
"""

from __future__ import annotations

from email import message_from_bytes
from email.header import Header, decode_header, make_header
from email.mime.text import MIMEText
from email.policy import compat32, default

import pytest
from hypothesis import given, settings, strategies as st

from collector.addresses import AddressError
from collector.mail.delivery import QP_UTF8, MailSettings, compose_acknowledgement, envelope_line, wire_bytes
from collector.mail.wire import MAX_ENCODED_WORD, MAX_LINE, WIRE_POLICY, encoded_words
from tests.review.factory import write_records

LIBRARY = compat32.clone(linesep="\r\n")
HEADER_NAMES = st.sampled_from(["To", "From", "Date", "Message-ID", "X-AMI-Reference", "Subject", "X"])


@settings(max_examples=300, deadline=None)
@given(name=HEADER_NAMES, value=st.text(st.characters(min_codepoint=0, max_codepoint=0x24F), max_size=120))
def test_every_header_value_is_folded_into_the_bytes_the_library_gives(name, value):
    assert WIRE_POLICY.fold_binary(name, value) == LIBRARY.fold_binary(name, value)


@settings(max_examples=100, deadline=None)
@given(value=st.from_regex(r"[ -~]{0,100}", fullmatch=True))
def test_printable_ascii_values_long_short_or_oddly_spaced_fold_as_the_library_folds_them(value):
    assert WIRE_POLICY.fold_binary("Subject", value) == LIBRARY.fold_binary("Subject", value)
    assert WIRE_POLICY.fold_binary("Subject", value) == LIBRARY.fold_binary("Subject", value)  # from the cache too


@pytest.mark.parametrize("length", range(60, 90))
@pytest.mark.parametrize("shape", ["x" * 100, "word " * 20, " lead" * 20, "two  spaces" * 10])
def test_values_around_the_line_limit_fold_as_the_library_folds_them(length, shape):
    for name in ("To", "Subject", "Message-ID"):
        value = shape[:length]
        assert WIRE_POLICY.fold_binary(name, value) == LIBRARY.fold_binary(name, value)


def test_header_objects_are_left_to_the_library():
    value = Header("Réponse — Structure", "utf-8")
    assert WIRE_POLICY.fold_binary("Subject", value) == LIBRARY.fold_binary("Subject", value)


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200))
def test_an_encoded_subject_reads_back_as_its_text_in_words_and_lines_of_legal_length(text):
    folded = encoded_words("Subject", text)
    lines = f"Subject: {folded}".split("\r\n")
    assert all(len(line) <= MAX_LINE for line in lines)
    assert all(len(word) <= MAX_ENCODED_WORD for word in folded.replace("\r\n", "").split(" "))
    assert str(make_header(decode_header(folded.replace("\r\n", "")))) == text
    message = MIMEText("corps", "plain", QP_UTF8)
    message["Subject"] = folded
    assert message_from_bytes(wire_bytes(message), policy=default)["Subject"] == text


def test_an_acknowledgement_on_the_wire_is_the_librarys_but_for_its_cheaper_subject(app, data_dir, form):
    facts = app.config["FACTS"]
    record = write_records(data_dir, 1, form)[0]
    mail_settings = MailSettings(mail_from="AMI Usages numériques <ami@normandie.example>")
    message = compose_acknowledgement(record, facts, form, mail_settings)
    ours = message_from_bytes(wire_bytes(message), policy=default)
    assert ours["Subject"] == f"Accusé de réception {record['reference']} — {facts['call']['short_title']}"
    assert str(ours["From"]) == "AMI Usages numériques <ami@normandie.example>"
    del message["Subject"]
    library = message.as_bytes(policy=LIBRARY)
    assert wire_bytes(message) == library


@pytest.mark.parametrize("recipient", [None, 42, ["porteur@exemple.fr"], {"to": "porteur@exemple.fr"}])
def test_an_envelope_recipient_that_is_not_text_is_refused_as_an_address(recipient):
    """A hand-edited record's contact e-mail may be anything YAML holds: refused, never sent, whatever its type."""
    with pytest.raises(AddressError):
        envelope_line(recipient)


def test_an_address_checked_once_is_still_checked_the_same_way_the_next_time():
    assert envelope_line("Porteur@EXEMPLE.fr") == envelope_line("Porteur@EXEMPLE.fr") == \
        b"X-AMI-Envelope-To: Porteur@exemple.fr\r\n"
    for _ in range(2):
        with pytest.raises(AddressError):
            envelope_line("Nom <porteur@exemple.fr>")
