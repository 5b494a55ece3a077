"""After a burst the mailer sends each batch while it composes the next, keeping every promise of the outbox.

A real SMTP server on loopback; the mailer's own code (`Mailer.queue_new_records`) in this process.
The server holds the first message it receives until the next batch is in the outbox (or gives up
after a while): a mailer that sends a batch before composing the next can never see it there.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

from aiosmtpd.controller import Controller

from collector.mail import delivery
from collector.mail.delivery import QUEUE_BATCH_RECORDS, QUEUED, SENDING, SENT, MailSettings, pending
from collector.mail.mailer import SENDER_THREADS, Mailer
from tests.review.factory import write_records
from tests.review.mailer_process import RUNNING, start_mailer
from tests.review.smtp import Inbox
from tests.review.test_mail_batches import a_new_mailer_sends_the_rest, each_message_sent_once
from tests.review.test_mail_end_to_end import collector_env
from tests.support.net import free_port
from tests.support.servers import stop_process_group

HOLD_SECONDS = 30  # how long the server waits for the next batch before letting the first message through


def reference(number: int) -> str:
    return f"AMI-2021-{number:04d}"


class HoldsFirstMessage(Inbox):
    """Answers the first message only once `ready()` is true (or HOLD_SECONDS passed); says which."""

    def __init__(self, ready) -> None:
        super().__init__()
        self.ready = ready
        self.ready_while_first_was_sent: bool | None = None
        self.sessions = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 - aiosmtpd's hook
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.ready_while_first_was_sent is None:
            deadline = time.monotonic() + HOLD_SECONDS
            while not self.ready() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            self.ready_while_first_was_sent = self.ready()
        return await super().handle_DATA(server, session, envelope)


def test_the_next_batch_is_composed_while_the_first_is_being_sent(app, data_dir, form):
    records = 2 * QUEUE_BATCH_RECORDS + 10
    write_records(data_dir, records, form)
    second_batch = os.path.join(data_dir, QUEUED, delivery.message_name(reference(QUEUE_BATCH_RECORDS + 1), "accuse"))
    inbox = HoldsFirstMessage(lambda: os.path.exists(second_batch))
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        mailer = Mailer(data_dir, app.config["FACTS"], form,
                        MailSettings(host="127.0.0.1", port=controller.port, mail_from="AMI <ami@normandie.example>"))
        assert mailer.queue_new_records() == 2 * records
    finally:
        controller.stop()
    assert inbox.ready_while_first_was_sent, "the second batch was queued while the first message was being sent"
    assert len(pending(data_dir, SENT)) == 2 * records and not pending(data_dir) and not pending(data_dir, SENDING), \
        "every message sent before queue_new_records returns"
    message_ids = [item.message["Message-ID"] for item in inbox.messages]
    assert len(message_ids) == len(set(message_ids)) == 2 * records, "each message sent once"
    assert inbox.sessions <= SENDER_THREADS * -(-records // QUEUE_BATCH_RECORDS), \
        "a connection serves many messages: at most one per sender thread and batch"


def test_a_mailer_killed_after_composing_before_sending_loses_nothing_and_sends_each_mail_once(data_dir, tmp_path,
                                                                                               form):
    """A burst's records reach a running mailer; SIGKILL while the server holds the first message: the
    batches composed but not sent wait in the outbox; a new mailer sends them, each once (those in
    flight at the kill, one per sender thread, wait as claims)."""
    records = 2 * QUEUE_BATCH_RECORDS + 10
    second_batch = os.path.join(data_dir, QUEUED, delivery.message_name(reference(QUEUE_BATCH_RECORDS + 1), "accuse"))
    inbox = HoldsFirstMessage(lambda: os.path.exists(second_batch))
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        env = collector_env(data_dir, controller.port, retry="60")  # no catch-up but at start
        first = start_mailer(env, str(tmp_path), "first")
        try:
            first.wait_for_log(RUNNING)
            write_records(data_dir, records, form)  # the burst, taken up by the running mailer after a lull
            deadline = time.monotonic() + 60
            while not os.path.exists(second_batch):
                assert time.monotonic() < deadline, first.log()
                time.sleep(0.05)
            stop_process_group(first.process, signal.SIGKILL, timeout=10)  # composed, not sent
        finally:
            stop_process_group(first.process, signal.SIGKILL, timeout=10)
        assert len(pending(data_dir)) >= 2 * QUEUE_BATCH_RECORDS, "composed batches wait in the outbox"
        a_new_mailer_sends_the_rest(env, str(tmp_path), data_dir, 2 * records, timeout=120)
    finally:
        controller.stop()
    each_message_sent_once(inbox, data_dir, records, in_flight=SENDER_THREADS)
