"""References are reserved by blocks: one durable write per block, none per post, and a
counter that lost its last writes in a power cut (a new boot) never hands a number twice.

The counter file itself is no longer fsynced on each post; what survives a power cut is
`state/sequence.reserved` (the highest number that may have been handed out, and the boot
it was reserved in), written durably before any number of a new block is used.
"""

from __future__ import annotations

import os

import pytest

from collector import durable, sequence
from tests.core.test_sequence_promises import PREFIX, counter, existing_records, write_counter


@pytest.fixture
def fsyncs(monkeypatch):
    """Every fsync made (counted; the real one still runs)."""
    made: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        made.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return made


def reserved(data_dir: str) -> str:
    with open(os.path.join(data_dir, "state", sequence.RESERVED_FILE), encoding="ascii") as handle:
        return handle.read()


def test_a_block_of_references_costs_one_durable_write_not_an_fsync_each(data_dir, fsyncs):
    sequence.next_reference(data_dir, PREFIX)  # the first one creates the counter and reserves a block
    fsyncs.clear()
    references = [sequence.next_reference(data_dir, PREFIX) for _ in range(sequence.BLOCK - 1)]
    assert references == [sequence.format_reference(PREFIX, number) for number in range(2, sequence.BLOCK + 1)]
    assert fsyncs == []  # all within the block reserved with the first one
    sequence.next_reference(data_dir, PREFIX)
    assert len(fsyncs) == 2  # the next block: the reservation's file and its folder
    assert reserved(data_dir) == f"{2 * sequence.BLOCK} {sequence.boot_id()}\n"


def test_within_one_boot_the_counter_goes_on_without_a_gap(data_dir):
    assert [sequence.next_reference(data_dir, PREFIX) for _ in range(3)] == [
        "AMI-2021-0001", "AMI-2021-0002", "AMI-2021-0003"]
    assert counter(data_dir) == b"3\n"


def test_after_a_reboot_a_counter_that_went_back_starts_past_the_reserved_block(data_dir, monkeypatch):
    for _ in range(5):
        sequence.next_reference(data_dir, PREFIX)
    write_counter(data_dir, b"2\n")  # a power cut lost the counter's last writes
    monkeypatch.setattr(sequence, "boot_id", lambda: "another-boot")
    assert sequence.next_reference(data_dir, PREFIX) == sequence.format_reference(PREFIX, sequence.BLOCK + 1)
    assert reserved(data_dir) == f"{2 * sequence.BLOCK} another-boot\n"


def test_a_reference_is_never_handed_out_before_its_block_is_reserved_durably(data_dir, monkeypatch):
    def failing_replace(folder, name, data):
        raise OSError("disk full")

    monkeypatch.setattr(sequence, "replace_file", failing_replace)
    with pytest.raises(OSError):
        sequence.next_reference(data_dir, PREFIX)
    assert not os.path.exists(os.path.join(data_dir, "state", sequence.RESERVED_FILE))
    assert counter(data_dir) == b""  # the number was not taken either


def test_without_a_reservation_the_highest_reference_on_disk_wins_over_a_counter_behind(data_dir):
    """An upgrade from a counter fsynced each time, or a lost reservation: the disk is read once."""
    existing_records(data_dir, "AMI-2021-0030.yaml")
    write_counter(data_dir, b"7\n")
    assert sequence.next_reference(data_dir, PREFIX) == "AMI-2021-0031"


def test_where_no_boot_id_can_be_read_the_counter_is_fsynced_each_time(data_dir, monkeypatch, fsyncs):
    monkeypatch.setattr(sequence, "BOOT_ID_PATH", os.path.join(data_dir, "no-such-file"))
    sequence.next_reference(data_dir, PREFIX)
    fsyncs.clear()
    assert [sequence.next_reference(data_dir, PREFIX) for _ in range(3)] == [
        "AMI-2021-0002", "AMI-2021-0003", "AMI-2021-0004"]
    assert len(fsyncs) == 3
    assert not os.path.exists(os.path.join(data_dir, "state", sequence.RESERVED_FILE))


def test_the_reservation_is_written_through_the_durable_path(data_dir, monkeypatch):
    written = []
    real = durable.replace_file

    def recording(folder, name, data):
        written.append((os.path.basename(folder), name))
        return real(folder, name, data)

    monkeypatch.setattr(sequence, "replace_file", recording)
    sequence.next_reference(data_dir, PREFIX)
    assert written == [("state", sequence.RESERVED_FILE)]
