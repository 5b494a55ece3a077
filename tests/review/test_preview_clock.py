"""With the preview clock (AMI_NOW, 15 April 2021 10:00 in these tests), what a reviewer records
is dated by it, as everything else is: status changes and notes, from the pages and the commands."""

from __future__ import annotations

import pytest

from collector.statuses import read_history
from tests.conftest import STORE_KINDS
from tests.review.conftest import ENV, csrf_of

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
PREVIEW = ENV["AMI_NOW"] + "+02:00"  # Paris, summer time


def dates(store, reference: str) -> list[str]:
    return [event["at"] for event in read_history(store, reference)["events"]]


@ON_BOTH_STORES
def test_a_status_change_and_a_note_from_the_dossier_page_are_dated_by_the_preview_clock(logged_in, records,
                                                                                         test_store):
    token = csrf_of(logged_in.get("/instruction/AMI-2021-0001").text)
    changed = logged_in.post("/instruction/AMI-2021-0001/statut",
                             data={"csrf_token": token, "statut": "en_instruction", "statut_actuel": "recu"})
    noted = logged_in.post("/instruction/AMI-2021-0001/note", data={"csrf_token": token, "texte": "Dossier complet."})
    assert (changed.status_code, noted.status_code) == (303, 303)
    assert dates(test_store, "AMI-2021-0001") == [PREVIEW, PREVIEW]


@ON_BOTH_STORES
def test_the_status_and_note_commands_date_by_the_preview_clock(runner, records, test_store):
    assert runner.invoke(args=["status", "AMI-2021-0002", "en_instruction", "--by", "bruno"]).exit_code == 0
    assert runner.invoke(args=["note", "AMI-2021-0002", "À rappeler.", "--by", "bruno"]).exit_code == 0
    assert dates(test_store, "AMI-2021-0002") == [PREVIEW, PREVIEW]
