"""A host's mailer state (collector/stores/sender_state.py) keeps its promises: a claim's identity
is this host, this data folder and twelve random hex digits drawn once per process (a forked
child its own), the identities and the sent-but-not-settled names are files of one sorted name
a line in state/, read back by the next mailer, each name once; a folder that cannot be written
keeps the names in memory and says so in the log, naming the file, never making a folder up."""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import socket

import pytest

from collector.stores.sender_state import IDENTITIES_FILE, UNSETTLED_FILE, SenderState, host_part, sender_identity

SENT = "AMI-2021-0002.accuse.eml"
ALSO_SENT = "AMI-2021-0001.correction-v2.eml"


def state_file(data_dir: str, name: str) -> str:
    with open(os.path.join(data_dir, "state", name), encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture
def replace_fails(monkeypatch):
    def failing(_source, _target) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing)


def _identity_in_child(data_dir: str, queue) -> None:
    queue.put(sender_identity(data_dir))


def test_an_identity_is_the_host_the_real_data_folder_and_twelve_hex_digits_drawn_once_per_process(data_dir,
                                                                                                   tmp_path):
    link = tmp_path / "lien"
    link.symlink_to(data_dir)
    assert host_part(str(link)) == f"{socket.gethostname()}:{os.path.realpath(data_dir)}"
    identity = sender_identity(data_dir)
    assert re.fullmatch(re.escape(host_part(data_dir)) + r":[0-9a-f]{12}", identity)
    assert sender_identity(str(link)) == identity, "the same process signs the same way"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_identity_in_child, args=(data_dir, queue))
    child.start()
    child.join(30)
    forked = queue.get(timeout=5)
    assert forked.startswith(host_part(data_dir) + ":") and forked != identity, "a forked child draws its own"


def test_identities_are_kept_sorted_once_each_and_read_back_by_the_next_mailer(data_dir):
    state = SenderState(data_dir)
    assert state.identities() == []
    for identity in ("hote:/data:bbbbbb", "hote:/data:aaaaaa", "hote:/data:bbbbbb"):
        state.add_identity(identity)
    assert state_file(data_dir, IDENTITIES_FILE) == "hote:/data:aaaaaa\nhote:/data:bbbbbb\n"
    assert SenderState(data_dir).identities() == ["hote:/data:aaaaaa", "hote:/data:bbbbbb"]
    SenderState(data_dir).only_identity("hote:/data:cccccc")
    assert state.identities() == ["hote:/data:cccccc"]


def test_blank_lines_of_a_state_file_are_no_names(data_dir):
    os.makedirs(os.path.join(data_dir, "state"))
    with open(os.path.join(data_dir, "state", UNSETTLED_FILE), "w", encoding="utf-8") as handle:
        handle.write(f"\n{SENT}\n\n")
    assert SenderState(data_dir).unsettled() == [SENT]


def test_sent_names_not_settled_are_written_sorted_and_read_back_until_settled(data_dir):
    state = SenderState(data_dir)
    state.add_unsettled(SENT)
    state.add_unsettled(ALSO_SENT)
    state.add_unsettled(SENT)
    assert state.unsettled() == [ALSO_SENT, SENT]
    assert state_file(data_dir, UNSETTLED_FILE) == f"{ALSO_SENT}\n{SENT}\n"
    following = SenderState(data_dir)
    assert following.unsettled() == [ALSO_SENT, SENT], "the host's next mailer finds them"
    following.settled(SENT)
    assert following.unsettled() == [ALSO_SENT] and state_file(data_dir, UNSETTLED_FILE) == f"{ALSO_SENT}\n"
    assert SenderState(data_dir).unsettled() == [ALSO_SENT]


def test_in_memory_only_the_names_are_kept_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = SenderState(None)
    state.add_identity("hote:/data:aaaaaa")
    state.add_unsettled(SENT)
    assert state.identities() == [] and state.unsettled() == [SENT]
    state.settled(SENT)
    assert state.unsettled() == [] and os.listdir(tmp_path) == []


def test_a_data_folder_that_is_gone_is_never_made_up_and_the_name_stays_in_memory(tmp_path, caplog):
    gone = str(tmp_path / "disparu")
    state = SenderState(gone)
    state.add_unsettled(SENT)
    state.add_identity("hote:/data:aaaaaa")
    assert state.unsettled() == [SENT] and not os.path.exists(gone)
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.ERROR, f"mail: {SENT} was sent but could not be noted in {UNSETTLED_FILE} (FileNotFoundError): "
                        "it is remembered until this mailer stops"),
        (logging.WARNING, f"mailer: could not note this mailer in {IDENTITIES_FILE} (FileNotFoundError): a claim it "
                          "leaves comes back only once stale")]


def test_a_state_folder_that_cannot_be_written_keeps_the_names_in_memory_and_says_so(data_dir, caplog,
                                                                                     replace_fails):
    state = SenderState(data_dir)
    state.add_unsettled(SENT)
    state.add_unsettled(ALSO_SENT)
    state.settled(ALSO_SENT)
    state.only_identity("hote:/data:aaaaaa")
    assert state.unsettled() == [SENT] and not os.path.exists(os.path.join(data_dir, "state", UNSETTLED_FILE))
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        *[(logging.ERROR, f"mail: {name} was sent but could not be noted in {UNSETTLED_FILE} (OSError): it is "
                          "remembered until this mailer stops") for name in (SENT, ALSO_SENT)],
        (logging.WARNING, f"mail: could not rewrite {UNSETTLED_FILE} (OSError)"),
        (logging.WARNING, f"mailer: could not note this mailer in {IDENTITIES_FILE} (OSError): a claim it leaves "
                          "comes back only once stale")]
