"""Against a real gunicorn with 3 workers: concurrent posts, double posts, a shared rate limit.
The module's server runs on each store `--store` names (tests/support/server_store.py)."""

from __future__ import annotations

import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from collector.formdef import load_form
from collector.mail.delivery import KINDS
from tests.review.mailer_process import mailer
from tests.support.net import free_port
from tests.support.payloads import fetch_hidden, post_form, valid_answers
from tests.support.server_store import new_server_store, server_store, server_store_kind  # noqa: F401 - fixtures
from tests.support.servers import gunicorn
from tests.support.stores import store_opener

FORM = load_form()


def collector_env(data_dir: str, port: int, **extra: str) -> dict[str, str]:
    return {"COLLECTOR_DATA_DIR": data_dir, "COLLECTOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "AMI_NOW": "2021-04-15T10:00:00", "COLLECTOR_MIN_FILL_SECONDS": "0",
            "COLLECTOR_RATE_LIMIT": "100000/600", "COLLECTOR_SMTP_HOST": "", **extra}


@pytest.fixture(scope="module")
def server(server_store, tmp_path_factory):
    port = free_port()
    env = collector_env(server_store.data_dir, port, **server_store.env)
    logs = str(tmp_path_factory.mktemp("logs"))
    with mailer(env, logs), gunicorn(env, workers=3, port=port, log_dir=logs) as running:  # as deployed
        running.data_dir, running.store = server_store.data_dir, server_store
        yield running


def stored(server):
    return server.store.records()


def submit_one(base_url: str, number: int):
    answers = {**valid_answers(FORM), "projet_titre": f"Projet numéro {number}",
               "contact_email": f"porteur{number}@example.org"}  # a porteur each, as on a deadline night
    return post_form(base_url, answers, fetch_hidden(base_url))


def test_sixty_concurrent_posts_get_sixty_distinct_sequential_references(server):
    before = len(stored(server))
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(pool.map(lambda n: submit_one(server.base_url, n), range(60)))
    assert [reply.status for reply in replies] == [303] * 60
    references = [re.search(r"AMI-2021-\d{4}", reply.location).group(0) for reply in replies]
    assert len(set(references)) == 60
    records = [record for record in stored(server) if record["reference"] in references]
    assert sorted(record["reference"] for record in records) == sorted(references)
    numbers = sorted(int(ref.rsplit("-", 1)[1]) for ref in references)
    assert numbers == list(range(numbers[0], numbers[0] + 60))
    titles = {record["answers"]["projet_titre"] for record in records}
    assert titles == {f"Projet numéro {n}" for n in range(60)}
    wait_for_mails_queued(server.store, references)
    tmp = os.path.join(server.data_dir, "tmp")  # the host's temporary files, where it writes any
    assert not os.path.isdir(tmp) or os.listdir(tmp) == []


def wait_for_mails_queued(store, references: list[str], timeout: float = 30.0) -> None:
    """The mailer beside the workers queues two messages per record shortly after the answer."""
    deadline = time.monotonic() + timeout
    while not {f"{ref}.{kind}.eml" for ref in references for kind in KINDS} <= store.queued_names():
        assert time.monotonic() < deadline, "mails not queued in time"
        time.sleep(0.1)


def test_the_same_submission_sent_eight_times_at_once_makes_one_record(server):
    before = len(stored(server))
    hidden = fetch_hidden(server.base_url)
    barrier = threading.Barrier(8)

    def send(_):
        barrier.wait()
        return post_form(server.base_url, valid_answers(FORM), hidden)

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(send, range(8)))
    assert {reply.status for reply in replies} == {303}
    assert len({reply.location for reply in replies}) == 1
    assert len(stored(server)) == before + 1


def test_json_double_post_answers_201_then_200_with_the_same_reference(server):
    hidden = fetch_hidden(server.base_url)
    first = post_form(server.base_url, valid_answers(FORM), hidden, json=True)
    second = post_form(server.base_url, valid_answers(FORM), hidden, json=True)
    assert (first.status, second.status) == (201, 200)
    assert first.json()["reference"] == second.json()["reference"]


def test_the_receipt_is_served_by_any_worker(server):
    reply = submit_one(server.base_url, 999)
    from tests.support.payloads import request
    receipt = request(server.base_url, "GET", reply.location)
    assert receipt.status == 200 and "Projet numéro 999" in receipt.text
    assert "Content-Security-Policy" in {k.title(): v for k, v in receipt.headers.items()}


def test_the_log_names_references_and_outcomes_but_no_personal_data(server):
    log = server.log()
    assert "stored: AMI-2021-" in log
    for personal in ("camille.lefevre@example.org", "Camille Lefèvre", "02 31 90 17 26"):
        assert personal not in log


def test_the_rate_limit_holds_across_workers(data_dir, store_kind, store_env, request, tmp_path):
    port = free_port()
    env = collector_env(data_dir, port, COLLECTOR_RATE_LIMIT="5/600", COLLECTOR_SECRET_KEY="gunicorn-tests-secret",
                        **store_env)
    with gunicorn(env, workers=3, port=port, log_dir=str(tmp_path)) as running:
        hiddens = [fetch_hidden(running.base_url) for _ in range(12)]
        barrier = threading.Barrier(12)

        def send(hidden):
            barrier.wait()
            return post_form(running.base_url, valid_answers(FORM), hidden)

        with ThreadPoolExecutor(max_workers=12) as pool:
            replies = list(pool.map(send, hiddens))
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [303] * 5 + [429] * 7
    refused = [reply for reply in replies if reply.status == 429]
    assert all(int(reply.headers["retry-after"]) > 0 for reply in refused)
    assert "Trop d" in refused[0].text
    kept = store_opener(store_kind, data_dir, request)()
    try:
        assert len(kept.references()) == 5
    finally:
        kept.close()
