"""A reference is never handed out twice: the counter is fsynced, a lost or rolled-back
counter is rebuilt from everything on disk, and an ids/ link never points at a missing
record (the real allocator, the real application, faults injected on OS calls)."""

from __future__ import annotations

import errno
import os
import time

import pytest

from collector.idempotency import IDS_DIR
from collector.sequence import COUNTER_FILE, STATE_DIR, next_reference
from tests.proof.support import PROOF_ENV
from tests.review.factory import write_records
from tests.support.payloads import encode_form, form_hidden_fields, valid_answers

pytestmark = pytest.mark.proof

PREFIX = "AMI-2021"


def touch(data_dir: str, relative: str) -> None:
    path = os.path.join(data_dir, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("x\n")


def set_counter(data_dir: str, text: str | None) -> None:
    path = os.path.join(data_dir, STATE_DIR, COUNTER_FILE)
    if text is None:
        os.unlink(path)
        return
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)


def test_the_reference_is_reserved_durably_before_it_is_handed_out(data_dir, monkeypatch):
    """The counter's block reservation (sequence.reserved) is fsynced and its name too."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    assert next_reference(data_dir, PREFIX) == "AMI-2021-0001"
    assert synced[-1] == os.path.join(data_dir, STATE_DIR)  # the folder, once the reservation is in place
    with open(os.path.join(data_dir, STATE_DIR, COUNTER_FILE + ".reserved"), encoding="ascii") as handle:
        assert int(handle.read().split()[0]) >= 1


def test_a_lost_counter_is_rebuilt_from_records_histories_mails_and_ids_links(data_dir):
    write_records(data_dir, 3)
    next_reference(data_dir, PREFIX)
    touch(data_dir, "reviews/AMI-2021-0005.yaml")
    touch(data_dir, "sent/AMI-2021-0007.accuse.eml")
    os.makedirs(os.path.join(data_dir, IDS_DIR), exist_ok=True)
    os.symlink("AMI-2021-0009", os.path.join(data_dir, IDS_DIR, "envoi-en-cours"))
    set_counter(data_dir, None)
    assert next_reference(data_dir, PREFIX) == "AMI-2021-0010"


@pytest.mark.parametrize("left_on_disk", ["reviews/AMI-2021-0004.yaml", "outbox/AMI-2021-0004.notification.eml",
                                          "failed/AMI-2021-0004.accuse.eml"])
def test_a_counter_that_went_back_never_reuses_a_reference_named_on_disk(data_dir, left_on_disk):
    write_records(data_dir, 3)
    touch(data_dir, left_on_disk)
    next_reference(data_dir, PREFIX)
    set_counter(data_dir, "1\n")  # restored from an old backup
    assert next_reference(data_dir, PREFIX) == "AMI-2021-0005"
    assert next_reference(data_dir, PREFIX) == "AMI-2021-0006"


@pytest.fixture
def app(data_dir, monkeypatch):
    for name, value in {**PROOF_ENV, "COLLECTOR_DATA_DIR": data_dir}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("COLLECTOR_SITE_DIR", raising=False)
    from collector import create_app

    return create_app()


def post(client, hidden: dict[str, str], answers: dict):
    return client.post("/candidater/", data=encode_form(answers, hidden), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
        "Origin": "http://127.0.0.1:8000"})


def test_a_failed_write_leaves_no_link_and_its_retry_never_gets_another_porteurs_receipt(app, data_dir, monkeypatch):
    client = app.test_client()
    answers = valid_answers(app.config["FORM"])
    first = form_hidden_fields(client.get("/candidater/").text)

    def full_disk(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "link", full_disk)
        assert post(client, first, {**answers, "projet_titre": "Projet du premier porteur"}).status_code == 503
    links = os.listdir(os.path.join(data_dir, IDS_DIR))
    assert links == [], "an ids/ link points at a record that was never written"

    set_counter(data_dir, None)  # and the counter is lost as well
    second = form_hidden_fields(client.get("/candidater/").text)
    other = post(client, second, {**answers, "projet_titre": "Projet d'un autre porteur"})
    assert other.status_code == 201

    retry = post(client, first, {**answers, "projet_titre": "Projet du premier porteur"})
    assert retry.status_code == 201
    assert retry.get_json()["reference"] != other.get_json()["reference"]
    receipt = client.get(retry.get_json()["confirmation_url"]).text
    assert "Projet du premier porteur" in receipt and "Projet d'un autre porteur" not in receipt


def test_links_to_a_record_never_written_are_removed_when_the_collector_starts(data_dir, monkeypatch):
    write_records(data_dir, 1)
    folder = os.path.join(data_dir, IDS_DIR)
    os.makedirs(folder)
    for name, target in {"mort": "AMI-2021-0002", "en-cours": "AMI-2021-0003", "bon": "AMI-2021-0001"}.items():
        os.symlink(target, os.path.join(folder, name))
    hour_ago = time.time() - 7200
    for name in ("mort", "bon"):
        os.utime(os.path.join(folder, name), (hour_ago, hour_ago), follow_symlinks=False)
    for name, value in {**PROOF_ENV, "COLLECTOR_DATA_DIR": data_dir}.items():
        monkeypatch.setenv(name, value)
    from collector import create_app

    create_app()
    # a fresh link may belong to a post being written right now: it stays
    assert sorted(os.listdir(folder)) == ["bon", "en-cours"]
