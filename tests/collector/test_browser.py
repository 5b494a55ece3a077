"""The form in Debian's Chromium against gunicorn serving the built site and the collector:
with JavaScript off and on, the porteur reaches the receipt and the record is stored (on each store
`--store` names)."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from collector.formdef import load_form
from tests.support.net import free_port
from tests.support.payloads import valid_answers
from tests.support.server_store import (new_server_store, server_store, server_store_kind,  # noqa: F401 - fixtures
                                        wait_until_healthy)
from tests.support.servers import gunicorn

from .test_gunicorn import collector_env

pytestmark = pytest.mark.browser

FORM = load_form()
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, site, server_store):
    port = free_port()
    env = collector_env(server_store.data_dir, port, COLLECTOR_SITE_DIR=site.output, **server_store.env)
    with gunicorn(env, workers=2, port=port, log_dir=str(tmp_path_factory.mktemp("logs"))) as running:
        running.data_dir, running.store = server_store.data_dir, server_store
        yield running


@pytest.fixture
def no_js_context(chromium):
    context = chromium.new_context(locale="fr-FR", java_script_enabled=False)
    yield context
    context.close()


def fill(page, answers):
    for item in FORM.fields:
        value = answers.get(item.name)
        if value in (None, "", []):
            continue
        if item.type == "checkboxes":
            for choice in value:
                page.check(f'input[name="{item.name}"][value="{choice}"]')
        elif item.type == "radio":
            page.check(f'input[name="{item.name}"][value="{value}"]')
        elif item.type == "checkbox":
            page.check(f"#{item.name}")
        else:
            page.fill(f"#{item.name}", value)


def record_for(store, reference):
    """The record `reference` as the server's store keeps it (tests/support/server_store.py)."""
    record = store.record(reference)
    assert record is not None, f"no record {reference}"
    return record


def axe_violations(page):
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    return results.violations_count, results.generate_report()


def reference_on(page):
    return re.search(r"AMI-2021-\d{4}", page.locator(".receipt-reference").inner_text()).group(0)


def send_to_receipt(page) -> None:
    """Send the form as it stands and wait for the receipt page."""
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/candidater/recu/AMI-2021-\d{4}\?cle="))


def sent_record(page, store):
    """Send the form, wait for the receipt, and return the record it names."""
    send_to_receipt(page)
    return record_for(store, reference_on(page))


def test_without_javascript_the_form_is_sent_and_the_record_stored(server, no_js_context):
    page = no_js_context.new_page()
    page.goto(server.base_url + "/candidater/")
    answers = {**valid_answers(FORM), "projet_titre": "Sans JavaScript"}
    fill(page, answers)
    send_to_receipt(page)
    reference = reference_on(page)
    record = record_for(server.store, reference)
    assert record["answers"]["projet_titre"] == "Sans JavaScript"
    assert record["answers"]["thematiques"] == answers["thematiques"] and record["answers"]["rgpd"] is True


def test_without_javascript_an_invalid_post_shows_the_summary_and_keeps_values(server, no_js_context):
    page = no_js_context.new_page()
    page.goto(server.base_url + "/candidater/")
    answers = {**valid_answers(FORM), "siret": "123", "contact_email": "", "rgpd": ""}
    fill(page, answers)
    page.click("button[type=submit]")
    assert page.title().startswith("Erreur : ")
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    links = summary.locator("a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["#siret", "#contact_email", "#rgpd"]
    for href in hrefs:
        assert page.locator(href).count() == 1
    assert page.locator("#siret-error").inner_text().endswith(links.nth(0).inner_text())
    assert page.input_value("#raison_sociale") == answers["raison_sociale"]
    assert page.input_value("#siret") == "123"
    assert page.is_checked('input[name="thematiques"][value="autre"]')
    assert page.get_attribute("#siret", "aria-invalid") == "true"


def test_axe_finds_no_violation_in_the_server_rendered_error_state_and_receipt(server, browser_context):
    """axe needs JavaScript in the page: form.js is blocked instead, so the form posts natively."""
    page = browser_context.new_page()
    page.route("**/form.js", lambda route: route.abort())
    page.goto(server.base_url + "/candidater/")
    fill(page, {**valid_answers(FORM), "siret": "123", "rgpd": ""})
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    assert page.title().startswith("Erreur : ")
    count, report = axe_violations(page)
    assert count == 0, report
    page.fill("#siret", valid_answers(FORM)["siret"])
    page.check("#rgpd")
    send_to_receipt(page)
    count, report = axe_violations(page)
    assert count == 0, report


def test_with_javascript_errors_appear_without_reload_then_the_form_is_sent(server, browser_context):
    page = browser_context.new_page()
    page.goto(server.base_url + "/candidater/")
    count, report = axe_violations(page)
    assert count == 0, report
    answers = {**valid_answers(FORM), "code_postal": "1400", "projet_titre": "Avec JavaScript"}
    fill(page, answers)
    page.evaluate("window.sameDocument = true")
    page.click("button[type=submit]")
    summary = page.locator("#erreurs")
    summary.wait_for(state="visible")
    assert page.evaluate("window.sameDocument") is True  # no reload
    assert page.title().startswith("Erreur : ")
    assert page.evaluate("document.activeElement.id") == "erreurs"
    assert summary.locator("a").get_attribute("href") == "#code_postal"
    assert page.locator("#code_postal-error").inner_text().endswith("par exemple 14000.")
    assert page.get_attribute("#code_postal", "aria-invalid") == "true"
    count, report = axe_violations(page)
    assert count == 0, report
    page.fill("#code_postal", "76000")
    record = sent_record(page, server.store)
    assert record["answers"]["projet_titre"] == "Avec JavaScript" and record["answers"]["code_postal"] == "76000"
    assert page.evaluate("window.localStorage.length") == 0  # the draft is gone once sent
    assert browser_context.outside == []


def test_with_javascript_the_draft_survives_a_reload(server, browser_context):
    page = browser_context.new_page()
    page.goto(server.base_url + "/candidater/")
    page.fill("#raison_sociale", "Association Brouillon")
    page.check('input[name="type_structure"][value="association"]')
    page.check('input[name="attentes"][value="communication"]')
    page.fill("#description", "Première ligne\nseconde ligne du brouillon")
    page.reload()
    assert page.input_value("#raison_sociale") == "Association Brouillon"
    assert page.is_checked('input[name="type_structure"][value="association"]')
    assert page.is_checked('input[name="attentes"][value="communication"]')
    assert page.input_value("#description") == "Première ligne\nseconde ligne du brouillon"
    assert page.input_value('input[name="jeton"]') != ""  # the hidden fields stay the page's own


def test_the_static_page_built_by_pelican_works_after_one_round_trip(server, no_js_context):
    """The built copy (no token) gets the form back with a token and every value, then goes through."""
    page = no_js_context.new_page()
    page.goto(server.base_url + "/candidater/index.html")
    assert page.input_value('input[name="jeton"]') == ""
    fill(page, {**valid_answers(FORM), "projet_titre": "Depuis la page statique"})
    page.click("button[type=submit]")
    assert page.title().startswith("Erreur : ")
    assert "vérifiez-les, puis envoyez à nouveau" in page.locator(".error-summary").inner_text()
    assert page.input_value("#projet_titre") == "Depuis la page statique"
    assert page.input_value('input[name="jeton"]') != ""
    assert sent_record(page, server.store)["answers"]["projet_titre"] == "Depuis la page statique"


def test_with_javascript_a_lost_connection_keeps_the_answers_and_says_so(server, browser_context):
    page = browser_context.new_page()
    page.goto(server.base_url + "/candidater/")
    answers = {**valid_answers(FORM), "projet_titre": "Malgré la coupure"}
    fill(page, answers)
    cut = lambda route: route.abort() if route.request.method == "POST" else route.continue_()  # noqa: E731
    page.route("**/candidater/", cut)
    page.click("button[type=submit]")
    summary = page.locator("#erreurs")
    summary.wait_for(state="visible")
    assert "Connexion impossible" in summary.inner_text()
    assert page.title().startswith("Erreur : ")
    assert page.evaluate("document.activeElement.id") == "erreurs"
    assert page.input_value("#projet_titre") == "Malgré la coupure"
    assert page.is_enabled("button[type=submit]")
    page.unroute("**/candidater/", cut)
    assert sent_record(page, server.store)["answers"]["projet_titre"] == "Malgré la coupure"


def test_with_javascript_a_store_that_refuses_the_write_says_so_in_the_form_not_on_a_previous_page(
        server, browser_context):
    page = browser_context.new_page()
    page.goto(server.base_url + "/candidater/")
    fill(page, {**valid_answers(FORM), "projet_titre": "Pendant la panne"})
    with server.store.refusing_writes():  # the write fails: 503
        page.click("button[type=submit]")
        summary = page.locator("#erreurs")
        summary.wait_for(state="visible")
        said = summary.inner_text()
    wait_until_healthy(server.base_url)  # on PostgreSQL, the workers reconnect by themselves
    assert "il n'a PAS été reçu" in said and "page précédente" not in said
    assert page.input_value("#projet_titre") == "Pendant la panne"  # the answers are right here
    assert sent_record(page, server.store)["answers"]["projet_titre"] == "Pendant la panne"


def test_with_javascript_the_static_page_gets_its_token_in_place_then_goes_through(server, browser_context):
    page = browser_context.new_page()
    page.goto(server.base_url + "/candidater/index.html")
    fill(page, {**valid_answers(FORM), "projet_titre": "Statique avec JavaScript"})
    page.evaluate("window.sameDocument = true")
    page.click("button[type=submit]")
    page.locator("#erreurs").wait_for(state="visible")
    assert page.evaluate("window.sameDocument") is True
    assert "vérifiez-les, puis envoyez à nouveau" in page.locator(".error-summary").inner_text()
    assert page.input_value('input[name="jeton"]') != ""
    assert page.input_value("#projet_titre") == "Statique avec JavaScript"
    record = sent_record(page, server.store)
    assert record["answers"]["projet_titre"] == "Statique avec JavaScript"
