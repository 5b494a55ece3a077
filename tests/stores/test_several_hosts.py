"""Several hosts: PostgreSQL, two gunicorn collectors with separate local data folders (as
two machines would have) and nginx with both in its upstream. 5,000 submissions from 32
clients; one collector is SIGKILLed, then PostgreSQL is restarted, in the middle of the load.

A client behaves as a person's browser does: when a post is not acknowledged (no answer,
502, 503) it sends the same page again (same submission id) until it is. So every one of
the 5,000 must end acknowledged, each by exactly one record, references unique, and the
only gaps in the references are posts that failed.

nginx here speaks plain HTTP on loopback (TLS would cost the two shared cores more than
the collectors): the upstream block is deploy/render_nginx.py's, the proxy settings are
the production site's (tests/deploy covers that site in full, TLS included).
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
import pytest

from collector.formdef import build_schema, load_form
from collector.records import parse_record
from deploy.render_nginx import upstream_servers
from tests.deploy.nginx_server import MAIN_CONF, NGINX
from tests.proof.support import PROOF_ENV, check_record, quick_hidden_fields, sample_answers
from tests.support.net import free_port, wait_for_http
from tests.support.payloads import post_form, request
from tests.support.servers import gunicorn, stop_process_group

pytestmark = pytest.mark.proof

SUBMISSIONS = 5000
CLIENTS = 32
KILL_HOST_AT = 1500  # acknowledged submissions before host A is SIGKILLed
RESTART_DATABASE_AT = 3000  # … and before PostgreSQL is stopped for OUTAGE_SECONDS, then started
OUTAGE_SECONDS = 3.0
GIVE_UP_AFTER = 120.0  # a submission still not acknowledged after this fails the proof
MARKER_FIELD = "projet_titre"

SITE_CONF = """\
upstream ami_collector {{
{servers}
}}
server {{
    listen 127.0.0.1:{port};
    access_log off;
    proxy_http_version 1.1;
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $http_host;
    proxy_connect_timeout 5s;
    proxy_read_timeout 60s;
    location / {{ proxy_pass http://ami_collector; }}
}}
"""


@dataclass
class Outcome:
    marker: str
    status: int = 0
    reference: str | None = None
    failed_posts: int = 0  # posts not acknowledged before this one was
    unavailable_bodies: list[str] = field(default_factory=list)  # what a 503 from a collector said


def run_nginx(work: str, port: int, hosts: list[str]) -> subprocess.Popen:
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "site.conf"), "w", encoding="utf-8") as handle:
        handle.write(SITE_CONF.format(port=port, servers=upstream_servers(",".join(hosts))))
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as handle:  # the deployment tests' main file, this site included
        handle.write(MAIN_CONF.format(user="user root;" if os.geteuid() == 0 else "", work=work))
    process = subprocess.Popen([NGINX, "-p", work, "-c", conf, "-e", os.path.join(work, "error.log"),
                                "-g", "daemon off;"], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_http(f"http://127.0.0.1:{port}/healthz")
    return process


def submit_until_acknowledged(base_url: str, answers: dict, marker: str) -> Outcome:
    """GET the form, then POST it (the same page, so the same submission id) until acknowledged."""
    outcome = Outcome(marker)
    deadline = time.monotonic() + GIVE_UP_AFTER
    hidden = None
    while time.monotonic() < deadline:
        try:
            if hidden is None:
                page = request(base_url, "GET", "/candidater/")
                if page.status != 200:
                    time.sleep(0.2)
                    continue
                hidden = quick_hidden_fields(page.text)
            reply = post_form(base_url, {**answers, MARKER_FIELD: marker}, hidden,
                              headers={"Accept": "application/json", "Origin": base_url})
        except (OSError, http.client.HTTPException):  # no answer, or one cut off by the SIGKILL
            outcome.failed_posts += hidden is not None
            time.sleep(0.2)
            continue
        outcome.status = reply.status
        if 200 <= reply.status < 300:
            outcome.reference = reply.json()["reference"]
            return outcome
        if reply.status not in (502, 503, 504):
            return outcome  # anything else is a failure the proof reports
        outcome.failed_posts += 1
        if reply.status == 503 and reply.headers.get("content-type", "").startswith("application/json"):
            outcome.unavailable_bodies.append(reply.json().get("error", ""))
        time.sleep(0.2)
    return outcome


def test_two_hosts_lose_nothing_when_one_is_killed_and_postgresql_restarts(postgres_cluster, database_url, tmp_path):
    nginx_port = free_port()
    base_url = f"http://127.0.0.1:{nginx_port}"
    common = {**PROOF_ENV, "COLLECTOR_DATABASE_URL": database_url, "COLLECTOR_DATABASE_TIMEOUT": "1",
              "COLLECTOR_SECRET_KEY": "une clé partagée par les deux hôtes", "COLLECTOR_PUBLIC_URL": base_url,
              "COLLECTOR_TRUSTED_PROXIES": "1"}
    folders = {name: str(tmp_path / f"hote-{name}") for name in "ab"}
    answers = sample_answers()
    outcomes: list[Outcome] = []
    events: dict[str, float] = {}
    with gunicorn({**common, "COLLECTOR_DATA_DIR": folders["a"]}, workers=2, log_dir=str(tmp_path)) as host_a, \
            gunicorn({**common, "COLLECTOR_DATA_DIR": folders["b"]}, workers=2, log_dir=str(tmp_path)) as host_b:
        proxy = run_nginx(str(tmp_path / "nginx"), nginx_port, [f"127.0.0.1:{host_a.port}", f"127.0.0.1:{host_b.port}"])
        done = threading.Event()

        def disturb() -> None:
            """SIGKILL host A (master and workers), later restart PostgreSQL, while the load runs."""
            while not done.is_set() and len(outcomes) < KILL_HOST_AT:
                time.sleep(0.05)
            os.killpg(host_a.process.pid, signal.SIGKILL)
            events["killed_at"] = len(outcomes)
            while not done.is_set() and len(outcomes) < RESTART_DATABASE_AT:
                time.sleep(0.05)
            events["database_stopped_at"] = len(outcomes)
            postgres_cluster.stop()
            time.sleep(OUTAGE_SECONDS)
            postgres_cluster.start()

        disturber = threading.Thread(target=disturb)
        disturber.start()
        try:
            with ThreadPoolExecutor(CLIENTS) as pool:
                for outcome in pool.map(lambda n: submit_until_acknowledged(base_url, answers, f"Projet n° {n}"),
                                        range(SUBMISSIONS)):
                    outcomes.append(outcome)
        finally:
            done.set()
            disturber.join()
            stop_process_group(proxy, signal.SIGQUIT, timeout=10)
        assert host_a.process.wait(timeout=10) == -signal.SIGKILL
        assert host_b.process.poll() is None, "host B must have served on, alone:\n" + host_b.log()

    assert events["killed_at"] < events["database_stopped_at"] < SUBMISSIONS
    unacknowledged = [(o.marker, o.status) for o in outcomes if o.reference is None]
    assert not unacknowledged, f"{len(unacknowledged)} never acknowledged, e.g. {unacknowledged[:5]}"
    references = [outcome.reference for outcome in outcomes]
    assert len(set(references)) == SUBMISSIONS, "two submissions got the same reference"

    said = {text for outcome in outcomes for text in outcome.unavailable_bodies}
    assert said, "no collector answered 503 while PostgreSQL was down"
    assert all("il n'a PAS été reçu" in text for text in said), said

    definition = load_form()
    schema = build_schema(definition)
    with psycopg.connect(database_url) as connection:
        stored = {reference: parse_record(document, reference) for reference, document
                  in connection.execute("SELECT reference, document FROM records")}
        (dangling,) = connection.execute("SELECT count(*) FROM submission_ids s LEFT JOIN records r "
                                         "USING (reference) WHERE r.reference IS NULL").fetchone()
        (claims,) = connection.execute("SELECT count(*) FROM submission_ids").fetchone()
    assert set(stored) == set(references), "exactly one record per acknowledged submission, nothing else"
    for outcome in outcomes:
        check_record(stored[outcome.reference], schema, definition)  # whole, valid records only
        assert stored[outcome.reference]["answers"][MARKER_FIELD] == outcome.marker
    assert claims == SUBMISSIONS and dangling == 0
    highest = max(int(reference.rsplit("-", 1)[1]) for reference in references)
    assert highest - SUBMISSIONS <= sum(outcome.failed_posts for outcome in outcomes), \
        "a gap in the references where no post failed"
    for folder in folders.values():  # the hosts' own folders hold no record: PostgreSQL is the store
        assert not os.listdir(os.path.join(folder, "submissions"))
