"""Browser journeys (Chromium, JavaScript on and off) of the dossier page and the lost link,
end to end through gunicorn and a real SMTP server on loopback; axe-core and the Nu HTML
checker find nothing on any of their pages; on each store `--store` names."""

from __future__ import annotations

import re

import pytest

from collector.formdef import load_form
from tests.collector.test_browser import fill
from tests.support.payloads import valid_answers
from tests.support.server_store import new_server_store, server_store, server_store_kind  # noqa: F401 - fixtures

from .journeys import link_in, log_in, porteur_stack

pytestmark = pytest.mark.browser

FORM = load_form()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, server_store):
    with porteur_stack(str(tmp_path_factory.mktemp("porteur-dossier")), "2021-04-15T10:00:00",
                       server_store) as running:
        yield running


def test_a_porteur_sends_the_form_gets_the_link_by_mail_and_reads_the_dossier(stack, browser_context, chromium):
    tab = browser_context.new_page()
    tab.goto(stack.base + "/candidater/")
    answers = {**valid_answers(FORM), "contact_email": "camille@gmial.com", "projet_titre": "Dossier en ligne"}
    fill(tab, answers)
    tab.locator("#contact_email").blur()
    suggestion = tab.locator(".email-suggestion")
    suggestion.wait_for(state="visible")
    assert "Vouliez-vous écrire camille@gmail.com ?" in suggestion.inner_text()
    stack.audit(tab, "form with a suggestion")
    tab.fill("#contact_email", "camille@gmail.com")
    tab.locator("#contact_email").blur()
    assert tab.locator(".email-suggestion").count() == 0
    tab.click("button[type=submit]")
    tab.wait_for_url(re.compile(r"/candidater/recu/AMI-2021-\d{4}\?cle="))
    assert tab.locator("h1").inner_text().startswith("Votre dossier AMI-2021-")
    assert tab.locator(".dossier-email").inner_text() == "camille@gmail.com"
    assert tab.locator(".dossier-status").inner_text() == "reçu"
    stack.audit(tab, "dossier")
    reference = re.search(r"AMI-2021-\d{4}", tab.url).group(0)

    [ack] = stack.mails_to("camille@gmail.com", 1, "Accusé de réception")
    no_js = chromium.new_context(locale="fr-FR", java_script_enabled=False)
    try:
        other = no_js.new_page()
        other.goto(stack.base + link_in(ack.message))
        assert other.locator("h1").inner_text() == f"Votre dossier {reference}"
        assert "Dossier en ligne" in other.locator(".answers").inner_text()
    finally:
        no_js.close()
    assert browser_context.outside == []


def test_the_lost_link_page_answers_the_same_and_mails_only_a_known_address(stack, chromium):
    from tests.support.payloads import fetch_hidden, post_form

    answers = {**valid_answers(FORM), "contact_email": "perdu@example.org"}
    assert post_form(stack.base, answers, fetch_hidden(stack.base)).status == 303
    stack.mails_to("perdu@example.org", 1, "Accusé de réception")
    context = chromium.new_context(locale="fr-FR", java_script_enabled=False)
    try:
        tab = context.new_page()
        answers_seen = []
        for address in ("perdu@example.org", "inconnu@example.org"):
            tab.goto(stack.base + "/candidater/dossier-perdu/")
            tab.get_by_label("Adresse e-mail de contact").fill(address)
            tab.get_by_role("button", name="Recevoir le lien").click()
            tab.wait_for_load_state("load")
            assert tab.locator(".adresse-saisie").inner_text() == address
            answers_seen.append(tab.locator("main").inner_text().replace(address, "…"))
        assert answers_seen[0] == answers_seen[1] and "Si cette adresse est celle d'un dossier" in answers_seen[0]
        [mail] = stack.mails_to("perdu@example.org", 1, "Lien de votre dossier")
        tab.goto(stack.base + link_in(mail.message))
        assert tab.locator(".dossier-email").inner_text() == "perdu@example.org"
        assert not [item for item in stack.inbox.messages if "inconnu@example.org" in item.recipients]
    finally:
        context.close()


def test_axe_and_the_nu_checker_find_nothing_on_the_lost_link_and_bad_link_pages(stack, browser_context):
    tab = browser_context.new_page()
    tab.goto(stack.base + "/candidater/dossier-perdu/")
    stack.audit(tab, "lost link")
    tab.get_by_label("Adresse e-mail de contact").fill("pas-une-adresse")
    tab.get_by_role("button", name="Recevoir le lien").click()
    tab.wait_for_load_state("load")
    assert "Saisissez une adresse e-mail valide" in tab.locator(".error-summary").inner_text()
    stack.audit(tab, "lost link with an error")
    tab.get_by_label("Adresse e-mail de contact").fill("quelquun@example.org")
    tab.get_by_role("button", name="Recevoir le lien").click()
    tab.wait_for_load_state("load")
    stack.audit(tab, "lost link sent")
    reply = tab.goto(stack.base + "/candidater/recu/AMI-2021-0001?cle=tronque")
    assert reply.status == 404 and "Lien de dossier incomplet" in tab.locator("h1").inner_text()
    stack.audit(tab, "bad link")
    tab.get_by_role("link", name="Recevoir à nouveau le lien de mon dossier").click()
    tab.wait_for_url(stack.base + "/candidater/dossier-perdu/")
    stack.assert_accessible()


def test_a_correction_sent_once_the_analysis_started_keeps_the_answers_and_leads_back_to_the_dossier(stack, chromium):
    """The correction form was open when a reviewer started the analysis: the post stores
    nothing, the page shows the typed answers to copy and « Retour à mon dossier »."""
    from collector.dossier import all_versions
    from collector.statuses import change_status
    from tests.support.payloads import fetch_hidden, post_form

    for javascript in (False, True):
        answers = {**valid_answers(FORM), "contact_email": f"tardif-{javascript}@example.org".lower()}
        sent = post_form(stack.base, answers, fetch_hidden(stack.base))
        assert sent.status == 303
        dossier = sent.headers["location"].removeprefix(stack.base)
        reference = re.search(r"AMI-2021-\d{4}", dossier).group(0)
        context = chromium.new_context(locale="fr-FR", java_script_enabled=javascript)
        try:
            tab = context.new_page()
            tab.goto(stack.base + dossier)
            tab.get_by_role("link", name="Corriger mes réponses").click()
            tab.wait_for_load_state("load")
            tab.fill("#projet_titre", f"Titre à garder {javascript}")
            with stack.store.opened() as kept:
                change_status(kept, reference, "en_instruction", by="alice")
            tab.click("button[type=submit]")
            tab.locator("#formulaire-ferme").wait_for(state="visible")
            assert "Les corrections en ligne ne sont plus possibles" in tab.locator("main").inner_text()
            assert f"Titre à garder {javascript}" in tab.input_value("#reponses-a-copier")
            assert tab.locator("form.ami-form").count() == 0
            if javascript:
                stack.audit(tab, "correction refused once closed")
            tab.get_by_role("link", name="Retour à mon dossier").click()
            tab.wait_for_url(re.compile(re.escape(reference) + r"\?cle="))
            assert tab.locator("h1").inner_text() == f"Votre dossier {reference}"
            assert tab.locator(".dossier-status").inner_text() == "en cours d'analyse"
        finally:
            context.close()
        with stack.store.opened() as kept:
            assert len(all_versions(kept, reference)) == 1
    stack.assert_accessible()


def test_a_porteur_corrects_an_answer_before_the_deadline_and_the_export_shows_version_2(stack, chromium):
    from collector.dossier import all_versions, short_hash

    answers = {**valid_answers(FORM), "contact_email": "corrige@example.org", "projet_titre": "Premier titre"}
    for javascript in (False, True):
        context = chromium.new_context(locale="fr-FR", java_script_enabled=javascript)
        try:
            tab = context.new_page()
            tab.goto(stack.base + "/candidater/")
            fill(tab, {**answers, "projet_titre": f"Premier titre {javascript}"})
            tab.click("button[type=submit]")
            tab.wait_for_url(re.compile(r"/candidater/recu/AMI-2021-\d{4}\?cle="))
            reference = re.search(r"AMI-2021-\d{4}", tab.url).group(0)
            tab.get_by_role("link", name="Corriger mes réponses").click()
            tab.wait_for_load_state("load")
            assert tab.input_value("#projet_titre") == f"Premier titre {javascript}"
            if javascript:
                stack.audit(tab, "correction form")
            tab.fill("#siret", "123")
            tab.click("button[type=submit]")
            tab.locator("#siret-error").wait_for(state="visible")
            if javascript:
                stack.audit(tab, "correction with an error")
            tab.fill("#siret", valid_answers(FORM)["siret"])
            tab.fill("#projet_titre", f"Titre corrigé {javascript}")
            tab.click("button[type=submit]")
            tab.wait_for_url(re.compile(r"fait=correction"))
            assert "Vos réponses corrigées sont enregistrées" in tab.locator("main").inner_text()
            assert f"Titre corrigé {javascript}" in tab.locator(".answers").inner_text()
            if javascript:
                stack.audit(tab, "dossier after a correction")
        finally:
            context.close()
        with stack.store.opened() as kept:
            first, second = all_versions(kept, reference)
        assert first["answers"]["projet_titre"] == f"Premier titre {javascript}"
        assert second["answers"]["projet_titre"] == f"Titre corrigé {javascript}"
        acknowledgement = stack.mails_to("corrige@example.org", 1, f"Réponses corrigées {reference}")[0]
        assert short_hash(second["content_hash"]) in acknowledgement.message.get_content()
        stack.mails_to("amenagement.numerique@normandie.fr", 1, f"Dossier {reference} corrigé")

    context = chromium.new_context(locale="fr-FR", accept_downloads=True)
    try:
        tab = context.new_page()
        log_in(tab, stack.base)
        with tab.expect_download() as download:
            tab.get_by_role("link", name="tableur CSV").click()
        import csv
        with open(download.value.path(), encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle, delimiter=";"))
        row = [line for line in rows if line[0] == reference][0]
        assert row[rows[0].index("Version")] == "2" and row[rows[0].index("Titre du projet")] == "Titre corrigé True"
    finally:
        context.close()
    stack.assert_accessible()
