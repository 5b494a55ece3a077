"""E-mail: acknowledgement and notification through a durable outbox, delivered to a real SMTP server."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from collector.mail.delivery import MailSettings, compose_acknowledgement, deliver_outbox, pending, queue_for_record
from tests.review.factory import write_records
from tests.review.smtp import smtp_server
from tests.support.net import free_port


@pytest.fixture
def smtp():
    with smtp_server() as inbox:
        yield inbox


def settings_for(port: int, **extra) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=port, mail_from="AMI Usages numériques <ami@normandie.example>",
                        public_url="https://ami.example", **extra)


@pytest.fixture
def facts(app):
    return app.config["FACTS"]


def queue_all(data_dir, records, facts, form, settings):
    for record in records:
        queue_for_record(data_dir, record, facts, form, settings)


def test_each_record_queues_an_acknowledgement_and_a_notification_once(data_dir, form, facts):
    record = write_records(data_dir, 1, form)[0]
    settings = settings_for(25)
    assert queue_for_record(data_dir, record, facts, form, settings) == [
        "AMI-2021-0001.accuse.eml", "AMI-2021-0001.notification.eml"]
    assert queue_for_record(data_dir, record, facts, form, settings) == []
    assert pending(data_dir) == ["AMI-2021-0001.accuse.eml", "AMI-2021-0001.notification.eml"]


def test_an_accented_domain_reaches_a_relay_without_smtputf8_under_its_ascii_name(data_dir, form, facts):
    """Many relays offer no SMTPUTF8: an address whose local part is ASCII goes out with its domain's
    IDNA A-label (RFC 5890), in the envelope and the To header alike; never set aside as undeliverable."""
    from aiosmtpd.controller import Controller

    from tests.review.smtp import Inbox

    record = write_records(data_dir, 1, form)[0]
    record["answers"]["contact_email"] = "contact@mairie-évreux.fr"
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=False)
    controller.start()
    try:
        queue_for_record(data_dir, record, facts, form, settings_for(port))
        report = deliver_outbox(data_dir, settings_for(port))
    finally:
        controller.stop()
    assert report.failed == [] and len(report.sent) == 2
    [ack] = [item for item in inbox.messages if item.recipients != [facts["contacts"]["notification_email"]]]
    assert ack.recipients == ["contact@xn--mairie-vreux-heb.fr"]
    assert ack.message["To"] == "contact@xn--mairie-vreux-heb.fr"


def test_what_arrives_reads_right(data_dir, form, facts, smtp):
    record = write_records(data_dir, 1, form)[0]
    settings = settings_for(smtp.port)
    queue_for_record(data_dir, record, facts, form, settings)
    report = deliver_outbox(data_dir, settings)
    assert sorted(report.sent) == ["AMI-2021-0001.accuse.eml", "AMI-2021-0001.notification.eml"]
    arrived = {item.message["Message-ID"]: item for item in smtp.wait_for(2)}

    ack = arrived["<AMI-2021-0001.accuse@normandie.example>"]
    assert ack.recipients == [record["answers"]["contact_email"]]
    assert ack.mail_from == "ami@normandie.example"
    assert ack.message["Subject"] == f"Accusé de réception AMI-2021-0001 — {facts['call']['short_title']}"
    assert ack.message["Date"] and ack.message["Reply-To"] is None
    body = ack.message.get_content().replace("\r\n", "\n")
    assert "Référence : AMI-2021-0001" in body
    assert "Reçue le : lundi 29 mars 2021 à 16 h 00 (heure de Paris)" in body
    assert "Si vous n'êtes pas à l'origine de cette réponse, ignorez ce message." in body
    for typed in ("projet_titre", "raison_sociale", "contact_nom", "description"):  # answers: on the dossier page
        assert record["answers"][typed] not in body
    for step in facts["calendar"]["steps"][1:]:  # received on 29 March: every step but the opening is to come
        assert step["label"] in body
    for person in facts["contacts"]["people"]:
        assert f"{person['name']} : {person['phone']}, {person['email']}" in body

    notice = arrived["<AMI-2021-0001.notification@normandie.example>"]
    assert notice.recipients == [facts["contacts"]["notification_email"]]
    assert record["answers"]["raison_sociale"] in notice.message["Subject"]
    text = notice.message.get_content().replace("\r\n", "\n")
    assert "https://ami.example/instruction/AMI-2021-0001" in text
    assert form.choice_label("thematiques", record["answers"]["thematiques"][0]) in text
    assert record["derived"]["departement"]["name"] in text


def test_the_acknowledgement_points_to_the_dossier_page_like_every_mail_of_the_dossiers_life(data_dir, form, facts):
    from collector.mail import lifecycle
    from collector.porteur.links import dossier_url

    record = write_records(data_dir, 1, form)[0]
    settings = settings_for(25, dossier_secret="ack-secret")
    ack = compose_acknowledgement(record, facts, form, settings)
    assert ack["Reply-To"] is None, "no reply by mail: exchanges go through the dossier page"
    body = ack.get_payload(decode=True).decode("utf-8")
    assert dossier_url("https://ami.example", "ack-secret", "AMI-2021-0001") in body
    assert lifecycle.WHERE_TO_ANSWER in body and "vous pouvez y répondre" not in body
    for person in facts["contacts"]["people"]:
        assert f"{person['name']} : {person['phone']}, {person['email']}" in body
    without_link = compose_acknowledgement(record, facts, form, settings_for(25)).get_payload(decode=True).decode()
    assert "n'y répondez pas" in without_link and "contacts ci-dessous" in without_link


def test_the_acknowledgement_relays_no_text_typed_in_the_form_to_the_unconfirmed_address(data_dir, form, facts):
    """Anyone may post the form with anyone's address: the Région's sender must not carry their words."""
    from collector.mail import delivery

    record = write_records(data_dir, 1, form)[0]
    lure = "Votre remboursement est bloqué : confirmez sur https://leurre.example/confirmer"
    for typed in ("raison_sociale", "contact_nom", "projet_titre", "description", "partenaires"):
        record["answers"][typed] = lure
    ack = compose_acknowledgement(record, facts, form, settings_for(25, dossier_secret="ack-secret"))
    body = ack.get_payload(decode=True).decode("utf-8")
    assert "leurre" not in body and "leurre" not in str(ack["Subject"])
    assert body.startswith("Bonjour,\n") and delivery.NOT_YOURS in body and "Référence : AMI-2021-0001" in body
    assert "vos réponses telles que nous les avons enregistrées" in body


def test_the_acknowledgement_lists_only_the_steps_still_to_come_when_the_answers_arrived(data_dir, form, facts):
    record = {**write_records(data_dir, 1, form)[0], "received_at": "2021-06-02T10:00:00+02:00"}
    body = compose_acknowledgement(record, facts, form, settings_for(25)).get_payload(decode=True).decode("utf-8")
    assert "Analyse des retours et échanges : juin 2021" in body and "Retour aux répondants" in body
    assert "Lancement de la consultation" not in body and "Date limite des réponses" not in body


def test_delivered_mails_move_to_sent_and_are_never_sent_twice(data_dir, form, facts, smtp):
    settings = settings_for(smtp.port)
    queue_all(data_dir, write_records(data_dir, 3, form), facts, form, settings)
    assert len(deliver_outbox(data_dir, settings).sent) == 6
    assert len(deliver_outbox(data_dir, settings).sent) == 0
    assert pending(data_dir) == [] and len(pending(data_dir, "sent")) == 6
    assert len(smtp.wait_for(6)) == 6


def test_requeuing_a_sent_record_sends_nothing_more(data_dir, form, facts, smtp):
    settings = settings_for(smtp.port)
    records = write_records(data_dir, 1, form)
    queue_all(data_dir, records, facts, form, settings)
    deliver_outbox(data_dir, settings)
    queue_all(data_dir, records, facts, form, settings)
    assert deliver_outbox(data_dir, settings).sent == []
    assert len(smtp.wait_for(2)) == 2


def test_server_down_keeps_the_mails_in_the_outbox(data_dir, form, facts):
    settings = settings_for(free_port())
    queue_all(data_dir, write_records(data_dir, 2, form), facts, form, settings)
    report = deliver_outbox(data_dir, settings)
    assert report.sent == [] and len(report.deferred) == 4
    assert "serveur SMTP injoignable" in report.error
    assert len(pending(data_dir)) == 4


def _deliver(data_dir: str, port: int) -> None:
    deliver_outbox(data_dir, settings_for(port))


def test_two_senders_at_once_send_each_mail_exactly_once(data_dir, form, facts, smtp):
    settings = settings_for(smtp.port)
    queue_all(data_dir, write_records(data_dir, 15, form), facts, form, settings)
    context = multiprocessing.get_context("fork")
    senders = [context.Process(target=_deliver, args=(data_dir, smtp.port)) for _ in range(3)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(60)
    ids = [item.message["Message-ID"] for item in smtp.wait_for(30)]
    assert len(ids) == len(set(ids)) == 30
    assert len(pending(data_dir, "sent")) == 30 and pending(data_dir) == []


def test_a_claim_left_by_a_dead_sender_is_sent_again_later(data_dir, form, facts, smtp):
    settings = settings_for(smtp.port)
    queue_all(data_dir, write_records(data_dir, 1, form), facts, form, settings)
    os.makedirs(os.path.join(data_dir, "sending"))
    os.rename(os.path.join(data_dir, "outbox", "AMI-2021-0001.accuse.eml"),
              os.path.join(data_dir, "sending", "AMI-2021-0001.accuse.eml"))  # claimed, then the process died
    assert deliver_outbox(data_dir, settings).sent == ["AMI-2021-0001.notification.eml"]
    old = os.path.join(data_dir, "sending", "AMI-2021-0001.accuse.eml")
    os.utime(old, (0, 0))
    assert deliver_outbox(data_dir, settings).sent == ["AMI-2021-0001.accuse.eml"]
    assert len(smtp.wait_for(2)) == 2


def test_a_permanent_refusal_is_set_aside_not_retried_forever(data_dir, form, facts):
    from aiosmtpd.controller import Controller

    class Refuser:
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
            return "550 No such user"

    port = free_port()
    controller = Controller(Refuser(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = settings_for(port)
        queue_all(data_dir, write_records(data_dir, 1, form), facts, form, settings)
        report = deliver_outbox(data_dir, settings)
    finally:
        controller.stop()
    assert sorted(report.failed) == ["AMI-2021-0001.accuse.eml", "AMI-2021-0001.notification.eml"]
    assert pending(data_dir) == [] and len(pending(data_dir, "failed")) == 2


def test_send_mail_command_reports_and_delivers(runner, data_dir, form, facts, smtp, monkeypatch):
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COLLECTOR_SMTP_PORT", str(smtp.port))
    queue_all(data_dir, write_records(data_dir, 2, form), facts, form, MailSettings.from_env())
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "4 envoyé(s), 0 en attente, 0 refusé(s)."
    assert len(smtp.wait_for(4)) == 4


def test_send_mail_without_a_server_says_so(runner, data_dir, form, facts):
    queue_all(data_dir, write_records(data_dir, 1, form), facts, form, MailSettings.from_env())
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 1
    assert "0 envoyé(s), 2 en attente" in result.stdout
    assert "aucun serveur SMTP configuré (COLLECTOR_SMTP_HOST)" in result.stderr


@pytest.mark.parametrize(("sender", "named"), [
    ("", "COLLECTOR_MAIL_FROM est vide"),  # what deploy/collector.env.example shipped: « ne-pas-repondre@localhost »
    ("AMI <ne-pas-repondre@localhost>", "COLLECTOR_MAIL_FROM='AMI <ne-pas-repondre@localhost>' n'a pas de domaine"),
    ("ami@serveur", "n'a pas de domaine valable"),
    ("ne-pas-repondre", "n'a pas de domaine valable"),
])
@pytest.mark.parametrize("command", ["send-mail", "mailer"])
def test_with_a_server_the_mailer_and_send_mail_refuse_a_sender_without_a_real_domain(
        runner, data_dir, form, facts, smtp, monkeypatch, sender, named, command):
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COLLECTOR_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("COLLECTOR_MAIL_FROM", sender)
    queue_all(data_dir, write_records(data_dir, 1, form), facts, form, MailSettings.from_env())
    result = runner.invoke(args=[command])
    assert result.exit_code == 1 and named in result.output
    assert "COLLECTOR_MAIL_FROM=\"AMI Usages numériques <ne-pas-repondre@normandie.fr>\"" in result.output
    assert len(pending(data_dir)) == 2  # nothing sent, nothing lost


def test_without_a_server_an_empty_sender_only_waits_like_the_mails(runner, data_dir, form, facts, monkeypatch):
    monkeypatch.setenv("COLLECTOR_MAIL_FROM", "")
    queue_all(data_dir, write_records(data_dir, 1, form), facts, form, MailSettings.from_env())
    result = runner.invoke(args=["send-mail"])
    assert "0 envoyé(s), 2 en attente" in result.stdout and "COLLECTOR_MAIL_FROM" not in result.output


@pytest.mark.parametrize("environ, message", [
    ({"COLLECTOR_SMTP_PORT": "vingt-cinq"}, "COLLECTOR_SMTP_PORT='vingt-cinq' : nombre attendu."),
    ({"COLLECTOR_MAIL_RETRY_SECONDS": "-5"}, "COLLECTOR_MAIL_RETRY_SECONDS='-5' : nombre positif attendu."),
])
def test_unusable_mail_settings_are_named_in_french(environ, message):
    from collector.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        MailSettings.from_env(environ)
    assert str(caught.value) == message


def test_mail_settings_from_the_environment():
    settings = MailSettings.from_env({"COLLECTOR_SMTP_HOST": " smtp.region.example ", "COLLECTOR_SMTP_PORT": "587",
                                      "COLLECTOR_SMTP_STARTTLS": "1", "COLLECTOR_MAIL_FROM": "AMI <ami@region.example>"})
    assert (settings.host, settings.port, settings.starttls, settings.mail_from) == (
        "smtp.region.example", 587, True, "AMI <ami@region.example>")
    assert "secret" not in repr(MailSettings(password="secret"))


def test_send_mail_catches_up_on_a_record_whose_mails_were_never_queued(runner, data_dir, form, facts, smtp,
                                                                       monkeypatch):
    """The collector died between storing the record and queuing its mails: nothing is lost."""
    monkeypatch.setenv("COLLECTOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COLLECTOR_SMTP_PORT", str(smtp.port))
    records = write_records(data_dir, 2, form)
    queue_for_record(data_dir, records[0], facts, form, MailSettings.from_env())
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "2 e-mail(s) manquant(s) mis en file d'attente." in result.stderr
    assert result.stdout.strip() == "4 envoyé(s), 0 en attente, 0 refusé(s)."
    assert sorted(item.message["X-AMI-Reference"] for item in smtp.wait_for(4)) == [
        "AMI-2021-0001", "AMI-2021-0001", "AMI-2021-0002", "AMI-2021-0002"]
    assert runner.invoke(args=["send-mail"]).stdout.strip() == "0 envoyé(s), 0 en attente, 0 refusé(s)."
