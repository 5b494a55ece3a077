"""The outbox never takes a failure for « already queued », and two senders never send the same
message: a claim never looks stale, and `send-mail` does not send beside a running mailer
(real processes, real SMTP servers on loopback)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import subprocess
import sys
import time

import pytest
from aiosmtpd.controller import Controller

from collector.mail import delivery
from collector.mail.delivery import MailSettings, deliver_outbox, pending
from tests.review.conftest import app, form, make_app, review_env  # noqa: F401 - fixtures
from tests.review.factory import write_records
from tests.review.mailer_process import mailer
from tests.review.smtp import Inbox, smtp_server
from tests.review.test_mail_end_to_end import collector_env
from tests.support.net import free_port
from tests.support.servers import REPO_ROOT

pytestmark = pytest.mark.proof


def settings_for(port: int) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=port, mail_from="AMI <ami@normandie.example>")


def test_a_file_in_place_of_the_outbox_folder_fails_loudly_never_as_already_queued(app, data_dir, form):
    [record] = write_records(data_dir, 1, form)
    with open(os.path.join(data_dir, delivery.OUTBOX), "w", encoding="utf-8") as handle:
        handle.write("not a folder")
    message = delivery.compose_acknowledgement(record, app.config["FACTS"], form, settings_for(25))
    with pytest.raises(OSError, match="outbox/ is not a folder"):
        delivery.queue_message(data_dir, "AMI-2021-0001.accuse.eml", message, record["answers"]["contact_email"])
    assert "AMI-2021-0001.accuse.eml" not in delivery.known_names(data_dir), "nothing remembered as queued"


def test_a_reviewers_message_is_stored_and_its_unqueued_mail_is_logged_then_caught_up(app, data_dir, form, caplog):
    from collector.mail import catch_up as mail_catch_up
    from tests.review.conftest import PASSWORD, csrf_of, login

    write_records(data_dir, 1, form)
    assert app.test_cli_runner().invoke(args=["create-user", "alice", "--password-stdin"],
                                        input=PASSWORD + "\n").exit_code == 0
    reviewer = app.test_client()
    login(reviewer)
    with open(os.path.join(data_dir, delivery.OUTBOX), "w", encoding="utf-8") as handle:
        handle.write("not a folder")
    token = csrf_of(reviewer.get("/instruction/AMI-2021-0001").text)
    with caplog.at_level(logging.ERROR):
        reply = reviewer.post("/instruction/AMI-2021-0001/message", data={"csrf_token": token, "message": "Bonjour."})
    assert reply.status_code == 303
    assert "message-1 of AMI-2021-0001 not queued (OutboxError: outbox/ is not a folder" in caplog.text
    os.unlink(os.path.join(data_dir, delivery.OUTBOX))  # the person who reads the log moves the file away
    queued = mail_catch_up.catch_up(data_dir, app.config["FACTS"], form, settings_for(25))
    assert queued == ["AMI-2021-0001.message-1.eml"]


class SlowInbox(Inbox):
    """Takes three seconds to accept each message: a claim stays in sending/ meanwhile."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(3)
        return await super().handle_DATA(server, session, envelope)


def _sender_whose_claim_is_slow(data_dir: str, port: int, entered: str) -> None:
    """A sender whose first claim pauses for 1.5 s inside its os.utime (a descheduled process)."""
    real_utime = os.utime

    def utime(path, *args, **kwargs):
        if not os.path.exists(entered):
            open(entered, "w").close()
            time.sleep(1.5)
        return real_utime(path, *args, **kwargs)

    os.utime = utime
    try:
        deliver_outbox(data_dir, settings_for(port))
    except OSError:
        pass  # the message was taken by the other sender meanwhile


def _second_sender(data_dir: str, port: int, entered: str) -> None:
    while not os.path.exists(entered):
        time.sleep(0.01)
    deliver_outbox(data_dir, settings_for(port))


def test_a_message_that_waited_long_is_never_sent_by_two_senders(app, data_dir, form, tmp_path):
    [record] = write_records(data_dir, 1, form)
    delivery.queue_message(data_dir, "AMI-2021-0001.accuse.eml",
                           delivery.compose_acknowledgement(record, app.config["FACTS"], form, settings_for(25)),
                           record["answers"]["contact_email"])
    os.utime(os.path.join(data_dir, delivery.OUTBOX, "AMI-2021-0001.accuse.eml"), (0, 0))  # queued long ago
    inbox, port = SlowInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    entered = str(tmp_path / "claiming")
    context = multiprocessing.get_context("fork")
    senders = [context.Process(target=_sender_whose_claim_is_slow, args=(data_dir, port, entered)),
               context.Process(target=_second_sender, args=(data_dir, port, entered))]
    try:
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(60)
    finally:
        controller.stop()
    assert len(inbox.messages) == 1, "one message, one delivery"
    assert pending(data_dir, delivery.SENT) == ["AMI-2021-0001.accuse.eml"] and pending(data_dir, delivery.SENDING) == []


def test_send_mail_sends_nothing_while_a_mailer_runs(app, data_dir, form, tmp_path):
    write_records(data_dir, 2, form)
    unreachable = free_port()  # the mailer's server is down: its mails wait in the outbox
    with smtp_server() as inbox:
        with mailer(collector_env(data_dir, unreachable, retry="60"), str(tmp_path)):
            deadline = time.monotonic() + 30
            while len(pending(data_dir)) < 4 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(pending(data_dir)) == 4
            done = subprocess.run([sys.executable, "-m", "flask", "--app", "collector", "send-mail"], cwd=REPO_ROOT,
                                  env={**os.environ, **collector_env(data_dir, inbox.port, retry="60")},
                                  capture_output=True, text=True, timeout=120)
        time.sleep(1)
        assert inbox.messages == [], "send-mail left the sending to the running mailer"
    assert done.returncode == 0, done.stderr
    assert "Le mailer est en marche" in done.stdout and "Rien n'a été envoyé" in done.stdout
    assert len(pending(data_dir)) == 4


def test_a_records_mails_blocked_by_a_file_in_place_of_the_outbox_are_logged_then_reconciled(app, data_dir, form,
                                                                                          caplog):
    [record] = write_records(data_dir, 1, form)
    with open(os.path.join(data_dir, delivery.OUTBOX), "w", encoding="utf-8") as handle:
        handle.write("not a folder")
    with caplog.at_level(logging.ERROR):
        assert delivery.queue_for_record(data_dir, record, app.config["FACTS"], form, settings_for(25)) == []
    assert "could not compose or queue the accuse message of AMI-2021-0001 (OutboxError: outbox/ is not a folder" \
        in caplog.text
    os.unlink(os.path.join(data_dir, delivery.OUTBOX))
    assert delivery.reconcile(data_dir, app.config["FACTS"], form, settings_for(25)) == [
        "AMI-2021-0001.accuse.eml", "AMI-2021-0001.notification.eml"]
