"""The mails in migrate-store and dump: a data folder's outbox read as a list of messages, and
such a list written back as a data folder's outbox.

A data folder keeps a message as a file in outbox/ or sending/ (waiting: a claim left in
sending/ by a stopped mailer waits again, as the stale-claim rule would have it), sent/ or
failed/, and every name ever queued in mail-queued/. PostgreSQL keeps one row per name with
its state (postgres_outbox.py). Both directions keep every name (so nothing is sent again)
and every message not yet sent (so nothing is lost).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..mail import delivery
from ..addresses import AddressError
from ..durable import write_new_file
from ..yamlio import NotRegularFile, read_regular_file
from .base import TransferRefused

WAITING, SENT, FAILED = "waiting", "sent", "failed"
# The folder a message of each state is kept in; a waiting one in sending/ is read as waiting.
FOLDER_OF = {SENT: delivery.SENT, FAILED: delivery.FAILED, WAITING: delivery.OUTBOX}


@dataclass(frozen=True)
class CarriedMail:
    name: str
    recipient: str  # the envelope line's address; empty when it has none (it would be refused)
    raw: bytes  # the outbox file's bytes; empty for a name only remembered
    state: str  # WAITING, SENT or FAILED


def _recipient(raw: bytes) -> str:
    try:
        return delivery.read_envelope(raw)[0]
    except AddressError:
        return ""


def folder_messages(data_dir: str) -> list[CarriedMail]:
    """Every message of a data folder's outbox, by name. A name in several folders (a crash
    between two moves) is read as the data folder's mailer would treat it: waiting wins."""
    found: dict[str, CarriedMail] = {}
    for folder, state in ((delivery.SENT, SENT), (delivery.FAILED, FAILED), (delivery.SENDING, WAITING), (delivery.OUTBOX, WAITING)):
        for name in delivery.pending(data_dir, folder):
            try:
                raw = read_regular_file(os.path.join(data_dir, folder, name))
            except NotRegularFile:
                raise TransferRefused(f"{folder}/{name} n'est pas un fichier ordinaire : déplacez-le hors du dossier "
                                      "de données, puis relancez. Rien n'a été copié.") from None
            found[name] = CarriedMail(name, _recipient(raw), raw, state)
    for name in delivery.pending(data_dir, delivery.QUEUED):
        found.setdefault(name, CarriedMail(name, "", b"", SENT))  # remembered only: it went out, or was removed
    return [found[name] for name in sorted(found)]


def write_messages(messages: list[CarriedMail], target_dir: str) -> tuple[int, int]:
    """Write `messages` as a data folder's outbox in `target_dir` (durably, never over a file);
    (how many names, how many waiting)."""
    for message in messages:
        if message.raw:
            write_new_file(os.path.join(target_dir, FOLDER_OF[message.state]), message.name, message.raw)
    delivery._remember(target_dir, [message.name for message in messages])
    return len(messages), sum(1 for message in messages if message.state == WAITING)
