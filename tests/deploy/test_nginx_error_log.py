"""nginx's error log holds no client address and no dossier key (README, Deploy: « Logs and
backups »): after the collector was unreachable and a burst of posts was refused, neither
the site's error log nor nginx's main one names the client or the request line."""

from __future__ import annotations

import os

import pytest

from tests.deploy.client import fetch
from tests.deploy.nginx_server import NGINX, nginx
from tests.support.net import free_port

KEY = "cle-secrete-du-recu"


@pytest.fixture(scope="module")
def collector_away(tmp_path_factory):
    """nginx with the site's configuration in front of a collector that is not running, one post a
    minute allowed per client."""
    if not os.path.exists(NGINX):
        pytest.fail(f"{NGINX} is missing: install Debian's nginx-light package (.ci/run does).")
    base = tmp_path_factory.mktemp("error-log")
    root = base / "output"
    root.mkdir()
    (root / "index.html").write_text("<!DOCTYPE html><title>Accueil</title>", encoding="utf-8")
    with nginx(str(root), f"127.0.0.1:{free_port()}", str(base / "nginx"), POST_RATE="1r/m",
               POST_BURST="1") as proxy:
        yield proxy


def logs(proxy) -> dict[str, str]:
    found = {}
    for name in ("error.log", "site-error.log", "site-access.log"):
        path = os.path.join(proxy.work_dir, name)
        with open(path, encoding="utf-8", errors="replace") if os.path.exists(path) else open(os.devnull) as handle:
            found[name] = handle.read()
    return found


def test_the_error_logs_name_no_client_and_no_key_after_an_unreachable_collector_and_a_refused_post(collector_away):
    receipt = fetch(f"{collector_away.https_url}/candidater/recu/AMI-2021-0002?cle={KEY}",
                    cafile=collector_away.certificate)
    assert receipt.status == 503 and "Service momentanément indisponible" in receipt.text
    posts = [fetch(f"{collector_away.https_url}/candidater/?cle={KEY}", method="POST", body=b"a=1",
                   headers={"Content-Type": "application/x-www-form-urlencoded"}, cafile=collector_away.certificate)
             for _ in range(4)]
    assert 503 in [post.status for post in posts] and posts[-1].status == 429
    found = logs(collector_away)
    for name in ("error.log", "site-error.log"):
        assert "client:" not in found[name] and "127.0.0.1" not in found[name], found[name]
        assert KEY not in found[name] and "request:" not in found[name], found[name]
    # What the operator still learns, without an address: the failures, counted by status.
    access = found["site-access.log"]
    assert '"GET /candidater/recu/AMI-2021-0002" 503' in access and '"POST /candidater/" 429' in access
    assert "127.0.0.1" not in access and KEY not in access


def test_the_site_keeps_its_own_error_log_at_crit_and_logs_rate_limit_refusals_below_it(collector_away):
    conf = collector_away.site_conf
    assert conf.count(f"error_log {os.path.join(collector_away.work_dir, 'site-error.log')} crit;") == 2
    assert "limit_req_log_level info;" in conf
