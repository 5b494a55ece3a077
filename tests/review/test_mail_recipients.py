"""The acknowledgement goes to the one address the porteur gave, never to addresses hidden in it.

The SMTP envelope comes from the validated address kept with the queued message (the
outbox file's first line), never from re-reading a header: a header parser decodes
encoded words and splits lists.
"""

from __future__ import annotations

import os
import random
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.provisional import domains
from marshmallow import ValidationError

from collector.addresses import ONE_PLAIN
from collector.facts import load_facts
from collector.formdef import load_form
from collector.mail.delivery import (ENVELOPE_HEADER, MailSettings, compose_acknowledgement, deliver_outbox, pending,
                            queue_for_record, wire_bytes)
from collector.records import build_record
from tests.review.factory import START, make_record
from tests.review.smtp import smtp_server
from tests.support.payloads import form_hidden_fields, valid_answers

RELAY = "=?utf-8?q?a=40evil.example=2Cz=40evil2.example=2C?=b@example.org"
FORM = load_form()
FACTS = load_facts()


@pytest.fixture(scope="module")
def smtp():
    with smtp_server() as inbox:
        yield inbox


def mail_settings(port: int) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=port, mail_from="AMI <ami@normandie.example>",
                        public_url="https://ami.example")


def accepted(address: str) -> str:
    """The contact e-mail as the collector would store it; ValidationError if refused."""
    return make_record(FORM, 1, rng=random.Random(1), contact_email=address)["answers"]["contact_email"]


@pytest.mark.parametrize("address", [
    RELAY,
    "=?utf-8?b?YUBldmlsLmV4YW1wbGU=?=@example.org",
    "Alice <alice@exemple.fr>",
    "alice@exemple.fr, bob@exemple.fr",
    "alice@exemple.fr,bob@exemple.fr",
    '"alice,bob"@exemple.fr',
    "<alice@exemple.fr>",
    "alice@exemple.fr (Alice)",
    "alice@bob@exemple.fr",
    "alice;bob@exemple.fr",
])
def test_only_a_bare_address_is_accepted_with_a_french_message(address):
    with pytest.raises(ValidationError) as refused:
        accepted(address)
    message = refused.value.messages["contact_email"][0]
    assert "nom@structure.fr" in message and message.startswith("Saisissez")


def test_the_relay_address_of_the_review_is_refused_at_the_form_and_nothing_is_stored(client, test_store):
    hidden = form_hidden_fields(client.get("/candidater/").text)
    response = client.post("/candidater/", json={**hidden, **valid_answers(FORM), "contact_email": RELAY},
                           headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert response.get_json() == {"errors": {"contact_email": ONE_PLAIN}}
    assert test_store.references() == []


def hand_edited_record(address: str) -> dict:
    """A record whose contact e-mail never went through validation (edited on disk)."""
    record = make_record(FORM, 1, rng=random.Random(1))
    answers = dict(record["answers"], contact_email=address)
    return build_record(record["reference"], START, FORM.version, answers, record["flags"], record["derived"])


def test_a_stored_relay_address_is_never_queued(data_dir):
    queued = queue_for_record(data_dir, hand_edited_record(RELAY), FACTS, FORM, mail_settings(25))
    assert queued == ["AMI-2021-0001.notification.eml"]


def test_the_catch_up_queues_the_regions_notice_of_a_record_whose_stored_contact_is_refused(test_store, caplog):
    """A hand-edited contact never gets a mail, but the Région still learns of the dossier, on either store."""
    assert test_store.write_record(hand_edited_record(RELAY))
    assert test_store.outbox.reconcile(FACTS, FORM, mail_settings(25)) == ["AMI-2021-0001.notification.eml"]
    assert test_store.outbox.reconcile(FACTS, FORM, mail_settings(25)) == [], "queued once"
    assert "evil" not in caplog.text, "no address in the logs"


def test_the_envelope_comes_from_our_first_line_not_from_the_to_header(data_dir, smtp):
    """A file whose To: header hides three addresses still goes to its one envelope recipient."""
    smtp.messages.clear()
    message = compose_acknowledgement(hand_edited_record(RELAY), FACTS, FORM, mail_settings(smtp.port))
    os.makedirs(os.path.join(data_dir, "outbox"))
    with open(os.path.join(data_dir, "outbox", "AMI-2021-0001.accuse.eml"), "wb") as handle:
        handle.write(ENVELOPE_HEADER + b"porteur@exemple.fr\r\n" + wire_bytes(message))
    assert deliver_outbox(data_dir, mail_settings(smtp.port)).sent == ["AMI-2021-0001.accuse.eml"]
    (arrived,) = smtp.wait_for(1)
    assert arrived.recipients == ["porteur@exemple.fr"]
    assert "X-AMI-Envelope-To" not in arrived.message


@pytest.mark.parametrize("first_line", [b"", b"To: porteur@exemple.fr\r\n",
                                        ENVELOPE_HEADER + b"a@exemple.fr, b@exemple.fr\r\n",
                                        ENVELOPE_HEADER + RELAY.encode() + b"\r\n",
                                        ENVELOPE_HEADER + b"\r\n porteur@exemple.fr\r\n"])
def test_a_file_without_a_valid_envelope_line_is_set_aside_never_sent(data_dir, smtp, first_line):
    smtp.messages.clear()
    message = compose_acknowledgement(make_record(FORM, 1), FACTS, FORM, mail_settings(smtp.port))
    os.makedirs(os.path.join(data_dir, "outbox"))
    with open(os.path.join(data_dir, "outbox", "AMI-2021-0001.accuse.eml"), "wb") as handle:
        handle.write(first_line + wire_bytes(message))
    report = deliver_outbox(data_dir, mail_settings(smtp.port))
    assert report.failed == ["AMI-2021-0001.accuse.eml"] and report.sent == []
    assert pending(data_dir, "failed") == ["AMI-2021-0001.accuse.eml"]
    assert smtp.messages == []


HOSTILE_PIECES = ["=?", "?=", "utf-8?q?", "=40", "=2C", ",", ";", ":", "<", ">", '"', " ", "\t", "(", ")",
                  "[", "]", "\\", "@", ".", "é", "ｃ", "\u200b", "\u202e", "+", "-", "_", "'", "!"]
local_parts = st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), st.text("abcxyz019", min_size=1, max_size=5)),
                       min_size=1, max_size=8).map("".join)
candidates = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", local_parts, st.one_of(domains(), st.just("exemple.fr"))),
    st.builds(lambda hidden, local: f"=?utf-8?q?{hidden}=40evil.example?={local}@example.org", local_parts, local_parts),
    st.emails(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(address=candidates)
def test_any_accepted_address_gets_exactly_one_recipient_equal_to_it(smtp, address):
    try:
        stored = accepted(address)
    except ValidationError:
        return  # refused at the form: nothing is stored, nothing is sent
    smtp.messages.clear()
    with tempfile.TemporaryDirectory() as data_dir:
        record = make_record(FORM, 1, rng=random.Random(1), contact_email=address)
        settings_ = mail_settings(smtp.port)
        assert "AMI-2021-0001.accuse.eml" in queue_for_record(data_dir, record, FACTS, FORM, settings_)
        report = deliver_outbox(data_dir, settings_)
        assert report.failed == [] and len(report.sent) == 2, (address, report)
    acknowledgements = [item for item in smtp.wait_for(2) if "accuse" in item.message["Message-ID"]]
    assert len(acknowledgements) == 1
    assert acknowledgements[0].recipients == [stored]
