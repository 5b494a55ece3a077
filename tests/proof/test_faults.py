"""Faults: workers killed in the middle of a load and leftovers of interrupted writes (on each store
`--store` names), a full disk (the data folder's), a database that goes away (PostgreSQL's)."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.proof.support import (fill_disk, load_records, proof_env, sample_answers, submit, tmp_leftovers,
                                 worker_pids)
from tests.support.net import free_port
from tests.support.payloads import fetch_hidden, post_form, request
from tests.support.server_store import ServerStore, wait_until_healthy
from tests.support.servers import gunicorn

pytestmark = pytest.mark.proof

MARKER_FIELD = "projet_titre"


def kill_workers_repeatedly(master_pid: int, stop: threading.Event, killed: list[int], rounds: int = 6,
                            pause: float = 1.5) -> None:
    """SIGKILL every worker of the master, `rounds` times, while the load runs."""
    for _ in range(rounds):
        if stop.wait(pause):
            return
        for pid in worker_pids(master_pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass


def test_workers_killed_mid_load_lose_no_acknowledged_submission(data_dir, store_env, tmp_path):
    answers = sample_answers()
    port = free_port()
    store = ServerStore.of_test(data_dir, store_env)
    env = {**proof_env(data_dir, port), **store.env}
    killed: list[int] = []
    with gunicorn(env, workers=3, port=port, log_dir=str(tmp_path)) as server:
        stop = threading.Event()
        killer = threading.Thread(target=kill_workers_repeatedly, args=(server.process.pid, stop, killed))
        killer.start()
        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(
                lambda number: submit(server.base_url, answers, MARKER_FIELD, f"Sous la hache n° {number}"),
                range(1500)))
        stop.set()
        killer.join()
        after = submit(server.base_url, answers, MARKER_FIELD, "Après les coupures")
    assert killed, "no worker was killed"
    assert after.status == 201, "the master did not bring workers back"

    acknowledged = [outcome for outcome in outcomes + [after] if 200 <= outcome.status < 300]
    assert all(outcome.status in (0, 201) or 400 <= outcome.status < 600 for outcome in outcomes)
    with store.opened() as kept:
        records = load_records(data_dir, kept)  # nothing partial: every published record parses and validates
    for outcome in acknowledged:
        assert outcome.reference in records, f"{outcome.reference} was acknowledged but is not stored"
        assert records[outcome.reference]["answers"][MARKER_FIELD] == outcome.marker
    markers = [record["answers"][MARKER_FIELD] for record in records.values()]
    assert len(markers) == len(set(markers)), "one submission was stored twice"

    # Leftovers of interrupted writes (planted, as a crash leaves them) are swept at start.
    tmp = os.path.join(data_dir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    long_ago = time.time() - 2 * 3600
    for number in range(3):
        planted = os.path.join(tmp, f"{time.time_ns()}.{number}.interrupted")
        with open(planted, "w", encoding="utf-8") as handle:
            handle.write("reference: AMI-2021-99\nanswers:\n  projet_titre: moiti")
        os.utime(planted, (long_ago, long_ago))
    port = free_port()
    with gunicorn({**proof_env(data_dir, port), **store.env}, workers=3, port=port, log_dir=str(tmp_path)) as server:
        assert tmp_leftovers(data_dir) == []
        again = submit(server.base_url, answers, MARKER_FIELD, "Après le redémarrage")
    assert again.status == 201
    assert again.reference not in records, "a reference was handed out twice"
    with store.opened() as kept:
        assert set(load_records(data_dir, kept)) == set(records) | {again.reference}


def submissions_on_disk(data_dir: str) -> list[str]:
    folder = os.path.join(data_dir, "submissions")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_a_full_disk_gives_a_french_503_stores_nothing_partial_and_recovers(small_disk, tmp_path):
    data_dir = small_disk
    answers = sample_answers()
    port = free_port()
    with gunicorn(proof_env(data_dir, port), workers=2, port=port, log_dir=str(tmp_path)) as server:
        first = submit(server.base_url, answers, MARKER_FIELD, "Avant le disque plein")
        assert first.status == 201
        forms = [fetch_hidden(server.base_url) for _ in range(3)]  # tokens taken before the disk fills

        filler = fill_disk(data_dir)
        page = post_form(server.base_url, {**answers, MARKER_FIELD: "Disque plein (page)"}, forms[0],
                         headers={"Origin": server.base_url})
        as_json = post_form(server.base_url, {**answers, MARKER_FIELD: "Disque plein (JSON)"}, forms[1],
                            json=True, headers={"Origin": server.base_url})
        assert page.status == 503
        assert page.headers["content-type"].startswith("text/html")
        assert re.search(r'<html[^>]* lang="fr"', page.text)
        assert "Traceback" not in page.text
        assert as_json.status == 503
        assert submissions_on_disk(data_dir) == [first.reference + ".yaml"]
        assert tmp_leftovers(data_dir) == [], "a partial write was left behind"

        os.remove(filler)  # space comes back; no restart
        later = post_form(server.base_url, {**answers, MARKER_FIELD: "Après le disque plein"}, forms[2],
                          json=True, headers={"Origin": server.base_url})
        assert later.status == 201, later.text
        fresh = submit(server.base_url, answers, MARKER_FIELD, "Nouvel envoi")
        assert fresh.status == 201
    records = load_records(data_dir)
    assert set(records) == {first.reference, later.json()["reference"], fresh.reference}


def test_healthz_on_a_full_disk_answers_503_and_leaves_nothing_in_tmp(small_disk, monkeypatch):
    for name, value in proof_env(small_disk, 8000).items():
        monkeypatch.setenv(name, value)
    from collector import create_app

    client = create_app().test_client()
    assert client.get("/healthz").status_code == 200
    filler = fill_disk(small_disk)
    reply = client.get("/healthz")
    assert reply.status_code == 503 and reply.get_json()["status"] == "erreur"
    assert tmp_leftovers(small_disk) == [], "the probe was left behind"
    os.remove(filler)
    assert client.get("/healthz").status_code == 200


def test_a_database_gone_away_gives_a_french_503_stores_nothing_partial_and_recovers(data_dir, database_url,
                                                                                    tmp_path):
    """PostgreSQL's side of the full disk: the test's database refuses connections under gunicorn."""
    store = ServerStore("postgres", data_dir, database_url)
    answers = sample_answers()
    port = free_port()
    env = {**proof_env(data_dir, port), **store.env, "COLLECTOR_DATABASE_TIMEOUT": "1"}
    with gunicorn(env, workers=2, port=port, log_dir=str(tmp_path)) as server:
        first = submit(server.base_url, answers, MARKER_FIELD, "Avant la panne")
        assert first.status == 201
        forms = [fetch_hidden(server.base_url) for _ in range(3)]  # tokens taken before the database goes

        with store.refusing_writes():
            page = post_form(server.base_url, {**answers, MARKER_FIELD: "Base absente (page)"}, forms[0],
                             headers={"Origin": server.base_url})
            as_json = post_form(server.base_url, {**answers, MARKER_FIELD: "Base absente (JSON)"}, forms[1],
                                json=True, headers={"Origin": server.base_url})
            health = request(server.base_url, "GET", "/healthz")
        assert page.status == 503
        assert page.headers["content-type"].startswith("text/html")
        assert re.search(r'<html[^>]* lang="fr"', page.text)
        assert "PAS été reçu" in page.text and "Traceback" not in page.text
        assert as_json.status == 503
        assert health.status == 503

        wait_until_healthy(server.base_url)  # the workers' pools reconnect by themselves; no restart
        later = post_form(server.base_url, {**answers, MARKER_FIELD: "Après la panne"}, forms[2], json=True,
                          headers={"Origin": server.base_url})
        assert later.status == 201, later.text
    with store.opened() as kept:
        records = load_records(data_dir, kept)  # nothing partial: every record parses and validates
    assert set(records) == {first.reference, later.json()["reference"]}
