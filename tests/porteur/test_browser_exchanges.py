"""Browser journey after the deadline: a reviewer asks for complements, the porteur provides
them and answers, through gunicorn and a real SMTP server; axe-core and the Nu checker; on each store
`--store` names."""

from __future__ import annotations

import re

import pytest

from collector.dossier import all_versions
from collector.statuses import read_history
from tests.review.factory import write_records
from tests.support.server_store import new_server_store, server_store, server_store_kind  # noqa: F401 - fixtures

from .journeys import link_in, log_in, porteur_stack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory, server_store):
    with porteur_stack(str(tmp_path_factory.mktemp("porteur-exchanges")), "2021-06-10T10:00:00",
                       server_store) as running:
        write_records(server_store.data_dir, 3)
        yield running


def test_a_reviewer_asks_for_complements_after_the_deadline_and_the_porteur_provides_them(stack, browser_context,
                                                                                            chromium):
    reviewer = browser_context.new_page()
    log_in(reviewer, stack.base)
    reviewer.goto(stack.base + "/instruction/AMI-2021-0001")
    reviewer.get_by_label("Message au porteur").fill("")
    reviewer.get_by_role("button", name="Envoyer le message").click()
    reviewer.wait_for_load_state("load")
    assert "Le message est vide" in reviewer.locator(".error-summary").inner_text()
    stack.audit(reviewer, "review detail with a message error")
    reviewer.get_by_label("Message au porteur").fill("Merci de préciser le budget du projet.")
    reviewer.get_by_label("Compléments attendus jusqu'au (facultatif)").fill("2021-06-20")
    reviewer.get_by_role("button", name="Envoyer le message").click()
    reviewer.wait_for_url(re.compile(r"/instruction/AMI-2021-0001#confirmation"))
    assert "Message enregistré" in reviewer.locator("main").inner_text()

    [mail] = stack.mails_to("contact1@exemple.fr", 1, "Message de la Région")
    assert "jusqu'au dimanche 20 juin 2021" in mail.message.get_content()
    porteur = chromium.new_context(locale="fr-FR", java_script_enabled=False)
    try:
        tab = porteur.new_page()
        tab.goto(stack.base + link_in(mail.message))
        assert "Merci de préciser le budget du projet." in tab.locator("#echanges + ol").inner_text()
        assert "alice" not in tab.content()
        tab.get_by_role("link", name="Corriger mes réponses").click()
        tab.wait_for_load_state("load")
        tab.fill("#description", "Ouvrir un tiers-lieu : budget de 120 000 euros sur deux ans, détaillé ici.")
        tab.click("button[type=submit]")
        tab.wait_for_url(re.compile(r"fait=correction"))
        tab.get_by_label("Répondre à la Région").fill("x" * 5001)
        tab.get_by_role("button", name="Envoyer mon message").click()
        tab.wait_for_load_state("load")
        assert "5\u202f000 au plus" in tab.locator(".error-summary").inner_text()
        tab.get_by_label("Répondre à la Région").fill("Le budget est précisé dans la description.")
        tab.get_by_role("button", name="Envoyer mon message").click()
        tab.wait_for_url(re.compile(r"fait=message"))
        assert "Votre message est enregistré" in tab.locator("main").inner_text()
    finally:
        porteur.close()
    with stack.store.opened() as kept:
        last = all_versions(kept, "AMI-2021-0001")[-1]
        kinds = [event["kind"] for event in read_history(kept, "AMI-2021-0001")["events"]]
    assert last["answers"]["description"].startswith("Ouvrir un tiers-lieu : budget")
    assert kinds == ["message", "correction", "reponse_porteur"]
    stack.mails_to("amenagement.numerique@normandie.fr", 1, "Réponse du porteur — dossier AMI-2021-0001")

    reviewer.goto(stack.base + "/instruction/AMI-2021-0001")
    thread = reviewer.locator("#echanges + ol").inner_text()
    assert thread.index("Merci de préciser") < thread.index("Le budget est précisé")
    stack.audit(reviewer, "review detail with a thread")
    dossier_tab = browser_context.new_page()
    dossier_tab.goto(stack.base + link_in(mail.message))
    stack.audit(dossier_tab, "dossier with a thread")
    dossier_tab.get_by_label("Répondre à la Région").fill("")
    dossier_tab.get_by_role("button", name="Envoyer mon message").click()
    dossier_tab.wait_for_load_state("load")
    stack.audit(dossier_tab, "dossier with an answer error")
    dossier_tab.get_by_label("Répondre à la Région").fill("Une précision encore : le budget inclut le mobilier.")
    dossier_tab.get_by_role("button", name="Envoyer mon message").click()
    dossier_tab.wait_for_url(re.compile(r"fait=message"))
    # the porteur wrote last: this one is no answer, and its notice says so
    stack.mails_to("amenagement.numerique@normandie.fr", 1, "Nouveau message du porteur — dossier AMI-2021-0001")
    stack.assert_accessible()
    assert browser_context.outside == []


def test_a_reviewer_sets_an_outcome_previews_and_sends_the_letter_and_the_dossier_shows_it(stack, browser_context):
    reviewer = browser_context.new_page()
    log_in(reviewer, stack.base)
    for status in ("en_instruction", "oriente_appel_a_projets"):
        reviewer.goto(stack.base + "/instruction/AMI-2021-0002")
        reviewer.get_by_label("Nouveau statut").select_option(status)
        reviewer.get_by_role("button", name="Changer le statut").click()
        reviewer.wait_for_load_state("load")
    reviewer.get_by_role("button", name="Prévisualiser la lettre").click()
    reviewer.wait_for_load_state("load")
    assert "La motivation est obligatoire" in reviewer.locator(".error-summary").inner_text()
    stack.audit(reviewer, "review detail with a motivation error")
    reviewer.get_by_label("Motivation de la décision (obligatoire, montrée au porteur)").fill(
        "Votre projet correspond à l'appel à projets « Tiers-lieux » de l'automne.")
    reviewer.get_by_role("button", name="Prévisualiser la lettre").click()
    reviewer.wait_for_load_state("load")
    assert "appel à projets" in reviewer.locator(".letter").inner_text()
    stack.audit(reviewer, "answer preview")
    assert not [item for item in stack.inbox.messages if "appel à projets" in str(item.message["Subject"])]
    reviewer.get_by_role("button", name="Envoyer la réponse au porteur").click()
    reviewer.wait_for_url(re.compile(r"/instruction/AMI-2021-0002#confirmation"))
    assert "Réponse enregistrée" in reviewer.locator("main").inner_text()
    assert "Lettre envoyée le" in reviewer.locator("main").inner_text()

    [mail] = stack.mails_to("contact2@exemple.fr", 1, "orientation vers un appel à projets")
    assert "« Tiers-lieux » de l'automne" in mail.message.get_body(preferencelist=("plain",)).get_content()
    tab = browser_context.new_page()
    tab.goto(stack.base + link_in(mail.message))
    assert tab.locator(".dossier-status").inner_text() == "réponse envoyée"
    assert "« Tiers-lieux » de l'automne" in tab.locator(".letter").inner_text()
    stack.audit(tab, "dossier with the answer")
    stack.assert_accessible()


def calendar_in(message):
    from icalendar import Calendar

    [part] = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


def test_a_reviewer_proposes_a_meeting_the_porteur_accepts_and_both_invitations_parse(stack, browser_context, chromium):
    reviewer = browser_context.new_page()
    log_in(reviewer, stack.base)
    reviewer.goto(stack.base + "/instruction/AMI-2021-0003")
    for field, value in (("date-1", "2021-06-15"), ("heure-1", "14:30"), ("lieu-1", "https://visio.example/ami"),
                         ("participants-1", "Anne Houlette"), ("date-2", "2021-06-17"), ("heure-2", "09:30"),
                         ("lieu-2", "Hôtel de Région, Caen"), ("participants-2", "Laure Brainville")):
        reviewer.fill(f"#{field}", value)
    reviewer.get_by_role("button", name="Proposer la rencontre").click()
    reviewer.wait_for_url(re.compile(r"#confirmation"))
    stack.audit(reviewer, "review detail with a meeting")
    [proposal] = stack.mails_to("contact3@exemple.fr", 1, "Proposition de rencontre")
    proposed = calendar_in(proposal.message)
    assert proposed["method"] == "REQUEST" and len(list(proposed.walk("VEVENT"))) == 2

    context = chromium.new_context(locale="fr-FR", java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto(stack.base + link_in(proposal.message))
        tab.get_by_role("button", name="Envoyer mon choix").click()
        tab.wait_for_load_state("load")
        assert "Choisissez l'un des créneaux proposés" in tab.locator(".error-summary").inner_text()
        tab.get_by_label(re.compile("17 juin 2021")).check()
        tab.get_by_role("button", name="Envoyer mon choix").click()
        tab.wait_for_url(re.compile(r"fait=rencontre"))
        assert "Rencontre confirmée" in tab.locator("#rencontres + div").inner_text()
    finally:
        context.close()
    for address in ("contact3@exemple.fr", "amenagement.numerique@normandie.fr"):
        [confirmed] = stack.mails_to(address, 1, "Rencontre")[-1:]
        calendar = calendar_in(confirmed.message)
        [event] = calendar.walk("VEVENT")
        assert calendar["method"] == "REQUEST" and str(event["status"]) == "CONFIRMED"
        assert event.decoded("dtstart").isoformat() == "2021-06-17T09:30:00+02:00"
        assert str(event["location"]) == "Hôtel de Région, Caen"
    reviewer.goto(stack.base + "/instruction/rencontres")
    assert "AMI-2021-0003" in reviewer.locator("table").inner_text()
    stack.audit(reviewer, "meetings view")
    dossier_tab = browser_context.new_page()
    dossier_tab.goto(stack.base + link_in(proposal.message))
    stack.audit(dossier_tab, "dossier with a confirmed meeting")
    stack.assert_accessible()
