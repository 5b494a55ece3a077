"""Mail on several hosts: two gunicorn collectors (their own data folders) sharing one PostgreSQL
database, the mailer of each host (`flask --app collector mailer`) and a real SMTP server on
loopback.

What is promised, and proved here:
- every acknowledgement and notification of a submission made through either host arrives
  once, whichever host's mailer sends it (claims by FOR UPDATE SKIP LOCKED);
- a mailer SIGKILLed mid-delivery holds one claim, the message in flight: the other host's
  mailer sends every other message meanwhile, once; the message in flight goes out when the
  killed host's mailer starts again (it takes back its host's claims at once; any mailer
  would after STALE_CLAIM_SECONDS). If the SMTP server had already taken it when the mailer
  was killed, it arrives twice: that one message, never another.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from contextlib import ExitStack

import psycopg
import pytest
from aiosmtpd.controller import Controller

from collector.formdef import load_form
from tests.review.mailer_process import mailer, start_mailer
from tests.review.smtp import Inbox
from tests.support.net import free_port
from tests.support.payloads import fetch_hidden, post_form, valid_answers
from tests.support.servers import gunicorn

from .test_two_hosts import host_env

FORM = load_form()
SUBMISSIONS = 8


class SlowInbox(Inbox):
    """Takes `delay` seconds to accept each message, as a busy server does: a mailer killed
    meanwhile dies with a message in flight."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)

    def names(self) -> Counter:
        """How many times each message (by its Message-ID, made from its outbox name) arrived."""
        with self._lock:
            return Counter(item.message["Message-ID"].strip("<>").split("@")[0] for item in self.messages)


@pytest.fixture
def smtp(request):
    inbox = SlowInbox(getattr(request, "param", 0.0))
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def wait_until(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {check.__name__}")
        time.sleep(0.05)


def submit_alternating(urls: list[str], count: int) -> list[str]:
    references = []
    for number in range(count):
        answers = {**valid_answers(FORM), "projet_titre": f"Projet numéro {number}",
                   "contact_email": f"porteur{number}@example.org"}  # each its own: no daily cap reached
        reply = post_form(urls[number % 2], answers, fetch_hidden(urls[(number + 1) % 2]))
        assert reply.status == 303, reply.text
        references.append(reply.location.split("/")[-1].split("?")[0])
    return references


def outbox_rows(database_url: str) -> list[tuple[str, str | None, bool]]:
    """(name without .eml, claimed_by, sent) of every message."""
    with psycopg.connect(database_url) as connection:
        return [(name[:-len(".eml")], claimed_by, sent) for name, claimed_by, sent in connection.execute(
            "SELECT name, claimed_by, sent_at IS NOT NULL FROM outbox ORDER BY name")]


def expected_names(references: list[str]) -> set[str]:
    return {f"{reference}.{kind}" for reference in references for kind in ("accuse", "notification")}


@pytest.fixture
def hosts(database_url, tmp_path, smtp):
    """Two collector hosts; `env(name)` is the environment of host `name` (its mailer's too)."""
    folders = {name: tmp_path / f"hote-{name}" for name in "ab"}
    for folder in folders.values():
        folder.mkdir()

    def env(name: str) -> dict[str, str]:
        return host_env(database_url, str(folders[name]), COLLECTOR_SMTP_HOST="127.0.0.1",
                        COLLECTOR_SMTP_PORT=str(smtp.port), COLLECTOR_MAIL_RETRY_SECONDS="1")

    with ExitStack() as stack:
        urls = [stack.enter_context(gunicorn(env(name), workers=1, log_dir=str(tmp_path))).base_url for name in "ab"]
        yield urls, env, folders


def test_each_mail_of_submissions_through_two_hosts_arrives_once_with_a_mailer_per_host(
        hosts, smtp, database_url, tmp_path):
    urls, env, _folders = hosts
    with mailer(env("a"), str(tmp_path), "mailer-a"), mailer(env("b"), str(tmp_path), "mailer-b"):
        references = submit_alternating(urls, SUBMISSIONS)
        wait_until(lambda: all(sent for _name, _by, sent in outbox_rows(database_url)), timeout=60)
    arrived = smtp.names()
    assert set(arrived) == expected_names(references) and set(arrived.values()) == {1}
    recipients = Counter(item.recipients[0] for item in smtp.messages)
    assert all(recipients[f"porteur{number}@example.org"] == 1 for number in range(SUBMISSIONS))  # an acknowledgement each
    assert len(recipients) == SUBMISSIONS + 1  # … and one notification each, to the Région's address


@pytest.mark.parametrize("smtp", [0.25], indirect=True)
def test_a_mailer_killed_mid_delivery_leaves_one_message_to_its_restart_and_the_other_host_sends_the_rest(
        hosts, smtp, database_url, tmp_path):
    urls, env, folders = hosts
    references = submit_alternating(urls, SUBMISSIONS)  # 16 messages waiting, queued with their records
    killed = start_mailer(env("a"), str(tmp_path), "mailer-a")

    def a_is_sending() -> bool:
        return len(smtp.messages) >= 3 and any(by and str(folders["a"]) in by for _n, by, _s in outbox_rows(database_url))

    wait_until(a_is_sending, timeout=60)
    os.killpg(killed.process.pid, signal.SIGKILL)
    killed.process.wait()
    in_flight = [name for name, by, sent in outbox_rows(database_url) if by and str(folders["a"]) in by]
    assert len(in_flight) == 1  # the dead mailer holds one claim: the message it was sending

    with mailer(env("b"), str(tmp_path), "mailer-b"):  # the other host's mailer sends every other one
        wait_until(lambda: [name for name, _by, sent in outbox_rows(database_url) if not sent] == in_flight,
                   timeout=60)
    assert in_flight[0] not in smtp.names() or smtp.names()[in_flight[0]] == 1

    with mailer(env("a"), str(tmp_path), "mailer-a-again") as restarted:  # its restart sends the one in flight
        wait_until(lambda: all(sent for _name, _by, sent in outbox_rows(database_url)), timeout=60)
        assert "claimed by a mailer of this host that stopped" in restarted.log()
    arrived = smtp.names()
    assert set(arrived) == expected_names(references)
    assert {name for name, times in arrived.items() if times > 1} <= set(in_flight)  # none twice but that one
    assert max(arrived.values()) <= 2
