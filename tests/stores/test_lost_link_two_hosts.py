"""The lost link on two collector hosts sharing PostgreSQL: two gunicorns (their own data
folders), one database, the mailer of each host and a real SMTP server on loopback.

- a request posted through one host is mailed once, by whichever host's mailer takes it
  (the other host's alone, or both running: FOR UPDATE SKIP LOCKED);
- the limits count across the hosts: the client's 20 requests an hour, the address's 3 mails
  a day, and the porteur mail caps (2 contact changes a day per dossier), whatever host each
  post reaches.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlencode

import psycopg

from collector.formdef import load_form
from collector.porteur.links import dossier_path
from tests.review.mailer_process import mailer
from tests.support.payloads import encode_form, fetch_hidden, form_hidden_fields, post_form, request, valid_answers

from .test_mailers_on_two_hosts import hosts, smtp, wait_until  # noqa: F401 - the two hosts and the SMTP server

FORM = load_form()
SECRET = "la clé des deux hôtes"  # host_env's COLLECTOR_SECRET_KEY
PAGE = "/candidater/dossier-perdu/"
FORM_POST = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1"}
SUBJECT = "Lien de votre dossier"


def submitted(base_url: str, contact: str) -> str:
    reply = post_form(base_url, {**valid_answers(FORM), "contact_email": contact}, fetch_hidden(base_url))
    assert reply.status == 303, reply.text
    return re.search(r"AMI-2021-\d{4}", reply.location).group(0)


def ask(base_url: str, address: str) -> int:
    return request(base_url, "POST", PAGE, urlencode({"contact_email": address}).encode("ascii"), FORM_POST).status


def waiting_requests(database_url: str) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT count(*) FROM link_requests").fetchone()[0]


def link_mails(smtp_inbox) -> Counter:
    """How many lost-link mails each recipient received."""
    return Counter(item.recipients[0] for item in smtp_inbox.messages if item.message["Subject"].startswith(SUBJECT))


def test_a_request_posted_through_one_host_is_mailed_once_by_the_other_hosts_mailer(
        hosts, smtp, database_url, tmp_path):  # noqa: F811 - fixtures
    urls, env, _folders = hosts
    submitted(urls[0], "camille@asso.fr")
    assert ask(urls[0], "CAMILLE@asso.fr") == 200 and waiting_requests(database_url) == 1
    with mailer(env("b"), str(tmp_path), "mailer-b"):
        wait_until(lambda: link_mails(smtp) and waiting_requests(database_url) == 0, timeout=60)
    assert link_mails(smtp) == Counter({"camille@asso.fr": 1})


def test_requests_through_both_hosts_with_both_mailers_running_are_each_mailed_once(
        hosts, smtp, database_url, tmp_path):  # noqa: F811 - fixtures
    urls, env, _folders = hosts
    contacts = [f"porteur{number}@asso.fr" for number in range(6)]
    for number, contact in enumerate(contacts):
        submitted(urls[number % 2], contact)
    with mailer(env("a"), str(tmp_path), "mailer-a"), mailer(env("b"), str(tmp_path), "mailer-b"):
        for number, contact in enumerate(contacts):
            assert ask(urls[number % 2], contact) == 200
        wait_until(lambda: sum(link_mails(smtp).values()) >= len(contacts) and waiting_requests(database_url) == 0,
                   timeout=60)
    assert link_mails(smtp) == Counter({contact: 1 for contact in contacts})


def test_the_lost_link_limits_count_across_both_hosts(hosts, database_url):  # noqa: F811 - a fixture
    urls, _env, _folders = hosts
    replies = [ask(urls[number % 2], f"personne{number}@asso.fr") for number in range(21)]
    assert replies == [200] * 20 + [429], "20 requests an hour per client, whatever host they reach"
    with psycopg.connect(database_url) as connection:
        connection.execute("DELETE FROM rate_hits WHERE limiter = 'lien-client'")  # a new hour for the client
        connection.execute("DELETE FROM link_requests")
    assert [ask(urls[number % 2], "camille@asso.fr") for number in range(5)] == [200] * 5
    assert waiting_requests(database_url) == 3, "3 requests a day per address, whatever host they reach"


def change_contact(base_url: str, reference: str, contact: str) -> int:
    page = request(base_url, "GET", dossier_path(SECRET, reference, "corriger"))
    assert page.status == 200, page.text
    answers = {**valid_answers(FORM), "contact_email": contact}
    return request(base_url, "POST", dossier_path(SECRET, reference, "corriger"),
                   encode_form(answers, form_hidden_fields(page.text)), FORM_POST).status


def test_the_contact_changes_of_a_dossier_are_capped_across_both_hosts(hosts):  # noqa: F811 - a fixture
    urls, _env, _folders = hosts
    reference = submitted(urls[0], "camille@asso.fr")
    replies = [change_contact(urls[number % 2], reference, f"nouvelle{number}@asso.fr") for number in range(3)]
    assert replies == [303, 303, 429], "2 contact changes a day per dossier, whatever host they reach"
