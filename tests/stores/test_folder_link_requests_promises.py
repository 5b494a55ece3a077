"""The data folder's lost-link requests (store.link_requests on FolderStore): the request files of
link_requests.py, claimed one at a time (one mailer per folder: its lock), removed once handled,
left for the next round otherwise, and removed unhandled past MAX_AGE."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from collector.link_requests import MAX_AGE, REQUESTS_DIR
from collector.stores.folder import FolderStore


@pytest.fixture
def requests(data_dir):
    return FolderStore(data_dir).link_requests


def files(data_dir):
    folder = os.path.join(data_dir, REQUESTS_DIR)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_a_request_is_one_file_named_at_random_holding_the_address_and_its_time(requests, data_dir):
    request_id = requests.write("camille@asso.fr")
    assert files(data_dir) == [request_id + ".json"] and requests.waiting() == [request_id]
    with open(os.path.join(data_dir, REQUESTS_DIR, request_id + ".json"), encoding="utf-8") as handle:
        content = json.load(handle)
    assert content["address"] == "camille@asso.fr"
    assert abs(datetime.fromisoformat(content["at"]) - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_a_claim_gives_the_request_and_removes_it_only_once_handled(requests, data_dir):
    first, second = requests.write("un@asso.fr"), requests.write("deux@asso.fr")
    with requests.claim() as claim:
        assert claim.id == min(first, second) and claim.address in ("un@asso.fr", "deux@asso.fr")
        assert claim.made is not None
    assert requests.waiting() == sorted([first, second]), "unhandled: it waits"
    with requests.claim([min(first, second)]) as claim:
        assert claim.id == max(first, second)
        claim.handled = True
    assert requests.waiting() == [min(first, second)]
    with requests.claim([min(first, second)]) as claim:
        assert claim is None


def test_an_unreadable_request_is_claimed_without_an_address(requests, data_dir):
    os.makedirs(os.path.join(data_dir, REQUESTS_DIR))
    with open(os.path.join(data_dir, REQUESTS_DIR, "c" * 32 + ".json"), "w", encoding="utf-8") as handle:
        handle.write("{pas du json")
    with requests.claim() as claim:
        assert (claim.id, claim.address, claim.made) == ("c" * 32, None, None)


def test_requests_older_than_a_week_are_removed_unhandled(requests, data_dir):
    recent = requests.write("camille@asso.fr")
    assert requests.remove_expired() == 0
    assert requests.remove_expired(datetime.now(timezone.utc) + MAX_AGE + timedelta(minutes=1)) == 1
    assert recent + ".json" not in files(data_dir)
