"""Without JavaScript, in Chromium, the dossier page's forms bring the reviewer to what answers them:
a refusal opens the page at its error summary, focused (a screen reader reads it first, the next
Tab reaches its links), and a success at its confirmation, focused and on screen."""

from __future__ import annotations

import pytest

from tests.review.test_review_browser import review_collector, tab_without_javascript
from tests.support.server_store import new_server_store, server_store_kind  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def review_server(tmp_path_factory, new_server_store):  # noqa: F811 - the fixture above
    with review_collector(tmp_path_factory.mktemp("review-focus"), 3, workers=1, store=new_server_store()) as server:
        yield server


def send(tab, url: str, fill: dict[str, str], button: str) -> None:
    """Fill a form of the page at `url` by its labels and send it with `button`."""
    tab.goto(url, wait_until="load")
    for label, value in fill.items():
        tab.get_by_label(label, exact=True).fill(value)
    tab.get_by_role("button", name=button).click()
    tab.wait_for_load_state("load")


def focused_id(tab) -> str:
    return tab.evaluate("document.activeElement.id")


def on_screen(tab, element_id: str) -> bool:
    return tab.evaluate("""(id) => {
        const box = document.getElementById(id).getBoundingClientRect();
        return box.top > -1 && box.bottom < window.innerHeight + 1;  // within a pixel: scrolling rounds
    }""", element_id)


@pytest.mark.parametrize("button, fill", [
    ("Envoyer le message", {"Message au porteur": "", "Compléments attendus jusqu'au (facultatif)": "2021-04-01"}),
    ("Ajouter la note", {"Note": ""}),
    ("Proposer la rencontre", {}),  # no date for the first slot
])
def test_a_refused_form_opens_at_its_focused_error_summary(review_server, chromium, button, fill):
    with tab_without_javascript(chromium, review_server) as tab:
        send(tab, review_server.base_url + "/instruction/AMI-2021-0002", fill, button)
        assert tab.url.endswith("#erreurs")
        assert focused_id(tab) == "erreurs" and on_screen(tab, "erreurs")
        tab.keyboard.press("Tab")
        assert tab.evaluate("document.activeElement.closest('#erreurs') !== null")  # its first link


@pytest.mark.parametrize("button, fill, confirmed", [
    ("Envoyer le message", {"Message au porteur": "Pouvez-vous préciser le budget ?"}, "Message enregistré"),
    ("Ajouter la note", {"Note": "Dossier complet."}, "Note ajoutée."),
    ("Révoquer le lien et envoyer le nouveau", {}, "révoqué"),
])
def test_a_stored_form_opens_at_its_focused_confirmation_on_screen(review_server, chromium, button, fill, confirmed):
    with tab_without_javascript(chromium, review_server) as tab:
        send(tab, review_server.base_url + "/instruction/AMI-2021-0003", fill, button)
        assert tab.url.endswith("#confirmation")
        assert confirmed in tab.locator("#confirmation").inner_text()
        assert focused_id(tab) == "confirmation" and on_screen(tab, "confirmation")
