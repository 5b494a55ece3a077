"""A mail of the dossier's life whose queueing failed after its event was stored is queued
again by the mailer's catch-up and sent exactly once (os.link into outbox/ failing, then a
real mailer process and a real SMTP server on loopback)."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from collector import meetings
from collector.mail import catch_up as mail_catch_up, delivery
from collector.statuses import change_status, read_history
from tests.review.mailer_process import mailer
from tests.review.smtp import smtp_server
from tests.review.test_mail_end_to_end import collector_env

from .conftest import CLOSED_NOW, SECRET, outbox, review_post
from .test_answers import JULY
from .test_corrections import corrected, send_correction
from .test_meetings import SLOTS


@contextmanager
def outbox_writes_failing(data_dir: str) -> Iterator[None]:
    """Every publication of a file into outbox/ fails as on a full disk (the rest of the folder works)."""
    real_link = os.link
    outbox_folder = os.path.join(os.path.abspath(data_dir), delivery.OUTBOX)

    def link(source, target, *args, **kwargs):
        if os.path.dirname(os.path.abspath(target)) == outbox_folder:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_link(source, target, *args, **kwargs)

    os.link = link
    try:
        yield
    finally:
        os.link = real_link


def send_a_message(reviewer, client, data_dir, monkeypatch):
    return review_post(reviewer, "AMI-2021-0001", "message", message="Pouvez-vous préciser le budget ?")


def send_an_answer(reviewer, client, data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", JULY)
    change_status(data_dir, "AMI-2021-0001", "en_instruction", by="alice")
    change_status(data_dir, "AMI-2021-0001", "sans_suite", by="alice", note="Projet hors du champ de l'AMI.")
    return review_post(reviewer, "AMI-2021-0001", "reponse", motivation="Projet hors du champ de l'AMI.")


def propose_a_meeting(reviewer, client, data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    return review_post(reviewer, "AMI-2021-0001", "rencontre", **SLOTS)


def correct_the_answers(reviewer, client, data_dir, monkeypatch):
    record = {"answers": read_answers(data_dir)}
    return send_correction(client, corrected(record, projet_titre="Titre corrigé"))


def read_answers(data_dir):
    from collector.dossier import latest_record

    return dict(latest_record(data_dir, "AMI-2021-0001")["answers"])


EVENTS = {
    "message au porteur": (send_a_message, "message-1", "porteur"),
    "lettre de réponse": (send_an_answer, "reponse-3", "porteur"),
    "proposition de rencontre": (propose_a_meeting, "rencontre-1-proposee", "porteur"),
    "accusé de correction": (correct_the_answers, "accuse-v2", "porteur"),
}


@pytest.mark.parametrize("event", list(EVENTS))
def test_a_lifecycle_mail_lost_after_its_event_was_stored_is_sent_once_by_the_mailer(
        event, app, reviewer, client, records, data_dir, monkeypatch, tmp_path):
    act, kind, _recipient = EVENTS[event]
    name = delivery.message_name("AMI-2021-0001", kind)
    with outbox_writes_failing(data_dir):
        reply = act(reviewer, client, data_dir, monkeypatch)
    assert reply.status_code == 303, "the stored event is confirmed although its mail was not queued"
    assert read_history(data_dir, "AMI-2021-0001")["events"], "the event is stored"
    assert name not in delivery.known_names(data_dir), "its mail is neither queued nor remembered"

    with smtp_server() as inbox:
        env = {**collector_env(data_dir, inbox.port, retry="1"), "COLLECTOR_SECRET_KEY": SECRET}
        with mailer(env, str(tmp_path)) as running:
            message_id = delivery._message_id("AMI-2021-0001", kind, delivery.MailSettings(mail_from=env["COLLECTOR_MAIL_FROM"]))

            def arrived():
                return [item for item in inbox.messages if item.message["Message-ID"] == message_id]

            deadline = time.monotonic() + 30
            while not arrived() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(3)  # three more catch-up rounds (every second): nothing may be queued again
            assert running.stop() == 0
    [delivered] = arrived()
    assert delivered.recipients == [read_answers(data_dir)["contact_email"]]
    assert name in delivery.pending(data_dir, delivery.SENT) and name not in outbox(data_dir)
    assert "queued again" in running.log()


def test_a_meeting_mail_is_not_caught_up_once_the_meeting_moved_on(app, reviewer, records, data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)
    with outbox_writes_failing(data_dir):
        assert review_post(reviewer, "AMI-2021-0001", "rencontre", **SLOTS).status_code == 303
    assert review_post(reviewer, "AMI-2021-0001", "rencontre/1/annuler").status_code == 303
    assert meetings.meetings_of(read_history(data_dir, "AMI-2021-0001"))[0].state == meetings.CANCELLED
    settings = delivery.MailSettings(dossier_secret=SECRET)
    assert mail_catch_up.catch_up(data_dir, app.config["FACTS"], app.config["FORM"], settings) == []
    names = set(outbox(data_dir))
    assert "AMI-2021-0001.rencontre-1-annulee.eml" in names
    assert "AMI-2021-0001.rencontre-1-proposee.eml" not in names, "a proposal already cancelled is never sent late"


def test_the_catch_up_queues_nothing_when_every_mail_was_queued(app, reviewer, client, records, data_dir):
    review_post(reviewer, "AMI-2021-0001", "message", message="Une question.")
    send_correction(client, corrected({"answers": read_answers(data_dir)}, projet_titre="Autre titre"))
    before = sorted(outbox(data_dir))
    settings = delivery.MailSettings(dossier_secret=SECRET)
    assert mail_catch_up.catch_up(data_dir, app.config["FACTS"], app.config["FORM"], settings) == []
    assert sorted(outbox(data_dir)) == before


def test_a_hand_broken_meeting_event_holds_back_no_other_dossiers_mail(app, reviewer, records, data_dir, caplog):
    from collector.statuses import add_event

    add_event(data_dir, "AMI-2021-0002", {"at": "2021-06-01T10:00:00+02:00", "by": "alice",
                                          "kind": "rencontre_proposee"})  # no slots: written by hand, say
    with outbox_writes_failing(data_dir):
        assert review_post(reviewer, "AMI-2021-0001", "message", message="Une question.").status_code == 303
    settings = delivery.MailSettings(dossier_secret=SECRET)
    queued = mail_catch_up.catch_up(data_dir, app.config["FACTS"], app.config["FORM"], settings)
    assert queued == ["AMI-2021-0001.message-1.eml"]
    assert "the mails of AMI-2021-0002 wait" in caplog.text
