"""A dossier's life after « reçu » on two collector hosts sharing PostgreSQL: two gunicorns
(3 workers each, their own data folders), one database. Whatever host a porteur or the
Région goes through, every event lands in the dossier's one history, in order, nothing lost
when both hosts write at once, and each correction is its own version."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from collector.dossier import all_versions
from collector.formdef import load_form
from collector.porteur.dossier_caps import MESSAGES
from collector.porteur.links import dossier_path
from collector.statuses import read_history
from collector.stores.postgres import PostgresStore
from tests.support.payloads import Reply, encode_form, fetch_hidden, form_hidden_fields, post_form, request, valid_answers
from tests.support.servers import REPO_ROOT, gunicorn

from .test_two_hosts import host_env

FORM = load_form()
SECRET = "la clé des deux hôtes"  # host_env's COLLECTOR_SECRET_KEY
FORM_POST = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://127.0.0.1"}


@pytest.fixture
def hosts(database_url, tmp_path):
    """Two running hosts (A, B) and their environments."""
    envs = []
    for name in "ab":
        folder = tmp_path / f"hote-{name}"
        folder.mkdir()
        envs.append(host_env(database_url, str(folder)))
    with gunicorn(envs[0], workers=3, log_dir=str(tmp_path)) as host_a, \
            gunicorn(envs[1], workers=3, log_dir=str(tmp_path)) as host_b:
        yield (host_a, envs[0]), (host_b, envs[1])


@pytest.fixture
def shared(database_url):
    """The shared store, read as a third host would."""
    store = PostgresStore(database_url)
    store.pool.open()
    yield store
    store.close()


def submitted(base_url: str, title: str = "Projet des deux hôtes") -> str:
    reply = post_form(base_url, {**valid_answers(FORM), "projet_titre": title}, fetch_hidden(base_url))
    assert reply.status == 303, reply.text
    return re.search(r"AMI-2021-\d{4}", reply.location).group(0)


def correct(base_url: str, reference: str, title: str) -> Reply:
    page = request(base_url, "GET", dossier_path(SECRET, reference, "corriger"))
    assert page.status == 200, page.text
    answers = {**valid_answers(FORM), "projet_titre": title}
    return request(base_url, "POST", dossier_path(SECRET, reference, "corriger"),
                   encode_form(answers, form_hidden_fields(page.text)), FORM_POST)


def reply(base_url: str, reference: str, text: str) -> Reply:
    return request(base_url, "POST", dossier_path(SECRET, reference, "repondre"),
                   urlencode({"message": text}).encode("ascii"), FORM_POST)


def region_writes(env: dict[str, str], reference: str, text: str) -> None:
    """The `message` command, run on a host (its environment)."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "collector", "message", reference, text,
                             "--by", "alice"], cwd=REPO_ROOT, env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_correction_through_host_a_and_a_message_through_host_b_land_in_one_history_in_order(hosts, shared):
    (host_a, _env_a), (host_b, env_b) = hosts
    reference = submitted(host_a.base_url)
    corrected = correct(host_a.base_url, reference, "Titre corrigé sur l'hôte A")
    assert corrected.status == 303 and corrected.location.endswith("&fait=correction")
    region_writes(env_b, reference, "Pouvez-vous préciser le budget ?")
    answered = reply(host_b.base_url, reference, "Le budget est de 12 000 euros.")
    assert answered.status == 303 and answered.location.endswith("&fait=message#confirmation")

    events = read_history(shared, reference)["events"]
    assert [(event["kind"], event["by"]) for event in events] == [
        ("correction", "porteur"), ("message", "alice"), ("reponse_porteur", "porteur")]
    assert events[0]["version"] == 2 and events[2]["text"] == "Le budget est de 12 000 euros."
    assert [version["answers"]["projet_titre"] for version in all_versions(shared, reference)] == [
        "Projet des deux hôtes", "Titre corrigé sur l'hôte A"]
    for base_url in (host_a.base_url, host_b.base_url):  # either host shows the whole thread
        page = request(base_url, "GET", dossier_path(SECRET, reference)).text
        assert "Titre corrigé sur l&#39;hôte A" in page and "Pouvez-vous préciser le budget ?" in page
        assert "Le budget est de 12 000 euros." in page and "Version 2 (la plus récente de 2)" in page


def test_replies_posted_to_both_hosts_at_once_are_kept_up_to_the_dossiers_cap_counted_across_hosts(hosts, shared):
    (host_a, env_a), (host_b, _env_b) = hosts
    reference = submitted(host_b.base_url)
    region_writes(env_a, reference, "Une question ?")
    each = 15
    barrier = threading.Barrier(8)

    def send(number: int) -> int:
        if number < 8:
            barrier.wait()
        base_url = (host_a, host_b)[number % 2].base_url
        return reply(base_url, reference, f"Réponse {number} par l'hôte {'AB'[number % 2]}").status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(2 * each)))
    cap = MESSAGES.per_hour  # collector/porteur/dossier_caps.py: one count for every host
    assert sorted(statuses) == [303] * cap + [429] * (2 * each - cap)
    events = read_history(shared, reference)["events"]
    assert [event["kind"] for event in events] == ["message"] + ["reponse_porteur"] * cap
    sent = {f"Réponse {number} par l'hôte {'AB'[number % 2]}" for number in range(2 * each)}
    assert len({event["text"] for event in events[1:]} & sent) == cap, "each kept reply is whole, none twice"


def test_corrections_sent_to_both_hosts_at_once_each_make_their_own_version(hosts, shared):
    (host_a, _env_a), (host_b, _env_b) = hosts
    reference = submitted(host_a.base_url, "Titre d'origine")
    titles = [f"Correction {number} par l'hôte {'AB'[number % 2]}" for number in range(8)]
    barrier = threading.Barrier(len(titles))

    def send(number: int) -> Reply:
        base_url = (host_a, host_b)[number % 2].base_url
        page = request(base_url, "GET", dossier_path(SECRET, reference, "corriger"))
        body = encode_form({**valid_answers(FORM), "projet_titre": titles[number]}, form_hidden_fields(page.text))
        barrier.wait()
        return request(base_url, "POST", dossier_path(SECRET, reference, "corriger"), body, FORM_POST)

    with ThreadPoolExecutor(max_workers=len(titles)) as pool:
        replies = list(pool.map(send, range(len(titles))))
    assert [answer.status for answer in replies] == [303] * len(titles)
    versions = all_versions(shared, reference)
    assert [version["version"] for version in versions] == list(range(1, len(titles) + 2))
    assert sorted(version["answers"]["projet_titre"] for version in versions[1:]) == sorted(titles)
    corrections = [event for event in read_history(shared, reference)["events"] if event["kind"] == "correction"]
    assert sorted(event["version"] for event in corrections) == list(range(2, len(titles) + 2))
