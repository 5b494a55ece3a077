"""What a hostile review of the dossier's life found: a stale page, odd digits, a mail that cannot be queued."""

from __future__ import annotations

import os
import shutil
from datetime import datetime

import pytest

from collector import meetings
from collector.dossier import version_numbers
from collector.statuses import PARIS, read_history
from tests.conftest import STORE_KINDS

from .conftest import CLOSED_NOW, link
from .test_corrections import corrected, send_correction
from .test_meetings import SLOTS, post


@pytest.fixture
def june(monkeypatch):
    monkeypatch.setenv("AMI_NOW", CLOSED_NOW)


def test_a_meeting_cancelled_after_the_porteur_read_the_page_cannot_be_accepted(june, reviewer, records, kept):
    post(reviewer, "rencontre", **SLOTS)
    stale = read_history(kept, "AMI-2021-0001")  # the porteur's page, read before the cancellation
    assert post(reviewer, "rencontre/1/annuler").status_code == 303
    now = datetime(2021, 6, 10, 10, tzinfo=PARIS)
    with pytest.raises(meetings.MeetingError, match="n'attend plus de réponse"):
        meetings.accept(kept, "AMI-2021-0001", stale, 1, 0, now)
    with pytest.raises(meetings.MeetingError, match="n'attend plus de réponse"):
        meetings.ask_other(kept, "AMI-2021-0001", stale, 1, "Les mardis.", now)
    assert meetings.meetings_of(read_history(kept, "AMI-2021-0001"))[0].state == meetings.CANCELLED


@pytest.mark.parametrize("choice", ["²", "١", "1.0", " 1", "999"])
def test_a_slot_chosen_with_anything_but_plain_digits_is_a_french_422(june, reviewer, client, records, kept, choice):
    post(reviewer, "rencontre", **SLOTS)
    reply = client.post(link("AMI-2021-0001", "rencontre/1"), data={"choix": choice})
    assert reply.status_code == 422 and "Choisissez l&#39;un des créneaux proposés" in reply.text
    assert meetings.meetings_of(read_history(kept, "AMI-2021-0001"))[0].state == meetings.PROPOSED


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_a_stored_correction_is_confirmed_even_when_its_mails_cannot_be_queued(client, records, data_dir, kept):
    memory = os.path.join(data_dir, "mail-queued")
    shutil.rmtree(memory, ignore_errors=True)
    with open(memory, "w", encoding="utf-8") as handle:  # a file where the outbox's memory folder should be
        handle.write("not a folder")
    reply = send_correction(client, corrected(records[0], projet_titre="Titre corrigé"))
    assert reply.status_code == 303 and reply.headers["Location"].endswith("&fait=correction")
    assert version_numbers(kept, "AMI-2021-0001") == [2]
    assert "Titre corrigé" in client.get(reply.headers["Location"]).text
