"""The mail outbox (collector/mail/delivery.py) keeps its promises, against a real SMTP server on loopback:
a message is queued once and remembered, the envelope line is exact and read strictly, a claim belongs
to one sender and its age starts when it is taken, stale claims go back to the outbox, and each SMTP
answer sends a message to the right folder (sent, back to the outbox, or failed for good)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from collector.mail import delivery
from collector.addresses import AddressError
from collector.mail.delivery import (ENVELOPE_HEADER, STALE_CLAIM_SECONDS, MailSettings, deliver_outbox, envelope_line,
                            pending, queue_message, read_envelope, release_stale_claims)
from tests.review.smtp import Inbox
from tests.support.net import free_port

RECIPIENT = "porteur@exemple.fr"


def message(subject: str = "Accusé de réception") -> EmailMessage:
    mail_ = EmailMessage()
    mail_["From"] = "ami@normandie.example"
    mail_["To"] = RECIPIENT
    mail_["Subject"] = subject
    mail_.set_content("Bonjour,\nvotre réponse est bien arrivée.\n")
    return mail_


def settings(port: int) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=port, mail_from="AMI <ami@normandie.example>")


def queue(data_dir: str, *names: str, recipient: str = RECIPIENT) -> None:
    for name in names:
        assert queue_message(data_dir, name, message(name), recipient) is True


def in_folder(data_dir: str, folder: str) -> list[str]:
    return pending(data_dir, folder)


@contextmanager
def server(handler, smtputf8: bool = True) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    with server(handler) as port:
        handler.port = port  # type: ignore[attr-defined]
        yield handler


# --- queuing ---------------------------------------------------------------------------------

def test_a_queued_message_is_one_file_its_envelope_line_then_the_message_and_it_is_remembered(data_dir):
    assert queue_message(data_dir, "A.accuse.eml", message(), RECIPIENT) is True
    with open(os.path.join(data_dir, "outbox", "A.accuse.eml"), "rb") as handle:
        raw = handle.read()
    assert raw == b"X-AMI-Envelope-To: porteur@exemple.fr\r\n" + delivery.wire_bytes(message())
    assert in_folder(data_dir, "mail-queued") == ["A.accuse.eml"]
    assert os.path.getsize(os.path.join(data_dir, "mail-queued", "A.accuse.eml")) == 0


@pytest.mark.parametrize("folder", ["outbox", "sending", "sent", "failed", "mail-queued"])
def test_a_message_known_in_any_folder_is_never_queued_again(data_dir, folder):
    os.makedirs(os.path.join(data_dir, folder))
    open(os.path.join(data_dir, folder, "A.accuse.eml"), "wb").close()
    assert queue_message(data_dir, "A.accuse.eml", message(), RECIPIENT) is False
    expected = ["A.accuse.eml"] if folder == "outbox" else []
    assert in_folder(data_dir, "outbox") == expected


def test_a_sent_message_deleted_by_hand_is_never_queued_again(data_dir, inbox):
    queue(data_dir, "A.accuse.eml")
    assert deliver_outbox(data_dir, settings(inbox.port)).sent == ["A.accuse.eml"]
    os.unlink(os.path.join(data_dir, "sent", "A.accuse.eml"))
    assert queue_message(data_dir, "A.accuse.eml", message(), RECIPIENT) is False
    assert in_folder(data_dir, "outbox") == []


def test_an_address_that_is_not_a_bare_one_is_never_queued(data_dir):
    with pytest.raises(AddressError):
        queue_message(data_dir, "A.accuse.eml", message(), "Porteur <porteur@exemple.fr>")
    assert in_folder(data_dir, "outbox") == [] and in_folder(data_dir, "mail-queued") == []


# --- the envelope line -----------------------------------------------------------------------

def test_the_envelope_line_is_our_header_the_normalised_address_and_crlf():
    assert envelope_line("porteur@EXEMPLE.fr") == b"X-AMI-Envelope-To: porteur@exemple.fr\r\n"


def test_reading_the_envelope_gives_the_recipient_and_the_message_after_the_line():
    assert read_envelope(envelope_line(RECIPIENT) + b"Subject: x\r\n\r\nbody\r\n") == (
        RECIPIENT, b"Subject: x\r\n\r\nbody\r\n")


@pytest.mark.parametrize("raw", [
    ENVELOPE_HEADER + RECIPIENT.encode(),  # no end of line: not a line we wrote
    b"Subject: x\r\n" + ENVELOPE_HEADER + RECIPIENT.encode() + b"\r\n",  # not the first line
    b"x-ami-envelope-to: " + RECIPIENT.encode() + b"\r\nSubject: x\r\n",
    ENVELOPE_HEADER + b"porteur@EXEMPLE.fr\r\nSubject: x\r\n",  # not as validated
    ENVELOPE_HEADER + "porteur@exemple.ｆｒ".encode() + b"\r\nSubject: x\r\n",  # sorts after its normal form
    ENVELOPE_HEADER + b"porteur@exempl\xe9.fr\r\nSubject: x\r\n",  # not UTF-8
    ENVELOPE_HEADER + b"\r\nSubject: x\r\n",
])
def test_any_other_first_line_is_refused(raw):
    with pytest.raises(AddressError):
        read_envelope(raw)


# --- claims ----------------------------------------------------------------------------------

def test_a_claim_moves_the_file_to_sending_and_its_age_starts_when_taken(data_dir):
    queue(data_dir, "A.accuse.eml")
    os.utime(os.path.join(data_dir, "outbox", "A.accuse.eml"), (0, 0))  # queued long ago
    before = time.time()
    assert delivery._claim(data_dir, "A.accuse.eml") is True
    assert in_folder(data_dir, "outbox") == [] and in_folder(data_dir, "sending") == ["A.accuse.eml"]
    assert os.stat(os.path.join(data_dir, "sending", "A.accuse.eml")).st_mtime >= before - 1
    assert release_stale_claims(data_dir) == []  # so a fresh claim is never taken for a dead one


def test_a_message_is_claimed_once(data_dir):
    queue(data_dir, "A.accuse.eml")
    assert delivery._claim(data_dir, "A.accuse.eml") is True
    assert delivery._claim(data_dir, "A.accuse.eml") is False
    assert delivery._claim(data_dir, "B.accuse.eml") is False


def age(data_dir: str, name: str, seconds: float, now: float) -> None:
    path = os.path.join(data_dir, "sending", name)
    os.utime(path, (now - seconds, now - seconds))


def claimed(data_dir: str, *names: str) -> None:
    queue(data_dir, *names)
    for name in names:
        assert delivery._claim(data_dir, name)


def test_a_claim_is_stale_from_exactly_its_age_limit(data_dir, monkeypatch):
    now = 1_700_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    claimed(data_dir, "A.accuse.eml", "B.accuse.eml", "C.accuse.eml")
    age(data_dir, "A.accuse.eml", STALE_CLAIM_SECONDS, now)
    age(data_dir, "B.accuse.eml", STALE_CLAIM_SECONDS - 1, now)
    age(data_dir, "C.accuse.eml", 3 * STALE_CLAIM_SECONDS, now)
    assert release_stale_claims(data_dir) == ["A.accuse.eml", "C.accuse.eml"]
    assert in_folder(data_dir, "outbox") == ["A.accuse.eml", "C.accuse.eml"]
    assert in_folder(data_dir, "sending") == ["B.accuse.eml"]


def test_the_age_limit_of_a_claim_can_be_given(data_dir, monkeypatch):
    now = 1_700_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    claimed(data_dir, "A.accuse.eml", "B.accuse.eml")
    age(data_dir, "A.accuse.eml", 30, now)
    age(data_dir, "B.accuse.eml", 29, now)
    assert release_stale_claims(data_dir, older_than=30) == ["A.accuse.eml"]


def test_a_claim_released_meanwhile_by_another_sender_does_not_stop_the_others(data_dir, monkeypatch):
    claimed(data_dir, "A.accuse.eml", "B.accuse.eml")
    for name in ("A.accuse.eml", "B.accuse.eml"):
        os.utime(os.path.join(data_dir, "sending", name), (0, 0))
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        if str(path).endswith(os.path.join("sending", "A.accuse.eml")):
            raise FileNotFoundError(path)  # as if another sender had just given it back
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    assert release_stale_claims(data_dir) == ["B.accuse.eml"]


# --- delivering ------------------------------------------------------------------------------

def test_without_a_server_nothing_moves_and_the_report_says_why(data_dir):
    queue(data_dir, "A.accuse.eml")
    os.makedirs(os.path.join(data_dir, "sending"))
    report = deliver_outbox(data_dir, MailSettings(host=""), stale_after=0)
    assert report.deferred == ["A.accuse.eml"] and report.sent == [] and report.failed == []
    assert report.error == "aucun serveur SMTP configuré (COLLECTOR_SMTP_HOST)"
    assert in_folder(data_dir, "outbox") == ["A.accuse.eml"] and in_folder(data_dir, "sending") == []


def test_an_unreachable_server_defers_everything_and_names_the_error(data_dir):
    queue(data_dir, "A.accuse.eml", "B.accuse.eml")
    report = deliver_outbox(data_dir, settings(free_port()))
    assert report.deferred == ["A.accuse.eml", "B.accuse.eml"] and report.sent == []
    assert report.error == "serveur SMTP injoignable (ConnectionRefusedError)"
    assert in_folder(data_dir, "outbox") == ["A.accuse.eml", "B.accuse.eml"]


def test_an_empty_outbox_does_not_even_reach_for_the_server(data_dir):
    report = deliver_outbox(data_dir, settings(free_port()))
    assert report == delivery.DeliveryReport()


def test_a_stale_claim_is_sent_by_the_next_delivery_and_a_fresh_one_is_left_alone(data_dir, inbox):
    claimed(data_dir, "A.accuse.eml", "B.accuse.eml")
    os.utime(os.path.join(data_dir, "sending", "A.accuse.eml"), (0, 0))
    report = deliver_outbox(data_dir, settings(inbox.port))
    assert report.sent == ["A.accuse.eml"] and report.deferred == []
    assert in_folder(data_dir, "sending") == ["B.accuse.eml"]
    assert deliver_outbox(data_dir, settings(inbox.port), stale_after=0).sent == ["B.accuse.eml"]


def test_each_message_goes_to_its_envelope_recipient_only_from_our_address(data_dir, inbox):
    queue(data_dir, "A.accuse.eml")
    queue(data_dir, "A.notification.eml", recipient="instruction@normandie.example")
    report = deliver_outbox(data_dir, settings(inbox.port))
    assert report == delivery.DeliveryReport(sent=["A.accuse.eml", "A.notification.eml"])
    arrived = inbox.wait_for(2)
    assert [(item.mail_from, item.recipients) for item in arrived] == [
        ("ami@normandie.example", [RECIPIENT]), ("ami@normandie.example", ["instruction@normandie.example"])]
    assert all("X-AMI-Envelope-To" not in item.message for item in arrived)
    assert in_folder(data_dir, "sent") == ["A.accuse.eml", "A.notification.eml"]
    assert in_folder(data_dir, "outbox") == [] and in_folder(data_dir, "sending") == []


def test_a_message_claimed_by_another_sender_meanwhile_is_skipped_and_the_next_is_sent(data_dir, inbox, monkeypatch):
    queue(data_dir, "A.accuse.eml", "B.accuse.eml")
    real_rename = os.rename

    def rename(source, target, *args, **kwargs):
        if str(source).endswith(os.path.join("outbox", "A.accuse.eml")):
            real_rename(source, target)  # another sender took it first: ours then finds nothing
        return real_rename(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    report = deliver_outbox(data_dir, settings(inbox.port))
    assert report == delivery.DeliveryReport(sent=["B.accuse.eml"])
    assert len(inbox.wait_for(1)) == 1


class Answering(Inbox):
    """A server that answers some recipients, or some messages, with a given SMTP code."""

    def __init__(self, rcpt: dict[str, str] | None = None, data: dict[str, str] | None = None) -> None:
        super().__init__()
        self.rcpt, self.data = rcpt or {}, data or {}

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address in self.rcpt:
            return self.rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        for marker, answer in self.data.items():
            if marker.encode() in envelope.content:
                return answer
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.parametrize("answer, folder", [
    ("550 Utilisateur inconnu", "failed"),
    ("500 Refus", "failed"),  # every 5xx is permanent
    ("451 Réessayez plus tard", "outbox"),
    ("499 Réessayez plus tard", "outbox"),
])
def test_a_refused_recipient_is_set_aside_for_good_only_on_a_5xx(data_dir, answer, folder):
    queue(data_dir, "A.accuse.eml", recipient="refuse@exemple.fr")
    queue(data_dir, "B.accuse.eml")
    handler = Answering(rcpt={"refuse@exemple.fr": answer})
    with server(handler) as port:
        report = deliver_outbox(data_dir, settings(port))
    assert report.sent == ["B.accuse.eml"]
    assert (report.failed, report.deferred) == ((["A.accuse.eml"], []) if folder == "failed" else ([], ["A.accuse.eml"]))
    assert report.error == ""
    assert in_folder(data_dir, folder) == ["A.accuse.eml"] and in_folder(data_dir, "sending") == []
    assert [item.recipients for item in handler.messages] == [[RECIPIENT]]


@pytest.mark.parametrize("answer, folder", [("554 Message refusé", "failed"), ("452 Boîte pleine", "outbox")])
def test_a_refused_message_is_set_aside_for_good_only_on_a_5xx(data_dir, answer, folder):
    queue(data_dir, "A.accuse.eml", "B.accuse.eml")
    handler = Answering(data={"Subject: A.accuse.eml": answer})
    with server(handler) as port:
        report = deliver_outbox(data_dir, settings(port))
    assert report.sent == ["B.accuse.eml"]
    assert (report.failed, report.deferred) == ((["A.accuse.eml"], []) if folder == "failed" else ([], ["A.accuse.eml"]))
    assert in_folder(data_dir, folder) == ["A.accuse.eml"]


def test_an_internationalised_address_goes_out_with_smtputf8(data_dir, inbox):
    queue(data_dir, "A.accuse.eml", recipient="élodie@exemple.fr")
    assert deliver_outbox(data_dir, settings(inbox.port)).sent == ["A.accuse.eml"]
    assert inbox.wait_for(1)[0].recipients == ["élodie@exemple.fr"]


def test_an_internationalised_address_to_a_server_without_smtputf8_is_set_aside(data_dir):
    queue(data_dir, "A.accuse.eml", recipient="élodie@exemple.fr")
    queue(data_dir, "B.accuse.eml")
    handler = Inbox()
    with server(handler, smtputf8=False) as port:
        report = deliver_outbox(data_dir, settings(port))
    assert report == delivery.DeliveryReport(sent=["B.accuse.eml"], failed=["A.accuse.eml"])
    assert in_folder(data_dir, "failed") == ["A.accuse.eml"]


def test_a_name_in_the_outbox_that_is_not_a_regular_file_is_set_aside_unopened(data_dir, inbox):
    os.makedirs(os.path.join(data_dir, "outbox"))
    os.mkfifo(os.path.join(data_dir, "outbox", "A.accuse.eml"))
    queue(data_dir, "B.accuse.eml")
    report = deliver_outbox(data_dir, settings(inbox.port))
    assert report == delivery.DeliveryReport(sent=["B.accuse.eml"], failed=["A.accuse.eml"])
    assert in_folder(data_dir, "failed") == ["A.accuse.eml"]


class Hanging(Inbox):
    """A server that drops the connection when a message's data arrives."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        server.transport.close()
        return "250 OK"


def test_a_connection_lost_while_sending_puts_the_message_back_and_stops(data_dir):
    queue(data_dir, "A.accuse.eml", "B.accuse.eml")
    with server(Hanging()) as port:
        report = deliver_outbox(data_dir, settings(port))
    assert report.sent == [] and report.failed == []
    assert report.deferred == ["A.accuse.eml", "B.accuse.eml"]
    assert report.error == "envoi interrompu (SMTPServerDisconnected)"
    assert in_folder(data_dir, "outbox") == ["A.accuse.eml", "B.accuse.eml"] and in_folder(data_dir, "sending") == []


def test_a_message_queued_meanwhile_by_another_process_is_not_queued_twice(data_dir, monkeypatch):
    """Both checked that the name was free; the other process published its file first."""
    real_link = os.link

    def link(source, target, *args, **kwargs):
        if str(target).endswith(os.path.join("outbox", "A.accuse.eml")):
            with open(target, "wb") as other:
                other.write(b"the other process's copy")
        return real_link(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "link", link)
    assert queue_message(data_dir, "A.accuse.eml", message(), RECIPIENT) is False
    assert in_folder(data_dir, "outbox") == ["A.accuse.eml"]
    with open(os.path.join(data_dir, "outbox", "A.accuse.eml"), "rb") as handle:
        assert handle.read() == b"the other process's copy"


class Polite(Inbox):
    """Counts the sessions that end with QUIT."""

    quits = 0

    async def handle_QUIT(self, server, session, envelope):  # noqa: N802
        self.quits += 1
        return "221 Bye"


def test_the_sender_ends_its_session_with_quit(data_dir):
    queue(data_dir, "A.accuse.eml")
    handler = Polite()
    with server(handler) as port:
        assert deliver_outbox(data_dir, settings(port)).sent == ["A.accuse.eml"]
    assert handler.quits == 1  # the client waits for the answer to its QUIT


def test_a_file_set_aside_for_its_envelope_line_is_named_in_the_log_without_its_address(data_dir, inbox, caplog):
    os.makedirs(os.path.join(data_dir, "outbox"))
    with open(os.path.join(data_dir, "outbox", "A.accuse.eml"), "wb") as handle:
        handle.write(b"To: porteur@exemple.fr\r\n\r\nBonjour\r\n")
    assert deliver_outbox(data_dir, settings(inbox.port)) == delivery.DeliveryReport(failed=["A.accuse.eml"])
    assert "mail: A.accuse.eml has no valid envelope line, set aside in failed/" in caplog.text
    assert "porteur@" not in caplog.text


class RefusingThenDropping(Answering):
    """Answers 451 to one recipient, and drops the connection when a message's data arrives."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        server.transport.close()
        return "250 OK"


def test_the_deferred_are_listed_in_the_order_they_were_tried_then_those_never_tried(data_dir):
    queue(data_dir, "A.accuse.eml", recipient="plus-tard@exemple.fr")
    queue(data_dir, "B.accuse.eml", "C.accuse.eml")
    with server(RefusingThenDropping(rcpt={"plus-tard@exemple.fr": "451 Réessayez plus tard"})) as port:
        report = deliver_outbox(data_dir, settings(port))
    assert report.deferred == ["A.accuse.eml", "B.accuse.eml", "C.accuse.eml"]
    assert report.error == "envoi interrompu (SMTPServerDisconnected)"
