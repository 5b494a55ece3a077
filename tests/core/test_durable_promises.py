"""collector/durable.py keeps its promises: whole files or none, on disk before "saved", no leftovers.

Faults are injected on the OS calls themselves (os.fsync, os.write, os.replace, os.link):
the write fails, the caller is told, nothing is left in tmp/ and no descriptor leaks.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import uuid

import pytest

from collector import durable

PAYLOAD = "Réponse complète, accentuée.\n".encode("utf-8") * 40


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def described(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def os_calls(monkeypatch):
    """Every fsync, link and replace durable.py makes, in order, as (call, path); real calls go on."""
    calls: list[tuple[str, str]] = []
    real_fsync, real_link, real_replace = os.fsync, os.link, os.replace

    def fsync(fd):
        calls.append(("fsync", described(fd)))
        return real_fsync(fd)

    def link(source, destination):
        calls.append(("link", destination))
        return real_link(source, destination)

    def replace(source, destination):
        calls.append(("replace", destination))
        return real_replace(source, destination)

    monkeypatch.setattr(durable.os, "fsync", fsync)
    monkeypatch.setattr(durable.os, "link", link)
    monkeypatch.setattr(durable.os, "replace", replace)
    return calls


def tmp_entries(data_dir: str) -> list[str]:
    return os.listdir(os.path.join(data_dir, durable.TMP_DIR_NAME))


def fail_with(code: int):
    def failing(*_args):
        raise OSError(code, os.strerror(code))
    return failing


# --- write_new_file -------------------------------------------------------------------------

def test_a_new_file_holds_exactly_the_data_with_mode_0640_and_nothing_left_in_tmp(data_dir, umask_022):
    folder = os.path.join(data_dir, "submissions")
    path = durable.write_new_file(folder, "AMI-2021-0001.yaml", PAYLOAD)
    assert path == os.path.join(folder, "AMI-2021-0001.yaml")
    with open(path, "rb") as handle:
        assert handle.read() == PAYLOAD
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert tmp_entries(data_dir) == []


def test_the_temporary_file_lives_in_tmp_beside_the_folder(data_dir, monkeypatch):
    sources = []
    real_link = os.link
    monkeypatch.setattr(durable.os, "link", lambda source, destination: (sources.append(source),
                                                                          real_link(source, destination)))
    durable.write_new_file(os.path.join(data_dir, "submissions"), "a.yaml", b"x")
    assert os.path.dirname(sources[0]) == os.path.join(data_dir, "tmp")
    name = os.path.basename(sources[0])
    assert name.split(".")[1] == str(os.getpid())


def test_a_new_file_is_fsynced_then_linked_then_its_folder_fsynced(data_dir, os_calls):
    folder = os.path.join(data_dir, "submissions")
    durable.write_new_file(folder, "a.yaml", PAYLOAD)
    assert [call for call, _path in os_calls] == ["fsync", "link", "fsync"]
    assert os.path.dirname(os_calls[0][1]) == os.path.join(data_dir, "tmp")
    assert os_calls[1:] == [("link", os.path.join(folder, "a.yaml")), ("fsync", folder)]


def test_a_temporary_name_already_there_is_never_written_into(data_dir, monkeypatch):
    """The temporary file is created exclusively: a writer never shares another's file."""
    monkeypatch.setattr(durable.time, "time_ns", lambda: 1)
    monkeypatch.setattr(durable.uuid, "uuid4", lambda: uuid.UUID(int=7))
    taken = leftover(data_dir, f"1.{os.getpid()}.{uuid.UUID(int=7).hex}")
    with pytest.raises(FileExistsError):
        durable.write_new_file(os.path.join(data_dir, "submissions"), "a.yaml", b"x")
    with open(taken, "rb") as handle:
        assert handle.read() == b"partial"


def test_a_taken_name_is_refused_and_the_first_file_is_kept(data_dir):
    folder = os.path.join(data_dir, "submissions")
    durable.write_new_file(folder, "a.yaml", b"first")
    before = open_descriptors()
    with pytest.raises(FileExistsError):
        durable.write_new_file(folder, "a.yaml", b"second")
    with open(os.path.join(folder, "a.yaml"), "rb") as handle:
        assert handle.read() == b"first"
    assert tmp_entries(data_dir) == []
    assert open_descriptors() == before


def test_the_destination_folder_is_created_when_missing(data_dir):
    folder = os.path.join(data_dir, "deep", "new")
    durable.write_new_file(folder, "a.yaml", b"x")
    assert os.listdir(folder) == ["a.yaml"]


@pytest.mark.parametrize("call", ["fsync", "write", "link"])
def test_a_failed_write_raises_leaves_nothing_and_leaks_no_descriptor(data_dir, monkeypatch, call):
    folder = os.path.join(data_dir, "submissions")
    os.makedirs(folder)
    durable.write_new_file(folder, "warm-up.yaml", b"x")  # tmp/ exists, descriptors settled
    before = open_descriptors()
    code = errno.EIO if call != "write" else errno.ENOSPC
    monkeypatch.setattr(durable.os, call, fail_with(code))
    with pytest.raises(OSError) as failure:
        durable.write_new_file(folder, "a.yaml", PAYLOAD)
    monkeypatch.undo()
    assert failure.value.errno == code  # the caller is told what failed, not a later symptom
    assert not os.path.exists(os.path.join(folder, "a.yaml"))
    assert tmp_entries(data_dir) == []
    assert open_descriptors() == before


def test_short_writes_are_continued_until_every_byte_is_written(data_dir, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(durable.os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    path = durable.write_new_file(os.path.join(data_dir, "submissions"), "a.yaml", PAYLOAD)
    with open(path, "rb") as handle:
        assert handle.read() == PAYLOAD


def test_a_failed_folder_fsync_is_reported_not_swallowed(data_dir, monkeypatch):
    real_fsync = os.fsync

    def fsync(fd):
        if os.path.isdir(described(fd)):
            raise OSError(errno.EIO, "folder fsync failed")
        return real_fsync(fd)

    durable.write_new_file(os.path.join(data_dir, "submissions"), "warm-up.yaml", b"x")
    before = open_descriptors()
    monkeypatch.setattr(durable.os, "fsync", fsync)
    with pytest.raises(OSError, match="folder fsync failed"):
        durable.write_new_file(os.path.join(data_dir, "submissions"), "a.yaml", b"x")
    with pytest.raises(OSError, match="folder fsync failed"):
        durable.replace_file(os.path.join(data_dir, "reviews"), "a.yaml", b"x")
    with pytest.raises(OSError, match="folder fsync failed"):
        durable.fsync_dir(data_dir)
    assert open_descriptors() == before


def test_fsync_dir_opens_folders_only(data_dir):
    path = durable.write_new_file(os.path.join(data_dir, "submissions"), "a.yaml", b"x")
    with pytest.raises(NotADirectoryError):
        durable.fsync_dir(path)


def test_fsync_dir_flushes_the_folder_and_closes_it(data_dir, os_calls):
    before = open_descriptors()
    durable.fsync_dir(data_dir)
    assert os_calls == [("fsync", data_dir)]
    assert open_descriptors() == before


# --- replace_file ---------------------------------------------------------------------------

def test_replace_creates_then_replaces_with_mode_0640_and_nothing_left(data_dir, umask_022):
    folder = os.path.join(data_dir, "reviews")
    path = durable.replace_file(folder, "AMI-2021-0001.yaml", b"first")
    assert path == os.path.join(folder, "AMI-2021-0001.yaml")
    durable.replace_file(folder, "AMI-2021-0001.yaml", PAYLOAD)
    with open(path, "rb") as handle:
        assert handle.read() == PAYLOAD
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert tmp_entries(data_dir) == []
    assert os.listdir(folder) == ["AMI-2021-0001.yaml"]


def test_replace_is_fsynced_then_renamed_then_its_folder_fsynced(data_dir, os_calls):
    folder = os.path.join(data_dir, "reviews")
    durable.replace_file(folder, "a.yaml", b"x")
    assert [call for call, _path in os_calls] == ["fsync", "replace", "fsync"]
    assert os.path.dirname(os_calls[0][1]) == os.path.join(data_dir, "tmp")
    assert os_calls[1:] == [("replace", os.path.join(folder, "a.yaml")), ("fsync", folder)]


def test_replace_creates_its_folder(data_dir):
    durable.replace_file(os.path.join(data_dir, "accounts", "new"), "users.yaml", b"x")
    assert os.listdir(os.path.join(data_dir, "accounts", "new")) == ["users.yaml"]


@pytest.mark.parametrize("call", ["fsync", "write", "replace"])
def test_a_failed_replace_raises_keeps_the_old_file_and_leaves_nothing(data_dir, monkeypatch, call):
    folder = os.path.join(data_dir, "reviews")
    durable.replace_file(folder, "a.yaml", b"old")
    before = open_descriptors()
    monkeypatch.setattr(durable.os, call, fail_with(errno.EIO))
    with pytest.raises(OSError) as failure:
        durable.replace_file(folder, "a.yaml", PAYLOAD)
    monkeypatch.undo()
    assert failure.value.errno == errno.EIO
    with open(os.path.join(folder, "a.yaml"), "rb") as handle:
        assert handle.read() == b"old"
    assert tmp_entries(data_dir) == []
    assert open_descriptors() == before


# --- sweep_tmp ------------------------------------------------------------------------------

def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def leftover(data_dir: str, name: str, mtime: float | None = None) -> str:
    folder = os.path.join(data_dir, durable.TMP_DIR_NAME)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "wb") as handle:
        handle.write(b"partial")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


NOW = 1_700_000_000


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(durable.time, "time", lambda: float(NOW))


def test_sweep_without_tmp_folder_removes_nothing(data_dir):
    assert durable.sweep_tmp(data_dir) == 0


def test_sweep_only_asks_whether_a_writer_lives_never_signals_it(data_dir, clock):
    """The live writer here is this very process: any real signal it got would be recorded."""
    received = []
    previous = signal.signal(signal.SIGHUP, lambda number, _frame: received.append(number))
    try:
        path = leftover(data_dir, f"1.{os.getpid()}.x", mtime=NOW)
        assert durable.sweep_tmp(data_dir, older_than_seconds=3600) == 0
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert os.path.exists(path)
    assert received == []


def test_sweep_removes_what_a_dead_writer_left_even_if_fresh(data_dir, clock):
    gone = leftover(data_dir, f"{NOW}000000000.{dead_pid()}.abc", mtime=NOW)
    alive = leftover(data_dir, f"{NOW}000000000.{os.getpid()}.abc", mtime=NOW)
    assert durable.sweep_tmp(data_dir, older_than_seconds=3600) == 1
    assert not os.path.exists(gone)
    assert os.path.exists(alive)


@pytest.mark.parametrize("name", ["no-dots", "1.{dead}", "1.{dead}.x.y", "1.abc.x", "1.1.x", "1.0.x", "1.-5.x"])
def test_sweep_keeps_fresh_files_whose_writer_cannot_be_told(data_dir, clock, name):
    """Only `<ns>.<pid>.<uuid>` names tell their writer: anything else waits for the age limit."""
    path = leftover(data_dir, name.format(dead=dead_pid()), mtime=NOW)
    assert durable.sweep_tmp(data_dir, older_than_seconds=3600) == 0
    assert os.path.exists(path)


def test_sweep_keeps_a_file_whose_writer_it_may_not_signal(data_dir, clock, monkeypatch):
    path = leftover(data_dir, f"1.{dead_pid()}.x", mtime=NOW)

    def kill(_pid, _signal):
        raise PermissionError(errno.EPERM, "not yours")

    monkeypatch.setattr(durable.os, "kill", kill)
    assert durable.sweep_tmp(data_dir, older_than_seconds=3600) == 0
    assert os.path.exists(path)


def test_sweep_removes_files_at_or_beyond_the_age_limit_only(data_dir, clock):
    own = os.getpid()
    at_limit = leftover(data_dir, f"1.{own}.a", mtime=NOW - 3600)
    older = leftover(data_dir, f"2.{own}.b", mtime=NOW - 7200)
    younger = leftover(data_dir, f"3.{own}.c", mtime=NOW - 3599)
    assert durable.sweep_tmp(data_dir, older_than_seconds=3600) == 2
    assert not os.path.exists(at_limit) and not os.path.exists(older)
    assert os.path.exists(younger)


def test_sweep_by_default_removes_everything_not_newer_than_now(data_dir, clock):
    now = leftover(data_dir, f"1.{os.getpid()}.a", mtime=NOW)
    future = leftover(data_dir, f"2.{os.getpid()}.b", mtime=NOW + 1)
    assert durable.sweep_tmp(data_dir) == 1
    assert not os.path.exists(now)
    assert os.path.exists(future)


def test_sweep_leaves_folders_alone(data_dir, clock):
    os.makedirs(os.path.join(data_dir, "tmp", f"1.{dead_pid()}.dir"))
    assert durable.sweep_tmp(data_dir) == 0


def test_sweep_goes_on_when_another_process_published_a_file_meanwhile(data_dir, clock, monkeypatch):
    for index in range(3):
        leftover(data_dir, f"{index}.{os.getpid()}.x", mtime=NOW - 10)
    real_unlink = os.unlink
    vanished = []

    def unlink(path):
        if not vanished:
            vanished.append(path)
            real_unlink(path)
            raise FileNotFoundError(errno.ENOENT, "published meanwhile", path)
        return real_unlink(path)

    monkeypatch.setattr(durable.os, "unlink", unlink)
    assert durable.sweep_tmp(data_dir) == 2
    assert tmp_entries(data_dir) == []
