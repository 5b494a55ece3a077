"""Fixtures every suite shares: a real Chromium, a scratch data folder, a throwaway PostgreSQL.

`make test` runs the suite in several processes (pytest-xdist, `--dist loadfile`): a session
fixture below is made once per process, never shared between two; its folders come from
`tmp_path_factory` or `mkdtemp` (one base per process) and its ports from the OS."""

from __future__ import annotations

import os
import shutil

import pytest

from collector import sqlite_files
from tests.support import store_switch
from tests.support.browser import CHROMIUM_ARGS, CHROMIUM_PATH, guard_network

# A sender as production must have one: with an SMTP server set, the mailer and send-mail
# refuse to start without it (mail.check_sender); every process a test starts inherits it.
os.environ.setdefault("COLLECTOR_MAIL_FROM", "AMI Usages numériques <ne-pas-repondre@normandie.example>")


def pytest_addoption(parser):
    store_switch.add_option(parser)


def pytest_configure(config):
    store_switch.declare_marker(config)


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium for the whole run of this process (Playwright drives it)."""
    if not os.path.exists(CHROMIUM_PATH):
        pytest.fail(f"{CHROMIUM_PATH} is missing: install Debian's chromium package (.ci/run does).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The site built once per process with AMI_NOW inside the open phase (15 April 2021, 10:00, Paris),
    for every suite that needs that build unchanged (the site's checks, the form in Chromium)."""
    from tests.site.sitebuild import build_site

    build = build_site(str(tmp_path_factory.mktemp("site") / "output"))
    assert build.returncode == 0, build.log
    return build


@pytest.fixture
def browser_context(chromium):
    """A fresh browser profile whose requests off 127.0.0.1 are refused and listed in `.outside`."""
    outside: list[str] = []
    context = chromium.new_context(locale="fr-FR")
    guard_network(context, outside)
    context.outside = outside
    yield context
    context.close()


@pytest.fixture
def data_dir(tmp_path):
    """An empty COLLECTOR_DATA_DIR for one test; the SQLite files the test opened in it are closed after
    it (an app the test made and did not close, a limiter or the throttle used without an app)."""
    path = tmp_path / "data"
    path.mkdir()
    yield str(path)
    sqlite_files.close_under(str(path))
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL cluster for the run of this process (started on first use), with a
    migrated template: each pytest-xdist worker has its own folder and loopback port."""
    from tests.support.postgres import migrated_template, start_cluster, stop_cluster

    cluster = start_cluster()
    try:
        cluster.template = migrated_template(cluster)
        yield cluster
    finally:
        stop_cluster(cluster)


@pytest.fixture
def database_url(postgres_cluster):
    """A fresh database at the current schema, for one test; dropped when the test ends."""
    name = postgres_cluster.new_database(template=postgres_cluster.template)
    yield postgres_cluster.url(name)
    postgres_cluster.drop_database(name)


STORE_KINDS = ("folder", "postgres")


@pytest.fixture
def store_kind() -> str:
    """Where the app under test keeps its data: the data folder, unless a module parametrises this
    fixture with STORE_KINDS to run its tests on PostgreSQL too, or `--store` chooses PostgreSQL
    (tests/support/store_switch.py parametrises it then)."""
    return "folder"


def pytest_generate_tests(metafunc):
    store_switch.parametrise(metafunc, store_kind)


def pytest_collection_modifyitems(config, items):
    store_switch.mark_postgres_items(items)


@pytest.fixture
def store_config(store_kind, request):
    """The app settings that select the store (none for the data folder). On PostgreSQL, the test's
    data folder stands for its database, so that records written "into the data folder" by
    tests/review/factory.py go into the app's store."""
    if store_kind != "postgres":
        yield {}
        return
    from tests.support.stores import database_standing_for

    url = request.getfixturevalue("database_url")
    with database_standing_for(request.getfixturevalue("data_dir"), url):
        yield {"DATABASE_URL": url}


@pytest.fixture
def store_env(store_config) -> dict[str, str]:
    """The environment that puts a collector process (gunicorn, `flask`, the mailer) on the test's
    store: COLLECTOR_DATABASE_URL on PostgreSQL, nothing more for the data folder."""
    return {f"COLLECTOR_{name}": value for name, value in store_config.items()}
