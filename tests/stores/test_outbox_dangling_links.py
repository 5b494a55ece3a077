"""The data folder's outbox after a bad restore or a hand edit: a symbolic link whose target is gone,
under a message's name, is no message. The reconcile (the mailer's start and catch-ups) never
remembers it as queued: it removes the link and says so in French in the log (the folder and the
message's name: no address, no target path), with what becomes of its mail. A name never
remembered, in outbox/, is the only one composed again; a remembered name is never forgotten
(its mail may have left: a mail is never sent twice). One link that cannot be removed stops
nothing else. Every step is durable and forgets nothing: a crash at any of them leaves a state
the next reconcile repairs.

On the data folder only: PostgreSQL's outbox is a table (no file, no link); its reconcile queues
from the `outbox` rows alone (stores/test_outbox.py)."""

from __future__ import annotations

import errno
import logging
import os

import pytest

from collector.facts import load_facts
from collector.formdef import load_form
from collector.mail import catch_up as mail_catch_up, delivery, mailer
from collector.stores.folder import FolderStore
from tests.review.factory import make_record
from tests.review.smtp import smtp_server
from tests.stores.test_mail_catch_up_in_chunks import a_message

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


def test_a_dangling_link_already_remembered_as_queued_keeps_its_name_and_its_mail_is_never_sent_again(
        data_dir, record, caplog):
    """An earlier reconcile took both links for the record's mails and remembered their names: they
    may have gone out, so the links go and the names stay remembered."""
    for name in (ACCUSE, NOTIFICATION):
        dangling_link(data_dir, delivery.OUTBOX, name)
    os.makedirs(os.path.join(data_dir, delivery.QUEUED))
    for name in (ACCUSE, NOTIFICATION):
        open(os.path.join(data_dir, delivery.QUEUED, name), "wb").close()
    with caplog.at_level(logging.WARNING):
        assert reconcile(data_dir) == []
    assert reconcile(data_dir) == []
    assert delivery.pending(data_dir) == []
    assert all(os.path.exists(os.path.join(data_dir, delivery.QUEUED, name)) for name in (ACCUSE, NOTIFICATION))
    assert not any(os.path.lexists(os.path.join(data_dir, delivery.OUTBOX, name)) for name in (ACCUSE, NOTIFICATION))
    assert (f"courriel : outbox/{ACCUSE} était un lien vers un fichier disparu, pas un message : lien retiré, "
            "le courriel a pu partir : il n'est pas renvoyé") in caplog.text
    assert "composé à nouveau" not in caplog.text


def test_a_mail_sent_then_deleted_from_sent_by_hand_is_never_sent_again_when_a_restore_leaves_its_link_in_the_outbox(
        data_dir, record):
    assert reconcile(data_dir) == [ACCUSE, NOTIFICATION]
    with smtp_server() as inbox:
        assert sorted(delivery.deliver_outbox(data_dir, settings(inbox.port)).sent) == [ACCUSE, NOTIFICATION]
        inbox.wait_for(2)
    os.unlink(os.path.join(data_dir, delivery.SENT, ACCUSE))  # by hand: « never sends that mail again »
    dangling_link(data_dir, delivery.OUTBOX, ACCUSE)  # an old outbox/ brought back as links by a bad restore
    assert reconcile(data_dir) == []
    with smtp_server() as inbox:
        report = delivery.deliver_outbox(data_dir, settings(inbox.port))
        assert report.sent == [] and not report.failed, report
        assert inbox.messages == []


class PowerCut(BaseException):
    """The process stops there (not an OSError: nothing catches it)."""


def cut_at(monkeypatch, data_dir: str, step: str, folder: str, name: str) -> None:
    """Stop the process at one step of dropping the link `folder/name`: the OS call itself fails."""
    queued, link, folder_path = (os.path.join(data_dir, delivery.QUEUED), os.path.join(data_dir, folder, name),
                                 os.path.join(data_dir, folder))
    real_open, real_unlink, real_fsync_dir = os.open, os.unlink, delivery.fsync_dir

    def open_(path, *args, **kwargs):
        if step == "remember" and os.fspath(path) == os.path.join(queued, name):
            raise PowerCut()
        return real_open(path, *args, **kwargs)

    def unlink(path, *args, **kwargs):
        if step == "unlink" and os.fspath(path) == link:
            raise PowerCut()
        return real_unlink(path, *args, **kwargs)

    def fsync_dir(path):
        if (step, os.fspath(path)) in {("sync memory", queued), ("sync folder", folder_path)}:
            raise PowerCut()
        return real_fsync_dir(path)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(delivery, "fsync_dir", fsync_dir)


CASES = [  # (folder, remembered before, steps it goes through)
    (delivery.OUTBOX, True, ("unlink", "sync folder")),
    (delivery.OUTBOX, False, ("unlink", "sync folder")),
    (delivery.SENT, False, ("remember", "sync memory", "unlink", "sync folder")),
    (delivery.SENT, True, ("unlink", "sync folder")),
]


@pytest.mark.parametrize("folder, remembered, step", [(folder, remembered, step) for folder, remembered, steps in CASES
                                                      for step in steps])
def test_a_crash_at_any_step_of_dropping_a_link_is_repaired_by_the_next_reconcile_without_a_mail_lost_or_sent_twice(
        data_dir, record, monkeypatch, folder, remembered, step):
    dangling_link(data_dir, folder, ACCUSE)
    if remembered:
        os.makedirs(os.path.join(data_dir, delivery.QUEUED))
        open(os.path.join(data_dir, delivery.QUEUED, ACCUSE), "wb").close()
    with monkeypatch.context() as faults:
        cut_at(faults, data_dir, step, folder, ACCUSE)
        with pytest.raises(PowerCut):
            reconcile(data_dir)
    reconcile(data_dir)  # the mailer starts again
    reconcile(data_dir)
    assert not os.path.islink(os.path.join(data_dir, folder, ACCUSE)), "the link is gone"
    composed_again = folder == delivery.OUTBOX and not remembered
    assert (ACCUSE in delivery.pending(data_dir)) is composed_again, "queued again only if never remembered"
    assert os.path.exists(os.path.join(data_dir, delivery.QUEUED, ACCUSE)), "remembered, for good"
    assert NOTIFICATION in delivery.pending(data_dir)


def test_a_dangling_link_that_cannot_be_removed_is_logged_and_stops_no_other_mail(data_dir, record, monkeypatch,
                                                                                   caplog):
    dangling_link(data_dir, delivery.FAILED, "AMI-2020-0042.accuse.eml")  # restored by root: not ours to remove
    link = os.path.join(data_dir, delivery.FAILED, "AMI-2020-0042.accuse.eml")
    unlink = os.unlink

    def refused(path, *args, **kwargs):
        if os.fspath(path) == link:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", refused)
    with caplog.at_level(logging.WARNING):
        assert reconcile(data_dir) == [ACCUSE, NOTIFICATION]
    assert os.path.islink(link)
    assert os.path.exists(os.path.join(data_dir, delivery.QUEUED, "AMI-2020-0042.accuse.eml")), "never sent twice"
    assert ("courriel : failed/AMI-2020-0042.accuse.eml est un lien vers un fichier disparu, pas un message, et il "
            "n'a pas pu être retiré (PermissionError) : retirez-le à la main ; les autres courriels "
            "partent") in caplog.text
    with smtp_server() as inbox:  # `send-mail` (the mailer's round): caught up and sent all the same
        queued, report = mailer.send_once(data_dir, load_facts(), load_form(), settings(inbox.port))
        assert sorted(report.sent) == [ACCUSE, NOTIFICATION], report
        inbox.wait_for(2)


def test_a_dangling_link_in_sent_is_removed_but_its_mail_never_sent_twice(data_dir, record, caplog):
    """Moved to sent/, it may have gone out: the link goes, the name stays remembered."""
    dangling_link(data_dir, delivery.SENT, ACCUSE)
    with caplog.at_level(logging.WARNING):
        assert reconcile(data_dir) == [NOTIFICATION]
    assert not os.path.lexists(os.path.join(data_dir, delivery.SENT, ACCUSE))
    assert os.path.exists(os.path.join(data_dir, delivery.QUEUED, ACCUSE))
    assert f"courriel : sent/{ACCUSE} était un lien vers un fichier disparu" in caplog.text
    assert "il n'est pas renvoyé" in caplog.text


def dropped_log(caplog, folder: str, name: str) -> str:
    prefix = f"courriel : {folder}/{name} était un lien vers un fichier disparu, pas un message : lien retiré, "
    [said] = [entry.getMessage() for entry in caplog.records if entry.getMessage().startswith(prefix)]
    return said[len(prefix):]


def lifecycle_mail(data_dir: str, kept: FolderStore) -> str:
    """A message to the porteur of the record, queued by the catch-up; its name."""
    a_message(kept, load_form(), REFERENCE)
    mail_catch_up.catch_up(kept, load_facts(), load_form(), settings())
    return delivery.message_name(REFERENCE, "message-1")


def test_a_remembered_lifecycle_mail_link_is_said_not_re_sent_and_no_catch_up_composes_it(data_dir, record, caplog):
    name = lifecycle_mail(data_dir, record)
    path = os.path.join(data_dir, delivery.OUTBOX, name)
    os.unlink(path)  # a hand edit while the mailer ran: a link to a gone file in its place
    dangling_link(data_dir, delivery.OUTBOX, name)
    with caplog.at_level(logging.WARNING):
        reconcile(data_dir)
    assert dropped_log(caplog, delivery.OUTBOX, name) == "le courriel a pu partir : il n'est pas renvoyé"
    assert name not in mail_catch_up.catch_up(record, load_facts(), load_form(), settings()), "as the log says"


def test_a_never_remembered_lifecycle_mail_link_is_said_composed_again_by_the_catch_up_and_it_is(data_dir, record,
                                                                                                  caplog):
    name = lifecycle_mail(data_dir, record)
    os.unlink(os.path.join(data_dir, delivery.OUTBOX, name))
    os.unlink(os.path.join(data_dir, delivery.QUEUED, name))  # a crash before its name was remembered
    dangling_link(data_dir, delivery.OUTBOX, name)
    with caplog.at_level(logging.WARNING):
        reconcile(data_dir)
    assert dropped_log(caplog, delivery.OUTBOX, name) == (
        "le rattrapage des courriels du dossier le composera à nouveau s'il est encore attendu, au plus tard au "
        "prochain démarrage du mailer ou à la prochaine commande send-mail")
    assert name in mail_catch_up.catch_up(record, load_facts(), load_form(), settings()), "as the log says"


def test_a_lost_link_mail_link_tells_that_the_porteur_must_ask_again(data_dir, record, caplog):
    name = f"{REFERENCE}.lien-{'a' * 32}.eml"  # its request was deleted once it was queued: nothing composes it
    os.makedirs(os.path.join(data_dir, delivery.QUEUED))
    open(os.path.join(data_dir, delivery.QUEUED, name), "wb").close()
    dangling_link(data_dir, delivery.OUTBOX, name)
    with caplog.at_level(logging.WARNING):
        reconcile(data_dir)
    assert dropped_log(caplog, delivery.OUTBOX, name) == (
        "le courriel n'est pas renvoyé : le porteur doit redemander son lien sur la page « Lien de dossier perdu »")
    assert name not in mail_catch_up.catch_up(record, load_facts(), load_form(), settings())
    assert name not in delivery.pending(data_dir)


def test_a_link_of_a_dossier_no_longer_stored_is_said_to_compose_nothing(data_dir, caplog):
    name = "AMI-2020-0042.accuse.eml"  # its dossier purged, then an old outbox/ restored as links
    dangling_link(data_dir, delivery.OUTBOX, name)
    with caplog.at_level(logging.WARNING):
        assert reconcile(data_dir) == []
    assert dropped_log(caplog, delivery.OUTBOX, name) == ("son dossier n'est plus enregistré : aucun courriel "
                                                          "n'est composé")
