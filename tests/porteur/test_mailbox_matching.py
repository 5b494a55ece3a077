"""Who is the same contact: the mailbox (local part as written, domain in IDNA 2008 form), never a folded key.

A lost link goes only to a dossier's stored contact address, and only when the address
typed names that mailbox (its local part's ASCII case aside); a correction that moves the
contact to any other mailbox, a look-alike one included, tells the previous address and
the Région. On both stores: on PostgreSQL the mailer finds the dossiers by a query over the
records and their newest versions, without the review index.
"""

from __future__ import annotations

import pytest

from collector.addresses import mailbox, mailbox_ignoring_ascii_case, same_mailbox
from collector.dossier import latest_record
from tests.conftest import STORE_KINDS
from tests.review.factory import make_record

from .conftest import outbox
from .test_corrections import corrected, outbox_message, send_correction
from .test_lost_link import PAGE, handle_waiting, link_mails

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)


@pytest.fixture(params=["records read", "review index", "postgresql query"])
def way(request) -> str:
    """How the mailer finds the dossiers of an address: reading every record of the data folder,
    the data folder's review index, or PostgreSQL's query over the records and versions."""
    return request.param


@pytest.fixture
def store_kind(way) -> str:
    return "postgres" if way == "postgresql query" else "folder"


@pytest.fixture
def finder(way, app):
    """The review index's look-up the mailer is given, or None (the store's own look-up)."""
    if way != "review index":
        return None
    from collector import appstate
    from collector.review.indexing import app_index

    def lookup(address):
        app_index(app).rebuild()  # the records of the test written first
        with app.app_context():
            return appstate.email_lookup(app)(address)
    return lookup


def lost_link_mails(app, client, kept, finder, typed):
    """Ask for the links of `typed`, let the mailer handle it; [(envelope, message)] queued."""
    assert client.post(PAGE, data={"contact_email": typed}).status_code == 200
    handle_waiting(app, kept, finder)
    return [outbox_message(kept, name) for name in link_mails(kept)]


@pytest.mark.parametrize(("stored", "typed"), [
    ("contact@strasse.de", "contact@straße.de"),  # xn--strae-oqa.de: another domain, anyone may register it
    ("contact@straße.de", "contact@strasse.de"),
    ("sophie@asso.fr", "ſophie@asso.fr"),  # U+017F LATIN SMALL LETTER LONG S: casefold makes it s
    ("sophie@asso.fr", "ｓophie@asso.fr"),  # FULLWIDTH LATIN SMALL LETTER S: NFKC makes it s
])
def test_a_look_alike_address_gets_no_link_of_the_dossier(app, client, kept, form, finder, stored, typed):
    kept.write_record(make_record(form, 1, contact_email=stored))
    assert lost_link_mails(app, client, kept, finder, typed) == []


def test_the_link_goes_to_the_stored_address_never_to_the_text_typed(app, client, kept, form, finder):
    kept.write_record(make_record(form, 1, contact_email="camille.js@example.org"))
    [(envelope, message)] = lost_link_mails(app, client, kept, finder, "CAMILLE.JS@EXAMPLE.ORG")
    assert envelope == "X-AMI-Envelope-To: camille.js@example.org"
    assert message["To"] == "camille.js@example.org"
    assert "cle=" in message.get_payload(decode=True).decode()


def test_an_idna_spelling_of_the_domain_is_the_same_mailbox(app, client, kept, form, finder):
    kept.write_record(make_record(form, 1, contact_email="contact@straße.de"))
    [(envelope, _message)] = lost_link_mails(app, client, kept, finder, "contact@XN--STRAE-OQA.DE")
    assert envelope == "X-AMI-Envelope-To: contact@straße.de"


def test_one_mail_per_distinct_stored_address_each_with_its_own_dossiers(app, client, kept, form, finder):
    for number, stored in ((1, "Camille@exemple.fr"), (2, "camille@exemple.fr"), (3, "camille@exemple.fr")):
        kept.write_record(make_record(form, number, contact_email=stored))
    mails = lost_link_mails(app, client, kept, finder, "camille@exemple.fr")
    by_recipient = {envelope.partition(": ")[2]: message.get_payload(decode=True).decode()
                    for envelope, message in mails}
    assert sorted(by_recipient) == ["Camille@exemple.fr", "camille@exemple.fr"]
    assert "AMI-2021-0001" in by_recipient["Camille@exemple.fr"]
    assert "AMI-2021-0002" not in by_recipient["Camille@exemple.fr"]
    assert "AMI-2021-0002" in by_recipient["camille@exemple.fr"] and "AMI-2021-0003" in by_recipient["camille@exemple.fr"]
    assert "AMI-2021-0001" not in by_recipient["camille@exemple.fr"]


def test_a_mailbox_is_the_local_part_as_written_and_the_idna_2008_domain():
    assert mailbox("Contact@Straße.DE") == ("Contact", "xn--strae-oqa.de")
    assert same_mailbox("contact@EXEMPLE.fr", "contact@exemple.fr")
    assert not same_mailbox("Contact@exemple.fr", "contact@exemple.fr")
    assert not same_mailbox("contact@strasse.de", "contact@straße.de")
    assert not same_mailbox("ｃontact@exemple.fr", "contact@exemple.fr")  # full-width c
    assert mailbox_ignoring_ascii_case("CAMILLE@exemple.fr") == ("camille", "exemple.fr")
    assert mailbox_ignoring_ascii_case("ſophie@asso.fr") != mailbox_ignoring_ascii_case("sophie@asso.fr")


@pytest.mark.parametrize(("before", "after"), [
    ("contact@strasse.de", "contact@straße.de"),
    ("contact2@exemple.fr", "ｃontact2@exemple.fr"),  # FULLWIDTH LATIN SMALL LETTER C
    ("camille@exemple.fr", "Camille@exemple.fr"),  # the local part's case is the receiving server's business
])
@ON_BOTH_STORES
def test_moving_the_contact_to_another_mailbox_tells_the_previous_address_and_the_region(client, kept, form,
                                                                                         before, after):
    record = make_record(form, 1, contact_email=before)
    kept.write_record(record)
    assert send_correction(client, corrected(record, contact_email=after)).status_code == 303
    assert latest_record(kept, "AMI-2021-0001")["answers"]["contact_email"] == after
    envelope, _told = outbox_message(kept, "AMI-2021-0001.contact-v2.eml")
    assert envelope == f"X-AMI-Envelope-To: {before}"
    envelope, _ack = outbox_message(kept, "AMI-2021-0001.accuse-v2.eml")
    assert envelope == f"X-AMI-Envelope-To: {after}"
    _envelope, notice = outbox_message(kept, "AMI-2021-0001.correction-v2.eml")
    text = notice.get_payload(decode=True).decode()
    assert f"L'adresse e-mail de contact a changé : {after}" in text and f"remplace {before}" in text


@ON_BOTH_STORES
def test_the_staff_notice_shows_the_ascii_form_of_a_look_alike_domain(client, kept, form):
    record = make_record(form, 1, contact_email="contact@strasse.de")
    kept.write_record(record)
    send_correction(client, corrected(record, contact_email="contact@straße.de"))
    _envelope, notice = outbox_message(kept, "AMI-2021-0001.correction-v2.eml")
    assert "contact@straße.de (domaine xn--strae-oqa.de) remplace contact@strasse.de." in \
        notice.get_payload(decode=True).decode()


@ON_BOTH_STORES
def test_only_the_domains_case_keeps_the_contact(client, kept, form):
    record = make_record(form, 1, contact_email="camille@exemple.fr")
    kept.write_record(record)
    send_correction(client, corrected(record, contact_email="camille@EXEMPLE.FR", projet_titre="Autre titre"))
    assert "AMI-2021-0001.accuse-v2.eml" in outbox(kept)
    assert not [name for name in outbox(kept) if ".contact-" in name]
    _envelope, notice = outbox_message(kept, "AMI-2021-0001.correction-v2.eml")
    assert "adresse e-mail de contact" not in notice.get_payload(decode=True).decode()


@pytest.mark.parametrize(("stored", "typed"), [
    ("!Élo'die@asso.fr", "!Élo'DIE@ASSO.FR"),  # quoted in the YAML document, a quote and a letter beyond ASCII
    ("%ñ@asso.fr", "%ñ@ASSO.FR"),  # no ASCII letter or digit in the local part: nothing narrows the search
    ("contact@straße.de", "CONTACT@xn--strae-oqa.de"),
])
def test_every_spelling_of_a_stored_contact_is_found(app, client, kept, form, finder, stored, typed):
    kept.write_record(make_record(form, 1, contact_email="autre@asso.fr"))
    kept.write_record(make_record(form, 2, contact_email=stored))
    [(envelope, message)] = lost_link_mails(app, client, kept, finder, typed)
    assert envelope == f"X-AMI-Envelope-To: {stored}"
    assert "AMI-2021-0002" in message.get_payload(decode=True).decode()


def test_the_contact_of_the_newest_version_counts(app, client, kept, form, finder):
    first, second = make_record(form, 1, contact_email="ancienne@asso.fr"), make_record(form, 2)
    for record in (first, second):
        kept.write_record(record)
    assert send_correction(client, corrected(first, contact_email="nouvelle@asso.fr")).status_code == 303
    assert send_correction(client, corrected(second, contact_email="ANCIENNE@asso.fr"), "AMI-2021-0002").status_code == 303
    [(envelope, message)] = lost_link_mails(app, client, kept, finder, "ancienne@asso.fr")
    text = message.get_payload(decode=True).decode()
    assert envelope == "X-AMI-Envelope-To: ANCIENNE@asso.fr"
    assert "AMI-2021-0002" in text and "AMI-2021-0001" not in text, "the first dossier's contact moved away"
