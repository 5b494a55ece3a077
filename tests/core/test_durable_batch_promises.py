"""collector/durable_batch.py keeps durable.py's promises for many files with one sync of their filesystem.

Every file is on disk before any of their names appears; a name already taken keeps its file; a
failed sync publishes nothing and says why; where syncfs cannot report errors (not Linux, a kernel
before 5.8, a libc without it), each file is fsynced instead. Faults are injected on the OS calls
themselves: os.write, os.fsync, os.link, libc's syncfs (through ctypes.CDLL), platform's answers.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform

import pytest

from collector import durable_batch
from collector.durable_batch import write_new_files

REAL_CDLL = ctypes.CDLL
FILES = [(f"AMI-2021-000{number}.accuse.eml", f"Message {number}, accentué.\n".encode("utf-8") * 50)
         for number in range(1, 4)]


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def described(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


class Libc:
    """Stands for ctypes.CDLL(None): its syncfs records each call (and its folder) in `events`, then
    runs the real one, or fails with `errno_on_sync` like the kernel (-1 and errno)."""

    def __init__(self, events: list[tuple], has_syncfs: bool = True) -> None:
        self.events = events
        self.errno_on_sync = 0
        real = REAL_CDLL(None, use_errno=True).syncfs
        real.argtypes = [ctypes.c_int]

        def syncfs(fd: int) -> int:
            self.events.append(("syncfs", described(fd)))
            if self.errno_on_sync:
                ctypes.set_errno(self.errno_on_sync)
                return -1
            return real(fd)

        if has_syncfs:
            self.syncfs = syncfs


@pytest.fixture
def disk(monkeypatch):
    """(events, libc): every write, fsync, link and syncfs, in order; libc's syncfs can be made to fail.
    The module's memory of libc's syncfs is forgotten before and after, so that each test's is used."""
    events: list[tuple] = []
    libc = Libc(events)
    real_write, real_fsync, real_link = os.write, os.fsync, os.link

    def write(fd, data):
        events.append(("write", described(fd)))
        return real_write(fd, data)

    def fsync(fd):
        events.append(("fsync", described(fd)))
        return real_fsync(fd)

    def link(source, target):
        events.append(("link", target))
        return real_link(source, target)

    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(ctypes, "CDLL", lambda name, use_errno=False: libc)
    forget = getattr(durable_batch._libc_syncfs, "cache_clear", lambda: None)  # the behaviour, not the cache, is pinned
    forget()
    yield events, libc
    forget()


def kinds(events: list[tuple]) -> list[str]:
    return [event[0] for event in events]


def test_every_file_is_published_with_its_bytes_in_a_folder_made_for_it_and_tmp_is_left_empty(tmp_path, disk):
    folder = tmp_path / "data" / "outbox"
    descriptors = open_descriptors()
    assert write_new_files(str(folder), FILES) == ([name for name, _data in FILES], [])
    assert {name: (folder / name).read_bytes() for name, _data in FILES} == dict(FILES)
    assert os.listdir(tmp_path / "data" / "tmp") == [], "no temporary file left behind"
    assert open_descriptors() == descriptors, "no descriptor left open"


def test_one_syncfs_of_the_files_filesystem_comes_after_every_write_and_before_any_name(tmp_path, disk):
    events, _libc = disk
    write_new_files(str(tmp_path / "outbox"), FILES)
    assert kinds(events).count("syncfs") == 1 and "fsync" not in kinds(events), "one sync, no fsync per file"
    synced = kinds(events).index("syncfs")
    assert events[synced] == ("syncfs", str(tmp_path / "tmp")), "the filesystem of the files in tmp/"
    assert kinds(events[:synced]) == ["write"] * len(FILES) and kinds(events[synced + 1:]) == ["link"] * len(FILES)


def test_nothing_to_write_syncs_nothing(tmp_path, disk):
    events, _libc = disk
    assert write_new_files(str(tmp_path / "outbox"), []) == ([], [])
    assert events == []


def test_a_name_already_taken_keeps_its_file_and_is_reported_while_the_others_are_published(tmp_path, disk):
    folder = tmp_path / "outbox"
    folder.mkdir()
    (folder / FILES[1][0]).write_bytes(b"already queued")
    published, failed = write_new_files(str(folder), FILES)
    assert published == [FILES[0][0], FILES[2][0]]
    assert [(name, type(error)) for name, error in failed] == [(FILES[1][0], FileExistsError)]
    assert (folder / FILES[1][0]).read_bytes() == b"already queued"
    assert os.listdir(tmp_path / "tmp") == []


def test_a_file_that_cannot_be_written_is_reported_and_the_others_are_still_synced_and_published(
        tmp_path, disk, monkeypatch):
    events, _libc = disk
    recording_write = os.write

    def write(fd, data):
        if bytes(data) == FILES[0][1]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return recording_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    published, failed = write_new_files(str(tmp_path / "outbox"), FILES)
    assert published == [FILES[1][0], FILES[2][0]]
    assert [(name, error.errno) for name, error in failed] == [(FILES[0][0], errno.ENOSPC)]
    assert kinds(events).count("syncfs") == 1 and os.listdir(tmp_path / "tmp") == []


def test_when_no_file_could_be_written_nothing_is_synced_nor_published(tmp_path, disk, monkeypatch):
    events, _libc = disk

    def write(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write)
    published, failed = write_new_files(str(tmp_path / "outbox"), FILES)
    assert published == [] and [name for name, _error in failed] == [name for name, _data in FILES]
    assert "syncfs" not in kinds(events) and os.listdir(tmp_path / "outbox") == []


def test_a_failed_syncfs_raises_the_kernels_error_and_publishes_nothing_nor_leaves_anything(tmp_path, disk):
    events, libc = disk
    libc.errno_on_sync = errno.EIO
    descriptors = open_descriptors()
    with pytest.raises(OSError) as raised:
        write_new_files(str(tmp_path / "outbox"), FILES)
    assert (raised.value.errno, raised.value.strerror) == (errno.EIO, os.strerror(errno.EIO))
    assert "link" not in kinds(events) and os.listdir(tmp_path / "outbox") == []
    assert os.listdir(tmp_path / "tmp") == [] and open_descriptors() == descriptors


def test_the_error_a_failed_syncfs_raises_is_the_one_the_kernel_set(tmp_path, disk, monkeypatch):
    """libc's errno reaches the error only through ctypes's copy of it (use_errno): here a real libc
    call stands in for syncfs and fails the kernel's way (tcgetpgrp on a folder: -1, ENOTTY)."""
    def libc_failing_like_the_kernel(name, use_errno=False):
        class Failing:
            syncfs = REAL_CDLL(name, use_errno=use_errno).tcgetpgrp
        return Failing()

    monkeypatch.setattr(ctypes, "CDLL", libc_failing_like_the_kernel)
    ctypes.set_errno(0)
    with pytest.raises(OSError) as raised:
        write_new_files(str(tmp_path / "outbox"), FILES)
    assert (raised.value.errno, raised.value.strerror) == (errno.ENOTTY, os.strerror(errno.ENOTTY))
    assert os.listdir(tmp_path / "outbox") == []


@pytest.mark.parametrize("system, release", [("Linux", "5.8.0"), ("Linux", "5.9.1-custom"), ("Linux", "6.0.0"),
                                             ("Linux", "6.18.44-fc-v669")])
def test_a_linux_kernel_from_5_8_on_gets_one_syncfs(tmp_path, disk, monkeypatch, system, release):
    events, _libc = disk
    monkeypatch.setattr(platform, "system", lambda: system)
    monkeypatch.setattr(platform, "release", lambda: release)
    write_new_files(str(tmp_path / "outbox"), FILES)
    assert kinds(events).count("syncfs") == 1 and "fsync" not in kinds(events)


@pytest.mark.parametrize("system, release", [("Linux", "5.7.19"), ("Linux", "4.19.0"), ("Linux", "4.9.0"),
                                             ("Linux", "6"), ("Linux", "six.one"), ("Darwin", "23.1.0"),
                                             ("OpenBSD", "7.4")])
def test_where_syncfs_cannot_report_errors_each_file_is_fsynced_before_its_name_appears(
        tmp_path, disk, monkeypatch, system, release):
    events, _libc = disk
    monkeypatch.setattr(platform, "system", lambda: system)
    monkeypatch.setattr(platform, "release", lambda: release)
    assert write_new_files(str(tmp_path / "outbox"), FILES)[0] == [name for name, _data in FILES]
    assert "syncfs" not in kinds(events)
    assert kinds(events) == ["write", "fsync"] * len(FILES) + ["link"] * len(FILES)


def test_a_libc_without_syncfs_fsyncs_each_file(tmp_path, disk, monkeypatch):
    events, _libc = disk
    without = Libc(events, has_syncfs=False)
    monkeypatch.setattr(ctypes, "CDLL", lambda name, use_errno=False: without)
    write_new_files(str(tmp_path / "outbox"), FILES)
    assert kinds(events) == ["write", "fsync"] * len(FILES) + ["link"] * len(FILES)


def test_a_libc_that_cannot_be_loaded_fsyncs_each_file(tmp_path, disk, monkeypatch):
    events, _libc = disk

    def cannot_load(name, use_errno=False):
        raise OSError(errno.ENOENT, "libc not found")

    monkeypatch.setattr(ctypes, "CDLL", cannot_load)
    write_new_files(str(tmp_path / "outbox"), FILES)
    assert kinds(events) == ["write", "fsync"] * len(FILES) + ["link"] * len(FILES)


def test_a_temporary_file_another_process_swept_meanwhile_does_not_fail_the_batch(tmp_path, disk, monkeypatch):
    """durable.sweep_tmp(older_than=…) in another process may remove a temporary file once it is linked."""
    recording_link = os.link

    def link_then_swept(source, target):
        recording_link(source, target)
        os.unlink(source)

    monkeypatch.setattr(os, "link", link_then_swept)
    assert write_new_files(str(tmp_path / "outbox"), FILES) == ([name for name, _data in FILES], [])
    assert os.listdir(tmp_path / "tmp") == []
