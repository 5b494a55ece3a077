"""Queueing (collector/mail/delivery.py) writes only in the data folder and never hides a failure.

A message queued is remembered by an empty file of its name in mail-queued/, created exclusively:
a name already there, whatever it is (a file, a link planted by hand), is left as it is and never
followed. A batch whose mail cannot be written, or whose name in outbox/ is taken by something that
is no message, queues the others and logs the error (never an address); the next round queues the
missing mail, once.
"""

from __future__ import annotations

import errno
import logging
import os
import stat

from collector.mail.delivery import (OUTBOX, QUEUED, MailSettings, pending, queue_for_records, queue_message,
                                     reconcile)
from collector.records import iter_record_paths, read_record
from tests.review.factory import write_records
from tests.review.test_outbox_promises import RECIPIENT, message

NAME = "AMI-2021-0001.accuse.eml"


def test_a_link_in_mail_queued_is_never_followed_when_a_message_is_remembered(data_dir, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.makedirs(os.path.join(data_dir, QUEUED))
    os.symlink(elsewhere / NAME, os.path.join(data_dir, QUEUED, NAME))  # dangling: points outside the data folder
    assert queue_message(data_dir, NAME, message(), RECIPIENT) is True
    assert pending(data_dir, OUTBOX) == [NAME]
    assert os.listdir(elsewhere) == [], "nothing written through the link"
    assert os.path.islink(os.path.join(data_dir, QUEUED, NAME))


def test_a_queued_message_is_remembered_by_an_empty_file_that_asks_for_0640_whatever_the_umask(data_dir):
    previous = os.umask(0)
    try:
        assert queue_message(data_dir, NAME, message(), RECIPIENT) is True
    finally:
        os.umask(previous)
    marker = os.stat(os.path.join(data_dir, QUEUED, NAME))
    assert (stat.S_IMODE(marker.st_mode), marker.st_size) == (0o640, 0)


def settings() -> MailSettings:
    return MailSettings(host="127.0.0.1", port=25, mail_from="AMI <ami@normandie.example>")


def test_batch_mails_that_cannot_be_written_are_logged_the_others_are_queued_and_the_next_round_queues_them(
        app, data_dir, form, monkeypatch, caplog):
    write_records(data_dir, 2, form)
    real_write, failures = os.write, [errno.EIO, errno.ENOSPC]  # popped from the end: ENOSPC first
    temporary = os.path.join(os.path.realpath(data_dir), "tmp") + os.sep  # where durable.py writes a file first

    def write(fd, data):
        if failures and os.readlink(f"/proc/self/fd/{fd}").startswith(temporary):
            number = failures.pop()
            raise OSError(number, os.strerror(number))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    with caplog.at_level(logging.ERROR):
        queued = reconcile(data_dir, app.config["FACTS"], form, settings())
    assert len(queued) == 2 and pending(data_dir, OUTBOX) == pending(data_dir, QUEUED) == sorted(queued)
    assert "could not queue the messages of 2 record(s) (OSError: No space left on device)" in caplog.text, \
        "the first error is named"
    assert "@" not in caplog.text, "no address in the log"
    missing = reconcile(data_dir, app.config["FACTS"], form, settings())
    assert len(missing) == 2 and not set(missing) & set(queued) and len(pending(data_dir, OUTBOX)) == 4


def test_a_batch_name_taken_in_the_outbox_by_something_that_is_no_message_is_logged_and_the_others_are_queued(
        app, data_dir, form, tmp_path, caplog):
    write_records(data_dir, 2, form)
    taken = "AMI-2021-0002.accuse.eml"
    os.makedirs(os.path.join(data_dir, OUTBOX))
    os.symlink(tmp_path / "nowhere", os.path.join(data_dir, OUTBOX, taken))  # dangling: no message, never read
    records = [read_record(path) for path in iter_record_paths(data_dir)]
    with caplog.at_level(logging.ERROR):
        queued = queue_for_records(data_dir, records, app.config["FACTS"], form, settings())
    assert len(queued) == 3 and taken not in queued
    assert "could not queue the messages of 2 record(s) (FileExistsError" in caplog.text
    assert not (tmp_path / "nowhere").exists(), "nothing written through the link"
