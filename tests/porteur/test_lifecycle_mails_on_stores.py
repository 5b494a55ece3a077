"""A dossier's lifecycle mails on both stores: a mail whose queueing failed after its event was
stored is queued by the catch-up through the store (PostgreSQL too), the `message` command says
so when it happens, and a mail the porteur mail caps held back is never sent, on either store.

The outbox's failure is injected where each store writes: os.link into outbox/ for the data
folder (a full disk), a trigger raising SQLSTATE 55P03 (lock_timeout, as under a db-upgrade)
on the outbox table for PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from collector.mail import delivery, lifecycle
from collector.dossier import latest_record
from collector.mail.catch_up import catch_up
from collector.porteur.mail_caps import MAILS_PER_ADDRESS_PER_DAY
from collector.statuses import read_history
from tests.conftest import STORE_KINDS
from tests.support.payloads import form_hidden_fields, valid_answers

from .conftest import outbox
from .test_corrections import corrected, send_correction
from .test_mail_catch_up import outbox_writes_failing

VICTIM = "victime@example.net"
REFUSING_TRIGGER = """
CREATE FUNCTION refuse_outbox() RETURNS trigger AS $$ BEGIN
  RAISE EXCEPTION 'lock timeout' USING ERRCODE = '55P03'; END $$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox();
"""


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def outbox_refusing(store_kind, data_dir, request):
    """A context in which the store's outbox refuses every new message (and nothing else fails)."""
    if store_kind == "folder":
        return lambda: outbox_writes_failing(data_dir)
    url = request.getfixturevalue("database_url")

    @contextmanager
    def refusing() -> Iterator[None]:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(REFUSING_TRIGGER)
        try:
            yield
        finally:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("DROP TRIGGER refuse_outbox ON outbox; DROP FUNCTION refuse_outbox()")
    return refusing


def catch_up_now(app, kept) -> list[str]:
    with app.app_context():
        return catch_up(kept, app.config["FACTS"], app.config["FORM"], lifecycle.settings())


def test_a_correction_whose_mails_could_not_be_queued_has_them_queued_once_by_the_catch_up(
        app, client, records, kept, outbox_refusing):
    with outbox_refusing():
        reply = send_correction(client, corrected(records[0], projet_titre="Titre corrigé"))
    assert reply.status_code == 303 and latest_record(kept, "AMI-2021-0001")["version"] == 2
    assert not {name for name in kept.outbox.known_names() if "-v2." in name}, "nothing queued nor remembered"

    assert sorted(catch_up_now(app, kept)) == ["AMI-2021-0001.accuse-v2.eml", "AMI-2021-0001.correction-v2.eml"]
    assert catch_up_now(app, kept) == [], "queued once"
    assert {"AMI-2021-0001.accuse-v2.eml", "AMI-2021-0001.correction-v2.eml"} <= set(outbox(kept))


def test_the_message_command_says_when_its_mail_could_not_be_queued_and_the_catch_up_queues_it(
        app, records, kept, outbox_refusing):
    with outbox_refusing():
        result = app.test_cli_runner().invoke(args=["message", "AMI-2021-0002", "Bonjour", "--by", "bernard"])
    assert result.exit_code == 0, result.output
    assert read_history(kept, "AMI-2021-0002")["events"][-1]["text"] == "Bonjour", "the message is stored"
    assert "attend dans la file d'envoi" not in result.output
    assert "n'a pas pu être mis dans la file d'envoi" in result.output and "ne renvoyez pas" in result.output
    assert catch_up_now(app, kept) == ["AMI-2021-0002.message-1.eml"]
    confirmed = app.test_cli_runner().invoke(args=["message", "AMI-2021-0002", "Encore", "--by", "bernard"])
    assert confirmed.exit_code == 0 and "il attend dans la file d'envoi" in confirmed.output


def test_a_correction_mail_held_back_by_the_cap_is_never_sent_later_on_either_store(app, client, records, kept):
    for record in records:  # three acknowledgements to the victim, each dossier's first change
        assert send_correction(client, corrected(record, contact_email=VICTIM), record["reference"]).status_code == 303
    for title in ("Titre 2", "Titre 3"):  # two more: five
        send_correction(client, corrected(records[0], contact_email=VICTIM, projet_titre=title))
    sixth = send_correction(client, corrected(records[1], contact_email=VICTIM, projet_titre="Titre 2"),
                            "AMI-2021-0002")
    assert sixth.headers["Location"].endswith("&fait=correction-sans-accuse")
    held = "AMI-2021-0002.accuse-v3.eml"
    assert held in kept.outbox.known_names() and held not in outbox(kept), "remembered, not waiting"
    assert "AMI-2021-0002.correction-v3.eml" in outbox(kept), "the Région is still told"
    assert held not in catch_up_now(app, kept) and held not in outbox(kept), "the catch-up never queues it"
    assert kept.outbox.queue(held, delivery.compose_notification(records[1], app.config["FACTS"], app.config["FORM"],
                                                                 delivery.MailSettings()), VICTIM) is False
    porteur_mails = [item for item in kept.outbox.messages() if item.recipient == VICTIM]
    assert len(porteur_mails) == MAILS_PER_ADDRESS_PER_DAY


def test_a_new_dossiers_acknowledgement_past_the_cap_is_held_back_and_never_sent_on_either_store(app, form, kept):
    def apply(title: str):
        browser = app.test_client()  # a browser each, as separate porteurs
        hidden = form_hidden_fields(browser.get("/candidater/").text)
        return browser.post("/candidater/", data={**valid_answers(form), "contact_email": VICTIM,
                                                 "projet_titre": title, **hidden})

    for number in range(MAILS_PER_ADDRESS_PER_DAY):
        assert "fait=" not in apply(f"Projet {number}").headers["Location"]
    sixth = apply("Projet de trop")
    assert sixth.status_code == 303 and sixth.headers["Location"].endswith("&fait=sans-accuse")
    with app.app_context():  # the mailer's catch-ups, as often as it likes
        for _ in range(2):
            kept.outbox.reconcile(app.config["FACTS"], form, lifecycle.settings())
            catch_up(kept, app.config["FACTS"], form, lifecycle.settings())
    assert "AMI-2021-0006.accuse.eml" not in outbox(kept), "never sent later"
    assert "AMI-2021-0006.notification.eml" in kept.outbox.known_names(), "the Région is still told"
    assert len([item for item in kept.outbox.messages() if item.recipient == VICTIM]) == MAILS_PER_ADDRESS_PER_DAY
