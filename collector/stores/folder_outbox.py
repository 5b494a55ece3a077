"""The data folder's outbox: its files, exactly as mail.py has always kept them.

Every method delegates to mail.py (outbox/, sending/, sent/, failed/, mail-queued/, the queue
lock, claims by rename, stale claims by the file's time): nothing is rewritten here. The web
workers write only the record; the mailer composes its mails from the record file (mailer.py,
then `reconcile` for what a crash left), as it always did.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from email.message import Message
from typing import TYPE_CHECKING, Any

from .. import mail
from ..yamlio import read_regular_file
from .outbox import OutgoingMail, Watch

if TYPE_CHECKING:
    from .folder import FolderStore
    from .outbox_transfer import CarriedMail


class FolderOutbox:
    def __init__(self, store: FolderStore) -> None:
        self.store = store
        self.data_dir = store.data_dir

    def queue(self, name: str, message: Message, recipient: str) -> bool:
        return mail.queue_message(self.data_dir, name, message, recipient)

    def known_names(self) -> set[str]:
        return mail.known_names(self.data_dir)

    def hold_back(self, name: str) -> bool:
        mail._remember(self.data_dir, [name])  # an empty file in mail-queued/, its folder fsynced
        return True

    def is_held_back(self, name: str) -> bool:
        # Remembered in mail-queued/ with no message file: a queued message has its file in one
        # of the outbox's folders BEFORE its name is remembered, and keeps one until a purge,
        # which forgets the name too. A message moving between folders while they are looked
        # at could seem absent: a second look confirms an absence.
        return all(self._remembered_without_message(name) for _look in range(2))

    def _remembered_without_message(self, name: str) -> bool:
        def present(folder: str) -> bool:
            return os.path.exists(os.path.join(self.data_dir, folder, name))

        return present(mail.QUEUED) and not any(present(folder) for folder in
                                                (mail.OUTBOX, mail.SENDING, mail.SENT, mail.FAILED))

    def claim(self, limit: int, exclude: tuple[str, ...] = ()) -> list[tuple[str, bytes]]:
        claimed = []
        for name in mail.pending(self.data_dir):
            if len(claimed) >= limit:
                break
            if name not in exclude and mail._claim(self.data_dir, name):
                claimed.append((name, read_regular_file(os.path.join(self.data_dir, mail.SENDING, name))))
        return claimed

    def mark_sent(self, name: str) -> None:
        mail._move(self.data_dir, mail.SENDING, mail.SENT, name)

    def mark_failed(self, name: str) -> None:
        mail._move(self.data_dir, mail.SENDING, mail.FAILED, name)

    def give_back(self, name: str) -> None:
        mail._move(self.data_dir, mail.SENDING, mail.OUTBOX, name)

    def release_stale_claims(self, older_than: float = mail.STALE_CLAIM_SECONDS) -> list[str]:
        return mail.release_stale_claims(self.data_dir, older_than)

    def release_own_claims(self) -> list[str]:
        return []  # a claim in sending/ is taken back by its age only, as it always was

    def pending_count(self) -> int:
        return len(mail.pending(self.data_dir))

    def forget(self, reference: str) -> list[str]:
        return mail.remove_for_reference(self.data_dir, reference)

    def deliver(self, settings: mail.MailSettings, stale_after: float = mail.STALE_CLAIM_SECONDS,
                connections: mail.KeptConnections | None = None) -> mail.DeliveryReport:
        return mail.deliver_outbox(self.data_dir, settings, stale_after, connections)

    def reconcile(self, facts: Mapping[str, Any], form: Any, settings: mail.MailSettings) -> list[str]:
        return mail.reconcile(self.data_dir, facts, form, settings)

    def write_record(self, record: dict[str, Any], mails: Callable[[], list[OutgoingMail]]) -> bool:
        return self.store.write_record(record)  # the mailer composes the mails from the record file

    def for_sender(self, data_dir: str) -> FolderOutbox:
        return self  # one folder, one mailer (its lock): the claims need no name

    def messages(self) -> list[CarriedMail]:
        from .outbox_transfer import folder_messages

        return folder_messages(self.data_dir)

    def watch(self) -> Watch:
        from ..mailer import FolderWatch

        return FolderWatch(os.path.join(self.data_dir, mail.OUTBOX))
