"""After a burst, the mailer's sender threads each keep one SMTP connection from batch to batch.

A real SMTP server on loopback counts the sessions it opens (one EHLO each); the mailer's own code
(`Mailer.queue_new_records`, `deliver_outbox` with `KeptConnections`) runs in this process.
"""

from __future__ import annotations

from aiosmtpd.controller import Controller

from collector.mail.delivery import (QUEUE_BATCH_RECORDS, SENT, KeptConnections, MailSettings, deliver_outbox, pending,
                            queue_message)
from collector.mail.mailer import SENDER_THREADS, Mailer
from tests.review.factory import write_records
from tests.review.smtp import Inbox
from tests.review.test_outbox_promises import message
from tests.support.net import free_port


class CountsSessions(Inbox):
    """Keeps every message, and counts the SMTP sessions opened (EHLO)."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd's hook
        self.sessions += 1
        session.host_name = hostname
        return responses


def settings(port: int) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=port, mail_from="AMI <ami@normandie.example>")


def test_a_bursts_batches_go_through_one_smtp_connection_per_sender_thread(app, data_dir, form):
    records = 3 * QUEUE_BATCH_RECORDS + 10  # four batches, each delivered by its own rounds
    write_records(data_dir, records, form)
    inbox = CountsSessions()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        mailer = Mailer(data_dir, app.config["FACTS"], form, settings(controller.port))
        assert mailer.queue_new_records() == 2 * records
    finally:
        controller.stop()
    assert len(pending(data_dir, SENT)) == 2 * records and not pending(data_dir)
    message_ids = [item.message["Message-ID"] for item in inbox.messages]
    assert len(message_ids) == len(set(message_ids)) == 2 * records, "each message sent once"
    assert 1 <= inbox.sessions <= SENDER_THREADS, "a sender thread keeps its connection from one round to the next"


def test_a_kept_connection_the_server_closed_is_replaced_and_the_round_sends_everything(data_dir):
    port = free_port()
    inbox = CountsSessions()
    connections = KeptConnections()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        queue_message(data_dir, "AMI-2021-0001.accuse.eml", message("Premier"), "porteur@example.org")
        assert len(deliver_outbox(data_dir, settings(port), connections=connections).sent) == 1
    finally:
        controller.stop()  # the server goes away: the kept connection is dead
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        queue_message(data_dir, "AMI-2021-0002.accuse.eml", message("Second"), "porteur@example.org")
        report = deliver_outbox(data_dir, settings(port), connections=connections)
        connections.close()
    finally:
        controller.stop()
    assert report.sent == ["AMI-2021-0002.accuse.eml"] and not report.error and not report.deferred
    assert [item.message["Subject"] for item in inbox.messages] == ["Premier", "Second"]
    assert inbox.sessions == 2
