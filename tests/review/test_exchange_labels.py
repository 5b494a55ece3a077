"""The exchanges as reviewers read them: a porteur's message is a « réponse du porteur » only when
it answers a message of the Région, else a « message du porteur » (their first, or one more after
their own), on the dossier page (history and exchanges) and in `show`, as in the notice mail."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collector.dossier import labelled_events, write_porteur_reply, write_to_porteur
from tests.conftest import STORE_KINDS

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
START = datetime(2021, 4, 15, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def exchanges(records, test_store):
    """AMI-2021-0001: the porteur writes first, then again, the Région writes, the porteur answers."""
    reference = "AMI-2021-0001"
    write_porteur_reply(test_store, reference, "Première question du porteur.", now=START)
    write_porteur_reply(test_store, reference, "J'ajoute une précision.", now=START + timedelta(hours=1))
    write_to_porteur(test_store, reference, "Réponse de la Région.", by="alice", now=START + timedelta(hours=2))
    write_porteur_reply(test_store, reference, "Merci, voici le budget.", now=START + timedelta(hours=3))
    return reference


def test_a_porteur_message_is_a_reply_only_after_a_message_of_the_region():
    events = [{"kind": "reponse_porteur"}, {"kind": "note"}, {"kind": "reponse_porteur"}, {"kind": "message"},
              {"kind": "note"}, {"kind": "reponse_porteur"}, {"kind": "reponse_porteur"}]
    assert [label for _event, label in labelled_events(events)] == [
        "message du porteur", "note", "message du porteur", "message au porteur", "note", "réponse du porteur",
        "message du porteur"]


def labels_in(section: str) -> list[str]:
    return re.findall(r"(message du porteur|réponse du porteur|message au porteur)", section)


@ON_BOTH_STORES
def test_the_dossier_page_names_a_first_message_as_a_message_not_a_reply(logged_in, exchanges):
    page = html.unescape(logged_in.get(f"/instruction/{exchanges}").text)
    history = page.split("<h2>Historique</h2>")[1].split("<h2>Décision</h2>")[0]
    thread = page.split('<h2 id="echanges">')[1].split("<form")[0]
    expected = ["message du porteur", "message du porteur", "message au porteur", "réponse du porteur"]
    assert labels_in(history) == expected and labels_in(thread) == expected


@ON_BOTH_STORES
def test_show_names_a_first_message_as_a_message_not_a_reply(runner, exchanges):
    result = runner.invoke(args=["show", exchanges])
    assert result.exit_code == 0, result.output
    assert labels_in(result.output.split("Historique :")[1]) == [
        "message du porteur", "message du porteur", "message au porteur", "réponse du porteur"]
