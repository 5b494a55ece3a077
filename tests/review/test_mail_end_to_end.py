"""A real submission to the real collector (gunicorn) while the SMTP server is down, then up; the mailer
process (or `send-mail`) delivers it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from collector.formdef import load_form
from collector.mail.delivery import pending
from collector.stores.outbox_transfer import SENT, WAITING
from tests.review.mailer_process import mailer
from tests.review.smtp import start_smtp
from tests.support.net import free_port
from tests.support.payloads import fetch_hidden, post_form, valid_answers
from tests.support.servers import REPO_ROOT, gunicorn


def collector_env(data_dir: str, smtp_port: int, retry: str) -> dict[str, str]:
    return {
        "COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_SECRET_KEY": "mail-e2e-secret",
        "COLLECTOR_SMTP_HOST": "127.0.0.1", "COLLECTOR_SMTP_PORT": str(smtp_port),
        "COLLECTOR_MAIL_FROM": "AMI Usages numériques <ami@normandie.example>",
        "COLLECTOR_MAIL_RETRY_SECONDS": retry, "COLLECTOR_RATE_LIMIT": "1000/60",
        "COLLECTOR_MIN_FILL_SECONDS": "0", "AMI_NOW": "2021-04-15T10:00:00",
    }


def submit(base_url: str, email: str) -> str:
    answers = valid_answers(load_form())
    answers["contact_email"] = email
    reply = post_form(base_url, answers, fetch_hidden(base_url))
    assert reply.status == 303, reply.text[:500]
    return reply.location.split("/candidater/recu/")[1].split("?")[0]


def wait_until(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def mails(store, state: str) -> list[str]:
    """The names of the store's messages in `state` (a claimed message still waits)."""
    return sorted(message.name for message in store.outbox.messages() if message.state == state)


def test_server_down_then_up_the_running_mailer_retries_and_sends_once(data_dir, store_env, test_store, tmp_path):
    smtp_port = free_port()
    env = {**collector_env(data_dir, smtp_port, retry="1"), **store_env}
    with gunicorn(env, workers=2, log_dir=str(tmp_path)) as server, mailer(env, str(tmp_path)) as running:
        reference = submit(server.base_url, "porteuse.éloïse@example.org")
        assert test_store.has_record(reference)
        wait_until(lambda: mails(test_store, WAITING) == [f"{reference}.accuse.eml", f"{reference}.notification.eml"])
        controller, inbox = start_smtp(smtp_port)
        try:
            arrived = inbox.wait_for(2, timeout=30)
            time.sleep(3)  # three more retry rounds: nothing may be sent again
            assert len(inbox.messages) == 2
        finally:
            controller.stop()
    recipients = sorted(item.recipients[0] for item in arrived)
    assert recipients == ["amenagement.numerique@normandie.fr", "porteuse.éloïse@example.org"]
    ack = [item for item in arrived if "Accusé" in item.message["Subject"]][0]
    assert ack.message["Subject"].startswith(f"Accusé de réception {reference}")
    assert "Reçue le :" in ack.message.get_content() and "numérique" in ack.message.get_content()
    assert mails(test_store, WAITING) == [] and len(mails(test_store, SENT)) == 2
    for log in (server.log(), running.log()):
        assert "Traceback" not in log
        assert "éloïse" not in log, "logs must not hold personal data"


def test_server_down_then_up_the_send_mail_command_delivers_exactly_once(data_dir, tmp_path):
    smtp_port = free_port()
    env = collector_env(data_dir, smtp_port, retry="0")
    with gunicorn(env, workers=2, log_dir=str(tmp_path)) as server:
        references = [submit(server.base_url, f"porteur{n}@example.org") for n in range(2)]
    assert pending(data_dir) == [], "no mailer ran: the web workers queue nothing themselves"
    flask = [os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "collector", "send-mail"]
    run = lambda: subprocess.run(flask, cwd=REPO_ROOT, env={**os.environ, **env}, capture_output=True,  # noqa: E731
                                 text=True, timeout=60)
    down = run()
    assert down.returncode == 1 and "0 envoyé(s), 4 en attente" in down.stdout
    assert "4 e-mail(s) manquant(s) mis en file d'attente." in down.stderr
    controller, inbox = start_smtp(smtp_port)
    try:
        up = run()
        assert up.returncode == 0, up.stderr
        assert up.stdout.strip() == "4 envoyé(s), 0 en attente, 0 refusé(s)."
        again = run()
        assert again.stdout.strip() == "0 envoyé(s), 0 en attente, 0 refusé(s)."
        arrived = inbox.wait_for(4)
    finally:
        controller.stop()
    assert len(arrived) == 4
    assert sorted(item.message["X-AMI-Reference"] for item in arrived) == sorted(references * 2)
