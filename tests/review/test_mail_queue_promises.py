"""What the outbox remembers (collector/mail/delivery.py, mail-queued/) stays inside the data folder.

A message queued is remembered by an empty file of its name in mail-queued/, created exclusively:
a name already there, whatever it is (a file, a link planted by hand), is left as it is and never
followed, so that queueing never writes anywhere but in the data folder.
"""

from __future__ import annotations

import os

from collector.mail.delivery import OUTBOX, QUEUED, pending, queue_message
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
