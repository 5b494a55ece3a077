"""collector/sequence.py keeps its promises: AMI-2021-0042-style references, never twice, rebuilt from the records."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import stat

import pytest

from collector import sequence
from collector.records import SUBMISSIONS_DIR

PREFIX = "AMI-2021"


def counter(data_dir: str) -> bytes:
    with open(os.path.join(data_dir, "state", "sequence"), "rb") as handle:
        return handle.read()


def write_counter(data_dir: str, content: bytes) -> None:
    os.makedirs(os.path.join(data_dir, "state"), exist_ok=True)
    with open(os.path.join(data_dir, "state", "sequence"), "wb") as handle:
        handle.write(content)


def existing_records(data_dir: str, *names: str) -> None:
    folder = os.path.join(data_dir, SUBMISSIONS_DIR)
    os.makedirs(folder, exist_ok=True)
    for name in names:
        open(os.path.join(folder, name), "w").close()


@pytest.mark.parametrize("number, reference", [(1, "AMI-2021-0001"), (42, "AMI-2021-0042"),
                                               (9999, "AMI-2021-9999"), (12345, "AMI-2021-12345")])
def test_references_have_four_digits_at_least(number, reference):
    assert sequence.format_reference(PREFIX, number) == reference


def test_a_fresh_folder_starts_at_one_and_counts_up(data_dir):
    previous = os.umask(0o022)
    try:
        assert [sequence.next_reference(data_dir, PREFIX) for _ in range(3)] == [
            "AMI-2021-0001", "AMI-2021-0002", "AMI-2021-0003"]
    finally:
        os.umask(previous)
    assert counter(data_dir) == b"3\n"
    assert stat.S_IMODE(os.stat(os.path.join(data_dir, "state", "sequence")).st_mode) == 0o640


def test_an_empty_submissions_folder_starts_at_one(data_dir):
    existing_records(data_dir)
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0001"


def test_a_lost_counter_is_rebuilt_from_the_highest_reference_of_this_prefix_named_on_disk(data_dir):
    existing_records(data_dir, "AMI-2021-0003.yaml", "AMI-2021-0007.yaml", "AMI-2022-0099.yaml",
                     "AMI-2021-abcd.yaml", "XAMI-2021-0090.yaml")
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0008"
    assert counter(data_dir) == b"8\n"


def test_a_reference_named_by_any_file_even_a_backup_copy_is_never_reused(data_dir):
    existing_records(data_dir, "AMI-2021-0007.yaml", "AMI-2021-0050.yaml.bak")
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0051"
    assert counter(data_dir) == b"51\n"


@pytest.mark.parametrize("content", [b"", b"garbage that is longer than a number\n", b"-5\n", b"3.5\n"])
def test_an_unreadable_counter_is_rebuilt_and_rewritten_whole(data_dir, content):
    existing_records(data_dir, "AMI-2021-0011.yaml")
    write_counter(data_dir, content)
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0012"
    assert counter(data_dir) == b"12\n"


def test_the_counter_is_trusted_when_readable(data_dir):
    existing_records(data_dir, "AMI-2021-0002.yaml")
    write_counter(data_dir, b"  41 \n")
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0042"


def test_numbers_whose_record_exists_are_skipped(data_dir):
    """A counter that lost its last increments (power cut) never hands out a taken reference."""
    existing_records(data_dir, "AMI-2021-0005.yaml", "AMI-2021-0006.yaml")
    write_counter(data_dir, b"4\n")
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0007"
    assert counter(data_dir) == b"7\n"


def test_a_lost_counter_is_rebuilt_from_an_ids_link_alone(data_dir):
    """A post that took a reference through its ids/ link and died before its record was written."""
    from collector import idempotency

    idempotency.claim(data_dir, "a" * 32, "AMI-2021-0009")
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0010"


def test_a_lost_counter_is_rebuilt_even_without_a_submissions_folder(data_dir):
    """Records purged, a review history left: its reference is still never given again."""
    os.makedirs(os.path.join(data_dir, "reviews"))
    open(os.path.join(data_dir, "reviews", "AMI-2021-0012.yaml"), "w").close()
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0013"


def test_an_empty_ids_folder_starts_at_one(data_dir):
    os.makedirs(os.path.join(data_dir, "ids"))
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0001"


def synced_paths(monkeypatch) -> list[str]:
    """Every path fsynced from now on (files and folders), read from the descriptor."""
    real_fsync, paths = os.fsync, []

    def fsync(fd):
        paths.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return paths


def test_a_new_counter_its_name_and_its_first_block_are_made_durable(data_dir, monkeypatch):
    paths = synced_paths(monkeypatch)
    sequence.next_reference(data_dir, PREFIX)
    state = os.path.realpath(os.path.join(data_dir, "state"))
    assert paths.count(state) >= 2  # the counter's name, then the reservation's
    with open(os.path.join(state, sequence.RESERVED_FILE), encoding="ascii") as handle:
        assert handle.read() == f"{sequence.BLOCK} {sequence.boot_id()}\n"


def test_a_counter_that_cannot_be_made_durable_hands_out_no_reference(data_dir, monkeypatch):
    """Where no boot id tells a reboot, the counter itself is fsynced before a reference is given."""
    monkeypatch.setattr(sequence, "BOOT_ID_PATH", os.path.join(data_dir, "no-such-file"))
    write_counter(data_dir, b"4\n")
    path = os.path.realpath(os.path.join(data_dir, "state", "sequence"))
    real_fsync = os.fsync

    def fsync(fd):
        if os.path.realpath(f"/proc/self/fd/{fd}") == path:
            raise OSError(5, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError):
        sequence.next_reference(data_dir, PREFIX)


def test_the_counter_is_read_and_written_under_an_exclusive_lock(data_dir, monkeypatch):
    """While the counter is read, another open file of it cannot take the lock."""
    write_counter(data_dir, b"4\n")
    path = os.path.join(data_dir, "state", "sequence")
    real_pread, seen = os.pread, []

    def pread(fd, size, offset):
        other = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append("free")
        except BlockingIOError:
            seen.append("locked")
        finally:
            os.close(other)
        return real_pread(fd, size, offset)

    monkeypatch.setattr(sequence.os, "pread", pread)
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0005"
    assert seen == ["locked"]


def _take(data_dir: str, count: int, barrier, results) -> None:
    barrier.wait()
    results.put([sequence.next_reference(data_dir, PREFIX) for _ in range(count)])


def test_concurrent_processes_never_get_the_same_reference(data_dir):
    context = multiprocessing.get_context("fork")
    workers, each = 6, 30
    barrier, results = context.Barrier(workers), context.Queue()
    processes = [context.Process(target=_take, args=(data_dir, each, barrier, results)) for _ in range(workers)]
    for process in processes:
        process.start()
    taken = [reference for _ in processes for reference in results.get(timeout=120)]
    for process in processes:
        process.join(timeout=60)
    assert sorted(taken) == [f"AMI-2021-{number:04d}" for number in range(1, workers * each + 1)]
    assert counter(data_dir) == f"{workers * each}\n".encode()
