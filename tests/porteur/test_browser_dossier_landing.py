"""Where the dossier page lands after a porteur's post, in Chromium without JavaScript on a phone's
screen (390 × 844), through gunicorn: a refused message or meeting choice shows the error summary
(the form posts to `…#erreurs`) and the next Tab reaches its link first; a success shows the
confirmation (the redirect ends with `#confirmation`); a refused « Aucun de ces créneaux ne me
convient » comes back ticked. On each store `--store` names. (axe-core needs JavaScript: the dossier page's
states are audited by test_browser_exchanges.py.)"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from collector import meetings
from collector.porteur.links import dossier_path
from collector.statuses import PARIS, read_history
from tests.review.factory import write_records
from tests.support.server_store import new_server_store, server_store, server_store_kind  # noqa: F401 - fixtures

from .journeys import SECRET, porteur_stack

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SLOTS = [meetings.Slot(datetime(2021, 6, 15, 14, 30, tzinfo=PARIS), 60, "https://visio.example/ami", "Anne Houlette"),
         meetings.Slot(datetime(2021, 6, 17, 9, 30, tzinfo=PARIS), 60, "Hôtel de Région, Caen", "Laure Brainville")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, server_store):
    with porteur_stack(str(tmp_path_factory.mktemp("porteur-landing")), "2021-06-10T10:00:00",
                       server_store) as running:
        write_records(server_store.data_dir, 2)
        with server_store.opened() as kept:
            meetings.propose(kept, "AMI-2021-0002", SLOTS, by="alice", now=datetime(2021, 6, 10, 9, tzinfo=PARIS))
        yield running


@pytest.fixture
def phone(chromium):
    """A phone's screen without JavaScript: only HTML decides where the page lands."""
    context = chromium.new_context(locale="fr-FR", java_script_enabled=False, viewport=PHONE)
    yield context.new_page()
    context.close()


def wholly_in_view(tab, selector: str) -> bool:
    box = tab.locator(selector).bounding_box()
    return bool(box) and box["y"] >= -1 and box["y"] + box["height"] <= PHONE["height"]  # -1: sub-pixel layout


def assert_refusal_lands_on_the_summary(tab, message: str) -> None:
    assert tab.url.endswith("#erreurs")
    assert message in tab.locator(".error-summary").inner_text()
    assert wholly_in_view(tab, ".error-summary")
    tab.keyboard.press("Tab")  # the page's skip link and menu come before it in the document
    assert tab.evaluate("document.activeElement.closest('.error-summary') !== null")


def test_a_refused_then_sent_message_lands_on_the_summary_then_on_the_confirmation(stack, phone):
    phone.goto(stack.base + dossier_path(SECRET, "AMI-2021-0001"))
    phone.get_by_role("button", name="Envoyer mon message").click()
    phone.wait_for_load_state("load")
    assert_refusal_lands_on_the_summary(phone, "Votre message est vide")
    phone.get_by_label("Écrire à la Région").fill("Pouvons-nous joindre un budget détaillé ?")
    phone.get_by_role("button", name="Envoyer mon message").click()
    phone.wait_for_url(re.compile(r"fait=message#confirmation$"))
    assert "Votre message est enregistré" in phone.locator("p[role=status]").inner_text()
    assert wholly_in_view(phone, "p[role=status]")


def test_autre_refused_for_empty_availabilities_stays_ticked_and_the_request_then_goes(stack, phone):
    phone.goto(stack.base + dossier_path(SECRET, "AMI-2021-0002"))
    other = phone.get_by_label("Aucun de ces créneaux ne me convient")
    other.check()
    phone.get_by_role("button", name="Envoyer mon choix").click()
    phone.wait_for_load_state("load")
    assert_refusal_lands_on_the_summary(phone, "Vos disponibilités : à remplir.")
    assert other.is_checked()
    phone.get_by_label("Si aucun ne convient : vos disponibilités").fill("Les mardis après-midi.")
    phone.get_by_role("button", name="Envoyer mon choix").click()
    phone.wait_for_url(re.compile(r"fait=autre-creneau#confirmation$"))
    assert "vous proposera d'autres créneaux" in phone.locator("p[role=status]").inner_text()
    assert wholly_in_view(phone, "p[role=status]")
    with stack.store.opened() as kept:
        kinds = [event["kind"] for event in read_history(kept, "AMI-2021-0002")["events"]]
    assert kinds == ["rencontre_proposee", "rencontre_autre_creneau"]
