"""A mail refused for good says why in the log, on both outboxes: its name, the SMTP code and the
server's short reason, with no e-mail address in the line (a real SMTP server on loopback that
quotes the recipient in its refusal, as many do)."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from collector.mail.delivery import MailSettings
from collector.mail.refusals import masked
from tests.stores.test_outbox import store, store_kind  # noqa: F401 - fixtures: each store in turn
from tests.support.net import free_port

RECIPIENT = "jean.dupont@exemple.fr"


class QuotingRefuser:
    """Refuses every recipient for good, quoting the address the way Postfix does."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 - aiosmtpd's hook
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in {address.split('@')[1]}"


@contextmanager
def refusing_server():
    port = free_port()
    controller = Controller(QuotingRefuser(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def letter() -> EmailMessage:
    composed = EmailMessage()
    composed["Subject"], composed["From"], composed["To"] = "Réponse", "ami@example.org", RECIPIENT
    composed.set_content("Bonjour,\n")
    return composed


def test_a_mail_refused_for_good_is_logged_with_its_name_code_and_reason_but_no_address(store, caplog):
    assert store.outbox.queue("AMI-2021-0001.reponse-4.eml", letter(), RECIPIENT)
    with refusing_server() as port, caplog.at_level(logging.WARNING):
        report = store.outbox.deliver(MailSettings(host="127.0.0.1", port=port, mail_from="ami@example.org"))
    assert report.failed == ["AMI-2021-0001.reponse-4.eml"]
    [line] = [record.getMessage() for record in caplog.records if "refused for good" in record.getMessage()]
    assert [record.levelname for record in caplog.records if "refused for good" in record.getMessage()] == ["WARNING"]
    assert "AMI-2021-0001.reponse-4.eml" in line and "SMTP 550" in line
    assert "Recipient address rejected: User unknown" in line
    assert "@" not in line and "jean" not in line and "dupont" not in line


@pytest.mark.parametrize(("reply", "shown"), [
    ("5.1.1 <jean@exemple.fr>: Recipient address rejected", "5.1.1 [adresse masquée]: Recipient address rejected"),
    ("mailbox jean.dupont@exemple.fr is full\r\nsecond line", "mailbox [adresse masquée] is full second line"),
    ("<jean> unknown, (from=ami@xn--rgion-bva.fr)", "[adresse masquée] unknown, ([adresse masquée])"),
])
def test_a_servers_reason_is_one_line_with_its_addresses_masked(reply, shown):
    assert masked(reply) == shown
