"""Two gunicorn collectors (3 workers each, their own data folders) sharing one PostgreSQL
database, posted to at once: references stay unique and follow each other, a submission
sent to both hosts at once makes one record, a receipt opens on either host, and the
rate limit counts the posts of both."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from collector.formdef import load_form
from tests.support.payloads import fetch_hidden, post_form, request, valid_answers
from tests.support.servers import gunicorn

FORM = load_form()


def host_env(database_url: str, data_dir: str, **extra: str) -> dict[str, str]:
    return {"COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_DATABASE_URL": database_url,
            "COLLECTOR_SECRET_KEY": "la clé des deux hôtes", "COLLECTOR_PUBLIC_URL": "http://127.0.0.1:8000",
            "COLLECTOR_ALLOWED_ORIGINS": "http://127.0.0.1", "AMI_NOW": "2021-04-15T10:00:00",
            "COLLECTOR_MIN_FILL_SECONDS": "0", "COLLECTOR_RATE_LIMIT": "100000/600", "COLLECTOR_SMTP_HOST": "",
            **extra}


@pytest.fixture
def two_hosts(database_url, tmp_path):
    def start(**extra: str):
        hosts = []
        for name in "ab":
            folder = tmp_path / f"hote-{name}"
            folder.mkdir()
            hosts.append(gunicorn(host_env(database_url, str(folder), **extra), workers=3, log_dir=str(tmp_path)))
        return hosts
    return start


def references_in(database_url: str) -> list[str]:
    with psycopg.connect(database_url) as connection:
        return [row[0] for row in connection.execute("SELECT reference FROM records ORDER BY reference")]


def test_sixty_posts_over_two_hosts_get_sixty_sequential_references_and_receipts_open_on_both(two_hosts,
                                                                                             database_url):
    first, second = two_hosts()
    with first as host_a, second as host_b:
        urls = [host_a.base_url, host_b.base_url]

        def submit(number: int):
            url = urls[number % 2]
            answers = {**valid_answers(FORM), "projet_titre": f"Projet numéro {number}"}
            return post_form(url, answers, fetch_hidden(urls[(number + 1) % 2]))  # page from one, post to the other

        with ThreadPoolExecutor(max_workers=12) as pool:
            replies = list(pool.map(submit, range(60)))
        assert [reply.status for reply in replies] == [303] * 60
        references = [re.search(r"AMI-2021-\d{4}", reply.location).group(0) for reply in replies]
        assert sorted(references) == references_in(database_url) == [f"AMI-2021-{n:04d}" for n in range(1, 61)]
        for url in urls:  # a receipt made by either host opens on both
            receipt = request(url, "GET", replies[7].location)
            assert receipt.status == 200 and "Projet numéro 7" in receipt.text


def test_one_submission_sent_to_both_hosts_at_once_makes_one_record(two_hosts, database_url):
    first, second = two_hosts()
    with first as host_a, second as host_b:
        hidden = fetch_hidden(host_a.base_url)
        barrier = threading.Barrier(8)

        def send(number: int):
            barrier.wait()
            return post_form((host_a, host_b)[number % 2].base_url, valid_answers(FORM), hidden)

        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(send, range(8)))
    assert {reply.status for reply in replies} == {303}
    assert len({reply.location for reply in replies}) == 1
    assert references_in(database_url) == ["AMI-2021-0001"]


def test_the_rate_limit_counts_the_posts_of_both_hosts(two_hosts, database_url):
    first, second = two_hosts(COLLECTOR_RATE_LIMIT="5/600")
    with first as host_a, second as host_b:
        urls = [host_a.base_url, host_b.base_url]
        hiddens = [fetch_hidden(urls[0]) for _ in range(12)]
        barrier = threading.Barrier(12)

        def send(number: int):
            barrier.wait()
            return post_form(urls[number % 2], valid_answers(FORM), hiddens[number])

        with ThreadPoolExecutor(max_workers=12) as pool:
            replies = list(pool.map(send, range(12)))
    assert sorted(reply.status for reply in replies) == [303] * 5 + [429] * 7
    assert len(references_in(database_url)) == 5
