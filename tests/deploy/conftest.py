"""The production stack for one test module: the site built by publishconf.py, gunicorn with
deploy/gunicorn.conf.py, and Debian's nginx with the rendered site configuration in front; the
collector on each store `--store` names (tests/support/server_store.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.deploy.nginx_server import NGINX, RunningNginx, nginx
from tests.support.net import free_port
from tests.support.server_store import (ServerStore, new_server_store, server_store,  # noqa: F401 - fixtures
                                        server_store_kind)
from tests.support.servers import REPO_ROOT, RunningServer, gunicorn

AMI_NOW = "2021-04-15T10:00:00"


def build_published_site(output: str, siteurl: str) -> None:
    """`make publish` into `output`, with SITEURL pointing at the test's nginx."""
    env = {**os.environ, "SITEURL": siteurl, "AMI_NOW": AMI_NOW}
    built = subprocess.run([sys.executable, "-m", "pelican", "content", "-o", output, "-s", "publishconf.py"],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if built.returncode != 0:
        raise RuntimeError("the production build failed:\n" + built.stdout + built.stderr)


def collector_env(data_dir: str, public_url: str) -> dict[str, str]:
    """The collector as configured in production behind nginx (deploy/collector.env.example)."""
    return {
        "COLLECTOR_DATA_DIR": data_dir,
        "COLLECTOR_PUBLIC_URL": public_url,
        "COLLECTOR_TRUSTED_PROXIES": "1",
        "COLLECTOR_COOKIE_SECURE": "1",
        "COLLECTOR_SMTP_HOST": "",
        "COLLECTOR_MIN_FILL_SECONDS": "0",
        "AMI_NOW": AMI_NOW,
    }


@dataclass
class Stack:
    site_dir: str
    data_dir: str
    nginx: RunningNginx
    gunicorn: RunningServer
    store: ServerStore


@pytest.fixture(scope="module")
def stack(server_store, tmp_path_factory) -> Stack:
    if not os.path.exists(NGINX):
        pytest.fail(f"{NGINX} is missing: install Debian's nginx-light package (.ci/run does).")
    base = tmp_path_factory.mktemp("deploy")
    https_port = free_port()
    public_url = f"https://127.0.0.1:{https_port}"
    site_dir, data_dir = str(base / "output"), server_store.data_dir
    build_published_site(site_dir, public_url)
    # The collector also serves the built site (as `make run` does) so that the header tests can
    # compare it with nginx; through nginx, only the collector's paths ever reach it.
    env = {**collector_env(data_dir, public_url), **server_store.env, "COLLECTOR_SITE_DIR": site_dir}
    with gunicorn(env, workers=2, log_dir=str(base),
                  extra_args=("--config", os.path.join(REPO_ROOT, "deploy", "gunicorn.conf.py"))) as server:
        upstream = f"127.0.0.1:{server.port}"
        with nginx(site_dir, upstream, str(base / "nginx"), https_port=https_port) as proxy:
            yield Stack(site_dir, data_dir, proxy, server, server_store)
