"""The data folder's outbox after a bad restore or a hand edit: a symbolic link whose target is gone,
under a message's name, is no message. The reconcile (the mailer's start and catch-ups) never
remembers it as queued: it removes the link, says so in French in the log (the folder and the
message's name: no address, no target path), and the record's mail is composed again and sent.

On the data folder only: PostgreSQL's outbox is a table (no file, no link); its reconcile queues
from the `outbox` rows alone (stores/test_outbox.py)."""

from __future__ import annotations

import logging
import os

import pytest

from collector.facts import load_facts
from collector.formdef import load_form
from collector.mail import delivery
from collector.stores.folder import FolderStore
from tests.review.factory import make_record
from tests.review.smtp import smtp_server

REFERENCE = "AMI-2021-0001"
ACCUSE, NOTIFICATION = f"{REFERENCE}.accuse.eml", f"{REFERENCE}.notification.eml"
CONTACT = "contact1@exemple.fr"


@pytest.fixture
def record(data_dir):
    store = FolderStore(data_dir)
    assert store.write_record(make_record(load_form(), 1))  # stored while no mailer ran: no mail yet
    return store


def dangling_link(data_dir: str, folder: str, name: str) -> str:
    """A symbolic link named like a message in `folder`, whose target is gone."""
    os.makedirs(os.path.join(data_dir, folder), exist_ok=True)
    target = os.path.join(data_dir, "tmp", "parti", CONTACT + ".eml")  # a target that names someone
    path = os.path.join(data_dir, folder, name)
    os.symlink(target, path)
    assert os.path.islink(path) and not os.path.exists(path)
    return target


def settings(port: int = 25) -> delivery.MailSettings:
    return delivery.MailSettings(host="127.0.0.1", port=port, mail_from="AMI Usages numériques <ami@normandie.example>",
                                 public_url="https://ami.example")


def reconcile(data_dir: str) -> list[str]:
    return delivery.reconcile(data_dir, load_facts(), load_form(), settings())


def test_a_dangling_link_in_the_outbox_is_removed_and_its_mail_composed_again_and_sent(data_dir, record, caplog):
    target = dangling_link(data_dir, delivery.OUTBOX, ACCUSE)
    with caplog.at_level(logging.WARNING):
        assert reconcile(data_dir) == [ACCUSE, NOTIFICATION]
    accuse = os.path.join(data_dir, delivery.OUTBOX, ACCUSE)
    assert not os.path.islink(accuse) and os.path.isfile(accuse), "a real message took the link's place"
    assert os.path.exists(os.path.join(data_dir, delivery.QUEUED, ACCUSE)), "remembered once really queued"
    [said] = [entry.getMessage() for entry in caplog.records if "lien vers un fichier disparu" in entry.getMessage()]
    assert said == (f"courriel : outbox/{ACCUSE} était un lien vers un fichier disparu, pas un message : lien "
                    "retiré, le courriel sera composé à nouveau")
    assert CONTACT not in caplog.text and target not in caplog.text, "no address, nor the link's target"
    with smtp_server() as inbox:
        report = delivery.deliver_outbox(data_dir, settings(inbox.port))
        assert sorted(report.sent) == [ACCUSE, NOTIFICATION] and not report.failed, report
        assert CONTACT in [item.recipients[0] for item in inbox.wait_for(2)]


def test_a_dangling_link_already_remembered_as_queued_is_forgotten_and_its_mail_queued_again(data_dir, record):
    """An earlier reconcile took both links for the record's mails and remembered their names."""
    for name in (ACCUSE, NOTIFICATION):
        dangling_link(data_dir, delivery.OUTBOX, name)
    os.makedirs(os.path.join(data_dir, delivery.QUEUED))
    for name in (ACCUSE, NOTIFICATION):
        open(os.path.join(data_dir, delivery.QUEUED, name), "wb").close()
    assert reconcile(data_dir) == [ACCUSE, NOTIFICATION]
    assert reconcile(data_dir) == [], "queued once"
    assert delivery.pending(data_dir) == [ACCUSE, NOTIFICATION]
    assert not any(os.path.islink(os.path.join(data_dir, delivery.OUTBOX, name)) for name in (ACCUSE, NOTIFICATION))


def test_a_dangling_link_in_sent_is_removed_but_its_mail_never_sent_twice(data_dir, record, caplog):
    """Moved to sent/, it may have gone out: the link goes, the name stays remembered."""
    dangling_link(data_dir, delivery.SENT, ACCUSE)
    with caplog.at_level(logging.WARNING):
        assert reconcile(data_dir) == [NOTIFICATION]
    assert not os.path.lexists(os.path.join(data_dir, delivery.SENT, ACCUSE))
    assert os.path.exists(os.path.join(data_dir, delivery.QUEUED, ACCUSE))
    assert f"courriel : sent/{ACCUSE} était un lien vers un fichier disparu" in caplog.text
    assert "il n'est pas renvoyé" in caplog.text
