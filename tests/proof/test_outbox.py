"""The outbox remembers what it queued, whatever happens to the files in sent/ and failed/;
`send-mail` says by its exit code when mails were refused for good; `purge` leaves nothing
of a purged reference (real SMTP servers on loopback, the real commands)."""

from __future__ import annotations

import os

import pytest
from aiosmtpd.controller import Controller

from collector import idempotency
from collector.mail import delivery
from collector.mail.delivery import FAILED, SENDING, SENT, MailSettings, deliver_outbox, pending, queue_for_record, reconcile
from tests.review.conftest import app, form, make_app, review_env, runner  # noqa: F401 - fixtures
from tests.review.factory import write_records
from tests.review.test_mail import smtp  # noqa: F401 - fixture: a real SMTP server on loopback
from tests.support.net import free_port

pytestmark = pytest.mark.proof


class Refuser:
    """An SMTP server that refuses every recipient for good (550)."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 - aiosmtpd's hook
        return "550 No such user"


@pytest.fixture
def refusing_smtp():
    port = free_port()
    controller = Controller(Refuser(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def settings_for(port: int) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=port, mail_from="AMI <ami@normandie.example>")


def test_a_mail_deleted_from_sent_is_never_sent_again(app, data_dir, form, smtp):
    settings = settings_for(smtp.port)
    facts = app.config["FACTS"]
    [record] = write_records(data_dir, 1, form)
    queue_for_record(data_dir, record, facts, form, settings)
    assert len(deliver_outbox(data_dir, settings).sent) == 2
    for name in pending(data_dir, SENT):
        os.unlink(os.path.join(data_dir, SENT, name))  # a person tidies sent/ by hand
    assert reconcile(data_dir, facts, form, settings) == []
    assert queue_for_record(data_dir, record, facts, form, settings) == []
    assert deliver_outbox(data_dir, settings).sent == []
    assert len(smtp.messages) == 2


def test_a_mail_deleted_from_failed_is_never_queued_again(app, data_dir, form, refusing_smtp):
    settings = settings_for(refusing_smtp)
    facts = app.config["FACTS"]
    [record] = write_records(data_dir, 1, form)
    queue_for_record(data_dir, record, facts, form, settings)
    assert len(deliver_outbox(data_dir, settings).failed) == 2
    for name in pending(data_dir, FAILED):
        os.unlink(os.path.join(data_dir, FAILED, name))
    assert reconcile(data_dir, facts, form, settings) == []
    assert pending(data_dir) == []


def test_mails_sent_before_the_outbox_had_a_memory_are_remembered_by_the_next_round(app, data_dir, form, smtp):
    settings = settings_for(smtp.port)
    facts = app.config["FACTS"]
    [record] = write_records(data_dir, 1, form)
    queue_for_record(data_dir, record, facts, form, settings)
    deliver_outbox(data_dir, settings)
    for name in os.listdir(os.path.join(data_dir, delivery.QUEUED)):  # a data folder from before the memory
        os.unlink(os.path.join(data_dir, delivery.QUEUED, name))
    assert reconcile(data_dir, facts, form, settings) == []
    for name in pending(data_dir, SENT):
        os.unlink(os.path.join(data_dir, SENT, name))
    assert reconcile(data_dir, facts, form, settings) == []


def test_send_mail_exits_non_zero_when_mails_are_refused_for_good(runner, data_dir, form, refusing_smtp,
                                                                  monkeypatch):
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COLLECTOR_SMTP_PORT", str(refusing_smtp))
    write_records(data_dir, 1, form)
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 1
    assert result.stdout.strip() == "0 envoyé(s), 0 en attente, 2 refusé(s)."
    assert "Refusé définitivement : AMI-2021-0001.accuse.eml" in result.stderr


def test_purge_removes_mails_being_sent_and_the_ids_links_of_purged_references(runner, app, data_dir, form):
    settings = settings_for(25)
    records = write_records(data_dir, 3, form)
    for record in records:
        queue_for_record(data_dir, record, app.config["FACTS"], form, settings)
    assert delivery._claim(data_dir, "AMI-2021-0001.accuse.eml")  # a sender holds it right now
    for number in (1, 3):
        idempotency.claim(data_dir, f"envoi-{number}", f"AMI-2021-000{number}")
    months = app.config["FACTS"]["legal"]["retention_months"]
    today = f"{2021 + (3 + months) // 12}-{(3 + months) % 12 or 12:02d}-30"  # purges 0001 and 0002

    result = runner.invoke(args=["purge", "--today", today])
    assert result.exit_code == 0, result.output
    left = [name for folder in ("outbox", SENDING, SENT, FAILED, delivery.QUEUED) for name in pending(data_dir, folder)]
    assert not [name for name in left if name.startswith(("AMI-2021-0001", "AMI-2021-0002"))], left
    assert [name for name in left if name.startswith("AMI-2021-0003")]
    assert idempotency.lookup(data_dir, "envoi-1") is None
    assert idempotency.lookup(data_dir, "envoi-3") == "AMI-2021-0003"
