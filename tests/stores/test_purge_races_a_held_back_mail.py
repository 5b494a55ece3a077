"""A mail the porteur mail caps hold back in the very instant of its dossier's purge (`purge
--reference`, an erasure), on both stores: its name is « remembered » in the outbox (mail-queued/
on the data folder, a row without message in PostgreSQL) so that no catch-up ever sends it. That
name is written under the lock the purge holds, the record checked there
(Outbox.hold_back_for_dossier): either it came first and the purge forgets it with the rest, or
the purge came first and nothing is written. Never a name left behind with a purged reference.

The interleavings are real: a correction's mails read before the purge and held back after it
(the purge wholly done in between), and a hold-back waiting on the history's lock behind a purge
held inside its locked section (test_purge_races_an_append.py's fault injection on the data
folder, the test's advisory lock on PostgreSQL)."""

from __future__ import annotations

import os
import threading

from collector import appstate, statuses
from collector.mail import lifecycle
from collector.porteur import mail_caps

from .test_purge import SECRET, make_host, store_kind  # noqa: F401 - fixtures: each test on both stores
from .test_purge_races_a_mail import NOTHING, REFERENCE, host, left_of, message  # noqa: F401 - `host`: a fixture
from .test_purge_races_an_append import advisory_waiters, flock_waiters, purge_ahead_of_the_append, wait_until

CONTACT = "contact1@exemple.fr"  # AMI-2021-0001's contact
STAFF = "amenagement.numerique@normandie.fr"


def capped_acknowledgement(store) -> list[lifecycle.Mail]:
    """A correction's acknowledgement to an address that had its mails of the day: to be held back."""
    for _mail in range(mail_caps.MAILS_PER_ADDRESS_PER_DAY):
        assert mail_caps.recipient_allowed(store, SECRET, CONTACT)
    return [lifecycle.Mail("accuse-v2", message("accuse-v2"), CONTACT)]


def test_a_mail_held_back_after_its_dossier_was_erased_leaves_no_name(host, data_dir):
    store = appstate.store(host)
    mails = capped_acknowledgement(store)  # the correction stored its version before the erasure
    result = host.test_cli_runner().invoke(args=["purge", "--reference", REFERENCE])
    assert "supprimée(s) à la demande" in result.output, result.output
    assert mail_caps.within_caps(store, SECRET, REFERENCE, mails, STAFF) == [], "nothing to queue either"
    assert left_of(store, data_dir) == NOTHING


def test_a_mail_held_back_while_its_dossier_is_erased_waits_for_the_purge_and_leaves_no_name(
        host, store_kind, data_dir, request, monkeypatch):
    store = appstate.store(host)
    mails = capped_acknowledgement(store)
    outcome: dict[str, list] = {}

    def hold_back() -> None:
        outcome["kept"] = mail_caps.within_caps(store, SECRET, REFERENCE, mails, STAFF)

    if store_kind == "folder":
        lock = os.path.join(data_dir, statuses.LOCKS_DIR, f"review-{REFERENCE}.lock")
        waits = lambda: flock_waiters(lock) == 1  # noqa: E731
    else:
        url = request.getfixturevalue("database_url")
        waits = lambda: advisory_waiters(url) == 2  # noqa: E731 - the purge, then the hold-back
    purge = threading.Thread(target=lambda: list(store.retention.forget([REFERENCE])))
    late = threading.Thread(target=hold_back)
    with purge_ahead_of_the_append(store_kind, data_dir, request, monkeypatch) as (purge_ahead, _append_waits):
        purge.start()
        purge_ahead()
        late.start()
        wait_until(waits, "the hold-back waits behind the purge, on the lock the purge holds")
    purge.join(30)
    late.join(30)
    assert outcome == {"kept": []}
    assert left_of(store, data_dir) == NOTHING
