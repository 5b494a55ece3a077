"""What a host's mailer keeps in its own data folder about its sends from a shared outbox.

PostgreSQL's outbox (postgres_outbox.py) is shared by every host's mailer; two facts belong
to one host and are kept in its data folder, `state/`:

- Who claims: a claim carries `hostname:data folder:random`, the random part drawn once per
  process (`sender_identity`), so that two hosts cloned with the same hostname and path never
  take back each other's claims. `state/mailer-identities` names this folder's mailers whose
  claims may still be held (one a line), written before their first claim: the next mailer of
  the host, holding the host's mailer lock, takes those back at once and keeps only its own.
- What was sent but not settled: a message the SMTP server accepted whose `mark_sent` failed
  (the database restarting). Its name goes to `state/mail-sent-unsettled` before the round
  ends, and every round (and the next mailer's start) marks those sent first, so that the
  claim is never given back and the message never sent twice. The names are also kept in
  memory: a folder that cannot be written still protects the running mailer.

Both files are rewritten whole (durable.replace_file: temporary file, fsync, rename, fsync of
`state/`); they are short.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket

from ..durable import replace_file
from ..sequence import STATE_DIR

log = logging.getLogger(__name__)

IDENTITIES_FILE = "mailer-identities"
UNSETTLED_FILE = "mail-sent-unsettled"
_process_parts: dict[int, str] = {}


def host_part(data_dir: str) -> str:
    """This machine and its data folder: what claims carried before they had a random part."""
    return f"{socket.gethostname()}:{os.path.realpath(data_dir)}"


def sender_identity(data_dir: str) -> str:
    """The claims' signature of this process's mailer of `data_dir` (see the docstring)."""
    part = _process_parts.setdefault(os.getpid(), secrets.token_hex(6))  # a forked child draws its own
    return f"{host_part(data_dir)}:{part}"


class SenderState:
    """The two lists of one host's mailer, in `data_dir`/state (None: in memory only)."""

    def __init__(self, data_dir: str | None) -> None:
        self.folder = os.path.join(data_dir, STATE_DIR) if data_dir else None
        self._unsettled: set[str] = set(self._read(UNSETTLED_FILE))

    def _read(self, name: str) -> list[str]:
        if self.folder is None:
            return []
        try:
            with open(os.path.join(self.folder, name), encoding="utf-8") as handle:
                return [line for line in handle.read().splitlines() if line]
        except FileNotFoundError:
            return []

    def _write(self, name: str, lines: list[str]) -> None:
        if self.folder is None:
            return
        if not os.path.isdir(os.path.dirname(self.folder)):  # never makes a data folder up
            raise FileNotFoundError(os.path.dirname(self.folder))
        replace_file(self.folder, name, "".join(line + "\n" for line in sorted(lines)).encode("utf-8"))

    # --- identities ---

    def identities(self) -> list[str]:
        """This folder's mailers whose claims may still be held."""
        return self._read(IDENTITIES_FILE)

    def add_identity(self, identity: str) -> None:
        """Name `identity` before its first claim (kept with the others until they are taken back).
        If the folder cannot be written, the claims are only taken back by their age."""
        known = self.identities()
        if identity not in known:
            self._write_identities(known + [identity])

    def only_identity(self, identity: str) -> None:
        """The others' claims were taken back: only `identity` remains."""
        self._write_identities([identity])

    def _write_identities(self, identities: list[str]) -> None:
        try:
            self._write(IDENTITIES_FILE, identities)
        except OSError as error:
            log.warning("mailer: could not note this mailer in %s (%s): a claim it leaves comes back only "
                        "once stale", IDENTITIES_FILE, type(error).__name__)

    # --- sent, not settled ---

    def unsettled(self) -> list[str]:
        return sorted(self._unsettled)

    def add_unsettled(self, name: str) -> None:
        """Remember a sent message whose settling failed; in memory at least, on disk if it can."""
        self._unsettled.add(name)
        try:
            self._write(UNSETTLED_FILE, list(self._unsettled))
        except OSError as error:
            log.error("mail: %s was sent but could not be noted in %s (%s): it is remembered until this "
                      "mailer stops", name, UNSETTLED_FILE, type(error).__name__)

    def settled(self, name: str) -> None:
        self._unsettled.discard(name)
        try:
            self._write(UNSETTLED_FILE, list(self._unsettled))
        except OSError as error:  # the name stays in the file: marking it sent again changes nothing
            log.warning("mail: could not rewrite %s (%s)", UNSETTLED_FILE, type(error).__name__)
