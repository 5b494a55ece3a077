"""What a porteur meets in Debian's Chromium, with JavaScript on and off, against gunicorn with
the default time trap (3 s): a quick sender never loses answers, the browser draft is visible,
clearable and expiring, text limits are shown before sending, and a late porteur is told the
truth and keeps their text; on each store `--store` names. No test rests on the machine's speed:
a send meant to be too quick is made against a trap of an hour (see TRAP_NO_LOAD_REACHES)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from tests.support.net import free_port
from tests.support.payloads import valid_answers
from tests.support.server_store import new_server_store, server_store_kind  # noqa: F401 - fixtures
from tests.support.servers import RunningServer, gunicorn

from .test_browser import FORM, axe_violations, fill, no_js_context, record_for, reference_on, send_to_receipt  # noqa: F401
from .test_gunicorn import collector_env

pytestmark = pytest.mark.browser

TIME_TRAP_SECONDS = 3
DRAFT_KEY = f"ami-brouillon-v{FORM.version}"
CLOSED_NOW = "2021-06-15T10:00:00"


@pytest.fixture(scope="module")
def built_site(site):
    """The open phase's build, shared with the other suites (tests/conftest.py); served read-only."""
    return site


def _serve(tmp_path_factory, site_dir, store, trap: float = TIME_TRAP_SECONDS, port: int | None = None, **extra):
    port = port or free_port()
    env = collector_env(store.data_dir, port, COLLECTOR_SITE_DIR=site_dir,
                        COLLECTOR_MIN_FILL_SECONDS=str(trap), **store.env, **extra)
    return gunicorn(env, workers=2, port=port, log_dir=str(tmp_path_factory.mktemp("logs")))


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_site, new_server_store):
    """The call open (15 April 2021), with the time trap as deployed."""
    store = new_server_store()
    with _serve(tmp_path_factory, built_site.output, store) as started:
        started.data_dir, started.store = store.data_dir, store
        yield started


@pytest.fixture(scope="module")
def serve_with_trap(tmp_path_factory, built_site, new_server_store):
    """`serve_with_trap(seconds)`: the call open, on one port, data folder and secret key, with the time
    trap the test needs at that moment (gunicorn started again in between; a page served before still
    posts to the same address, with a token the next server accepts)."""
    store, port = new_server_store(), free_port()

    @contextmanager
    def serve(trap: float) -> Iterator[RunningServer]:
        with _serve(tmp_path_factory, built_site.output, store, trap=trap, port=port) as started:
            started.data_dir, started.store = store.data_dir, store
            yield started

    return serve


@pytest.fixture(scope="module")
def closed_server(tmp_path_factory, built_site, new_server_store):
    """After the deadline; /candidater/index.html is still the copy built while the call was open,
    as a porteur who opened the page before the deadline still has it on screen."""
    store = new_server_store()
    with _serve(tmp_path_factory, built_site.output, store, AMI_NOW=CLOSED_NOW) as started:
        started.data_dir, started.store = store.data_dir, store
        yield started


def draft(page):
    return page.evaluate(f"localStorage.getItem('{DRAFT_KEY}')")


def wait_out_the_time_trap(page):
    """A person reading the page: longer than the time trap (not a timing assertion)."""
    page.wait_for_timeout(TIME_TRAP_SECONDS * 1000 + 300)


# What « sent at once » means to the collector is « sooner than the time trap after the page was
# made », and on a loaded machine a browser may take more than the deployed 3 s to show the page,
# restore a draft and send it: such a send is rightly stored, as any person's slow one. So a test
# that needs a send too quick for the trap makes it against a trap of an hour, which no machine's
# load reaches; the deployed trap comes back for the send that follows, after waiting it out.
TRAP_NO_LOAD_REACHES = 3600


# --- 1. A quick porteur never gets the robots' page ---------------------------------------------


def test_a_restored_draft_sent_at_once_comes_back_to_check_then_goes_through(serve_with_trap, browser_context):
    page = browser_context.new_page()
    with serve_with_trap(TRAP_NO_LOAD_REACHES) as server:
        page.goto(server.base_url + "/candidater/")
        fill(page, {**valid_answers(FORM), "projet_titre": "Envoyé trop vite"})
        page.reload()  # the porteur comes back later: the draft is restored on load
        assert page.input_value("#projet_titre") == "Envoyé trop vite"
        page.click("button[type=submit]")  # at once
        summary = page.locator("#erreurs")
        summary.wait_for(state="visible")
        assert "Vérifiez vos réponses puis envoyez à nouveau" in summary.inner_text()
        assert "Merci" not in page.content() and "transmis" not in page.content()
        assert page.input_value("#projet_titre") == "Envoyé trop vite"
        assert "Envoyé trop vite" in draft(page)  # the draft is kept
        count, report = axe_violations(page)
        assert count == 0, report
    with serve_with_trap(TIME_TRAP_SECONDS) as server:
        wait_out_the_time_trap(page)
        send_to_receipt(page)
        assert record_for(server.store, reference_on(page))["answers"]["projet_titre"] == "Envoyé trop vite"
        assert draft(page) is None  # cleared once the receipt with its reference has loaded


def test_without_javascript_a_quick_valid_post_comes_back_with_its_values(serve_with_trap, no_js_context):
    page = no_js_context.new_page()
    with serve_with_trap(TRAP_NO_LOAD_REACHES) as server:
        page.goto(server.base_url + "/candidater/")
        page.evaluate("""answers => {  // an autofill: every answer at once
            for (const [name, value] of Object.entries(answers)) {
                for (const el of document.getElementsByName(name)) {
                    if (el.type == 'radio' || el.type == 'checkbox') el.checked = [].concat(value).includes(el.value);
                    else el.value = value;
                }
            }
        }""", {**valid_answers(FORM), "rgpd": "oui", "projet_titre": "Rempli automatiquement"})
        page.click("button[type=submit]")
        assert page.title().startswith("Erreur : ")
        assert "Vérifiez vos réponses puis envoyez à nouveau" in page.locator(".error-summary").inner_text()
        assert page.input_value("#projet_titre") == "Rempli automatiquement"
    with serve_with_trap(TIME_TRAP_SECONDS) as server:
        wait_out_the_time_trap(page)
        send_to_receipt(page)
        assert record_for(server.store, reference_on(page))["answers"]["projet_titre"] == "Rempli automatiquement"


def test_the_empty_form_sent_at_once_shows_what_is_asked(server, no_js_context):
    page = no_js_context.new_page()
    page.goto(server.base_url + "/candidater/")
    page.click("button[type=submit]")
    assert page.title().startswith("Erreur : ")
    assert page.locator(".error-summary a[href='#raison_sociale']").is_visible()


def test_the_draft_is_kept_when_the_answer_is_not_a_receipt(server, browser_context):
    page = browser_context.new_page()
    page.goto(server.base_url + "/candidater/")
    fill(page, valid_answers(FORM))
    wait_out_the_time_trap(page)
    page.evaluate("document.querySelector('[name=site_web]').value = 'robot'")  # answered by the quiet page
    page.click("button[type=submit]")
    page.wait_for_url("**/candidater/merci/")
    assert "Aucune manifestation d'intérêt n'a été enregistrée" in page.inner_text("main")
    assert draft(page) is not None
    count, report = axe_violations(page)
    assert count == 0, report


# --- 2. The draft: visible, clearable, expiring -------------------------------------------------


def test_a_restored_draft_says_so_and_can_be_erased(server, browser_context):
    page = browser_context.new_page()
    page.goto(server.base_url + "/candidater/")
    page.fill("#raison_sociale", "Association Brouillon")
    page.check('input[name="type_structure"][value="association"]')
    page.reload()
    notice = page.locator(".draft-notice")
    assert re.search(r"Brouillon repris du \w+ \d+ \w+ \d{4}", notice.inner_text())
    count, report = axe_violations(page)
    assert count == 0, report
    notice.get_by_role("button", name="Effacer le brouillon").click()
    assert page.input_value("#raison_sociale") == ""
    assert not page.is_checked('input[name="type_structure"][value="association"]')
    assert draft(page) is None
    assert "Brouillon effacé" in notice.inner_text()
    page.reload()
    assert page.locator(".draft-notice").count() == 0 and page.input_value("#raison_sociale") == ""


def test_a_draft_older_than_seven_days_is_forgotten(server, browser_context):
    page = browser_context.new_page()
    page.goto(server.base_url + "/candidater/")
    stale = '{"at": %d, "answers": [["raison_sociale", "Trop ancien"]]}'
    page.evaluate(f"localStorage.setItem('{DRAFT_KEY}', '{stale}'.replace('%d', Date.now() - 8 * 864e5))")
    page.reload()
    assert page.input_value("#raison_sociale") == "" and page.locator(".draft-notice").count() == 0
    assert draft(page) is None


def test_the_closed_page_clears_the_drafts(closed_server, browser_context):
    page = browser_context.new_page()
    page.goto(closed_server.base_url + "/candidater/index.html")  # the page opened before the deadline
    page.fill("#raison_sociale", "Sur un ordinateur partagé")
    assert draft(page) is not None
    page.goto(closed_server.base_url + "/candidater/")
    assert page.locator("#formulaire-ferme").is_visible()
    assert page.evaluate("Object.keys(localStorage).length") == 0


# --- 3. Limits a porteur can see before sending -------------------------------------------------


def test_without_javascript_hints_state_the_limits_and_nothing_cuts_a_text(server, no_js_context):
    page = no_js_context.new_page()
    page.goto(server.base_url + "/candidater/")
    # a one-control question's hint is in its label: part of the name a screen reader announces
    expect(page.locator("#description")).to_have_accessible_name(re.compile(
        r"^Description du projet ou de l'intention \(obligatoire\) Objectifs, .* 5\s000 caractères au maximum\.$"))
    expect(page.locator("#projet_titre")).to_have_accessible_name(
        "Titre du projet (obligatoire) En quelques mots. 150 caractères au maximum.")
    assert page.locator("[maxlength]").count() == 0
    long_text = "Un texte collé. " * 320
    page.fill("#description", long_text)
    assert page.input_value("#description") == long_text  # nothing silently cut


def test_with_javascript_a_live_count_shows_what_is_left_then_what_is_too_much(server, browser_context):
    page = browser_context.new_page()
    page.goto(server.base_url + "/candidater/")
    count_of = page.locator("#description ~ .char-count").first
    page.fill("#description", "a" * 4812)
    assert count_of.inner_text().replace("\u202f", " ") == "4 812 caractères sur 5 000"
    page.fill("#description", "a" * 5230)
    assert count_of.inner_text() == "230 caractères en trop"
    assert count_of.get_attribute("aria-hidden") == "true"
    spoken = page.locator("#description ~ [aria-live=polite]").first
    spoken.filter(has_text="230 caractères en trop").wait_for(state="attached")  # once typing pauses
    count, report = axe_violations(page)
    assert count == 0, report


# --- 6. A late porteur ----------------------------------------------------------------------------


def test_a_late_porteur_with_javascript_sees_only_the_closing_message_and_the_contacts(closed_server, browser_context):
    page = browser_context.new_page()
    page.goto(closed_server.base_url + "/candidater/index.html")
    fill(page, {**valid_answers(FORM), "siret": "123", "projet_titre": "Envoyé trop tard"})
    page.click("button[type=submit]")
    closed = page.locator("#formulaire-ferme")
    closed.wait_for(state="visible")
    main = page.inner_text("main")
    assert "clos depuis le vendredi 28 mai 2021" in main and "rien n'a été enregistré" in main
    assert "anne.houlette@normandie.fr" in main
    assert page.locator(".error-summary, .error-message, form.ami-form").count() == 0
    assert "Envoyé trop tard" in page.input_value("#reponses-a-copier")
    assert page.evaluate("Object.keys(localStorage).length") == 0
    count, report = axe_violations(page)
    assert count == 0, report


def test_a_late_porteur_without_javascript_is_told_nothing_was_stored_and_gets_their_text(closed_server, no_js_context):
    page = no_js_context.new_page()
    page.goto(closed_server.base_url + "/candidater/index.html")
    fill(page, {**valid_answers(FORM), "description": "Un long texte écrit pendant des heures."})
    page.click("button[type=submit]")
    assert "rien n'a été enregistré" in page.inner_text("#formulaire-ferme")
    copy = page.input_value("#reponses-a-copier")
    assert "Description du projet ou de l'intention :\nUn long texte écrit pendant des heures." in copy
    assert page.locator(".error-summary").count() == 0


# --- 6. The error summary's links -----------------------------------------------------------------


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_error_summary_link_shows_the_label_and_the_message(server, chromium, javascript):
    context = chromium.new_context(locale="fr-FR", java_script_enabled=javascript,
                                   viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(server.base_url + "/candidater/")
        fill(page, {**valid_answers(FORM), "description": "Trop court", "rgpd": ""})
        page.click("button[type=submit]")
        page.locator("#erreurs a").first.wait_for(state="visible")
        for name, label in (("description", "label[for=description]"), ("rgpd", "label.choice")):
            page.click(f"#erreurs a[href='#{name}']")
            page.wait_for_function(f"document.activeElement.id == '{name}' || location.hash == '#{name}'")
            for selector in (label, f"#{name}-error", f"#{name}"):
                box = page.locator(selector).bounding_box()
                assert box and 0 <= box["y"] and box["y"] + min(box["height"], 40) <= 844, (name, selector, box)
            page.evaluate("window.scrollTo(0, 0)")
    finally:
        context.close()
