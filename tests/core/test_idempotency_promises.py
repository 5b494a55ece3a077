"""collector/idempotency.py keeps its promises: one submission id, one reference, even when posts race."""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from collector import idempotency

SUBMISSION_ID = "Zq8x" * 6


def test_an_unknown_id_has_no_reference(data_dir):
    assert idempotency.lookup(data_dir, SUBMISSION_ID) is None


def test_the_first_claim_wins_and_creates_the_ids_folder(data_dir):
    assert idempotency.claim(data_dir, SUBMISSION_ID, "AMI-2021-0007") == "AMI-2021-0007"
    assert os.readlink(os.path.join(data_dir, "ids", SUBMISSION_ID)) == "AMI-2021-0007"
    assert idempotency.lookup(data_dir, SUBMISSION_ID) == "AMI-2021-0007"


def test_a_later_claim_gets_the_reference_already_given(data_dir):
    idempotency.claim(data_dir, SUBMISSION_ID, "AMI-2021-0007")
    assert idempotency.claim(data_dir, SUBMISSION_ID, "AMI-2021-0008") == "AMI-2021-0007"
    assert os.readlink(os.path.join(data_dir, "ids", SUBMISSION_ID)) == "AMI-2021-0007"


@pytest.mark.parametrize("target", ["../../etc/passwd", "ami-2021-0001", "", "A" * 41])
def test_a_mapping_that_is_not_a_reference_is_ignored(data_dir, target):
    os.makedirs(os.path.join(data_dir, "ids"))
    os.symlink(target or "x y", os.path.join(data_dir, "ids", SUBMISSION_ID))
    assert idempotency.lookup(data_dir, SUBMISSION_ID) is None


def test_a_reference_of_40_characters_is_read(data_dir):
    idempotency.claim(data_dir, SUBMISSION_ID, "A" * 40)
    assert idempotency.lookup(data_dir, SUBMISSION_ID) == "A" * 40


def test_a_plain_file_in_the_way_is_an_error_not_a_reference(data_dir):
    os.makedirs(os.path.join(data_dir, "ids"))
    with open(os.path.join(data_dir, "ids", SUBMISSION_ID), "w") as handle:
        handle.write("AMI-2021-0001")
    assert idempotency.lookup(data_dir, SUBMISSION_ID) is None
    with pytest.raises(FileExistsError):
        idempotency.claim(data_dir, SUBMISSION_ID, "AMI-2021-0002")


def test_an_ids_folder_made_meanwhile_by_another_post_is_no_error(data_dir, monkeypatch):
    """Two first posts at once: both find no ids/ folder, the other one creates it first."""
    real_symlink = os.symlink
    calls = []

    def symlink(target, path):
        calls.append(path)
        if len(calls) == 1:
            os.mkdir(os.path.dirname(path))  # the other post's makedirs, just before ours
            raise FileNotFoundError(2, "No such file or directory", path)
        return real_symlink(target, path)

    monkeypatch.setattr(idempotency.os, "symlink", symlink)
    assert idempotency.claim(data_dir, SUBMISSION_ID, "AMI-2021-0003") == "AMI-2021-0003"
    assert len(calls) == 2


def _claim_at_once(data_dir: str, submission_id: str, reference: str, barrier, results) -> None:
    barrier.wait()
    try:
        results.put((reference, idempotency.claim(data_dir, submission_id, reference)))
    except Exception as error:  # noqa: BLE001 - the parent reports what went wrong
        results.put((reference, repr(error)))


def test_racing_claims_all_get_the_winners_reference(data_dir):
    """Processes claim the same ids at the same instant: every loser answers with the winner's reference."""
    context = multiprocessing.get_context("fork")
    racers = 6
    for round_number in range(8):
        submission_id = f"{SUBMISSION_ID}{round_number}"
        barrier, results = context.Barrier(racers), context.Queue()
        processes = [context.Process(target=_claim_at_once,
                                     args=(data_dir, submission_id, f"AMI-2021-{index:04d}", barrier, results))
                     for index in range(1, racers + 1)]
        for process in processes:
            process.start()
        answers = [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        winner = os.readlink(os.path.join(data_dir, "ids", submission_id))
        assert [answer for _claimed, answer in answers] == [winner] * racers
        assert sum(claimed == winner for claimed, _answer in answers) == 1


# --- links whose record never came --------------------------------------------------------------

def _link_aged(data_dir: str, submission_id: str, reference: str, age: float, now: float) -> None:
    idempotency.claim(data_dir, submission_id, reference)
    os.utime(os.path.join(data_dir, "ids", submission_id), (now - age, now - age), follow_symlinks=False)


def test_the_sweep_removes_only_links_old_enough_whose_record_does_not_exist(data_dir, monkeypatch):
    now = 1_700_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    _link_aged(data_dir, "a" * 32, "AMI-2021-0001", 600, now)  # dangling, exactly at the limit
    _link_aged(data_dir, "b" * 32, "AMI-2021-0002", 599, now)  # dangling, too recent: a post in progress
    _link_aged(data_dir, "c" * 32, "AMI-2021-0003", 6000, now)  # old, but its record exists
    _link_aged(data_dir, "d" * 32, "AMI-2021-0004", 6000, now)  # dangling and long past the limit
    os.makedirs(os.path.join(data_dir, "submissions"), exist_ok=True)
    open(os.path.join(data_dir, "submissions", "AMI-2021-0003.yaml"), "w").close()
    assert idempotency.sweep_dangling(data_dir, 600) == 2
    assert sorted(os.listdir(os.path.join(data_dir, "ids"))) == ["b" * 32, "c" * 32]


def test_release_takes_back_only_the_link_to_that_reference(data_dir):
    idempotency.claim(data_dir, "a" * 32, "AMI-2021-0001")
    idempotency.release(data_dir, "a" * 32, "AMI-2021-0002")  # another reference: kept
    assert idempotency.lookup(data_dir, "a" * 32) == "AMI-2021-0001"
    idempotency.release(data_dir, "a" * 32, "AMI-2021-0001")
    assert idempotency.lookup(data_dir, "a" * 32) is None
    idempotency.release(data_dir, "a" * 32, "AMI-2021-0001")  # already gone: no error


# --- links removed by another process while one is reading or removing them ---------------

def _removed_meanwhile(monkeypatch, function_name: str, victim: str) -> None:
    """os.<function_name> on the entry named `victim` finds it gone, as if another process removed it."""
    real = getattr(os, function_name)

    def racing(path, *args, **kwargs):
        if os.path.basename(os.fspath(path)) == victim:
            raise FileNotFoundError(2, "No such file or directory", path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, function_name, racing)


def test_a_link_gone_while_the_folder_is_read_is_passed_over_and_the_others_listed(data_dir, monkeypatch):
    for letter, number in zip("abcdef", range(1, 7)):
        idempotency.claim(data_dir, letter * 32, f"AMI-2021-{number:04d}")
    first = next(os.scandir(os.path.join(data_dir, "ids"))).name  # the one read first, whatever the order
    _removed_meanwhile(monkeypatch, "readlink", first)
    listed = dict(idempotency.links(data_dir))
    assert first not in listed and len(listed) == 5


def test_a_link_another_process_removed_first_is_not_counted_and_the_rest_are_removed(data_dir, monkeypatch):
    for letter, number in zip("abcdef", range(1, 7)):
        idempotency.claim(data_dir, letter * 32, f"AMI-2021-{number:04d}")
    first = next(os.scandir(os.path.join(data_dir, "ids"))).name
    _removed_meanwhile(monkeypatch, "unlink", first)
    assert idempotency.remove_for_references(data_dir, [f"AMI-2021-{n:04d}" for n in range(1, 7)]) == 5
    assert os.listdir(os.path.join(data_dir, "ids")) == [first]


def test_the_sweep_passes_over_a_link_removed_while_it_looks_and_sweeps_the_others(data_dir, monkeypatch):
    now = 1_700_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    for letter, number in zip("abcdef", range(1, 7)):
        _link_aged(data_dir, letter * 32, f"AMI-2021-{number:04d}", 6000, now)
    first = next(os.scandir(os.path.join(data_dir, "ids"))).name
    real_exists = os.path.exists

    def exists_then_gone(path):  # the record is looked for, then the link vanishes before its age is read
        real_exists(path)
        link = os.path.join(data_dir, "ids", first)
        if os.path.lexists(link):
            os.unlink(link)
        return False

    monkeypatch.setattr(os.path, "exists", exists_then_gone)
    assert idempotency.sweep_dangling(data_dir, 600) == 5
    assert os.listdir(os.path.join(data_dir, "ids")) == []


def test_release_of_a_link_removed_meanwhile_is_no_error(data_dir, monkeypatch):
    idempotency.claim(data_dir, "a" * 32, "AMI-2021-0001")
    _removed_meanwhile(monkeypatch, "unlink", "a" * 32)
    idempotency.release(data_dir, "a" * 32, "AMI-2021-0001")
