"""The data folder's outbox: its files, exactly as mail/delivery.py has always kept them.

Every method delegates to mail/delivery.py (outbox/, sending/, sent/, failed/, mail-queued/, the queue
lock, claims by rename, stale claims by the file's time): nothing is rewritten here. The web
workers write only the record; the mailer composes its mails from the record file (mail/mailer.py,
then `reconcile` for what a crash left), as it always did.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from email.message import Message
from typing import TYPE_CHECKING, Any

from .. import statuses
from ..mail import delivery
from ..yamlio import read_regular_file
from .folder_poll import FolderWatch
from .outbox import OutgoingMail, Watch

if TYPE_CHECKING:
    from .folder import FolderStore
    from .outbox_transfer import CarriedMail


class FolderOutbox:
    def __init__(self, store: FolderStore) -> None:
        self.store = store
        self.data_dir = store.data_dir

    def queue(self, name: str, message: Message, recipient: str) -> bool:
        return delivery.queue_message(self.data_dir, name, message, recipient)

    def queue_for_dossiers(self, references: Sequence[str], name: str, message: Message, recipient: str) -> bool:
        with ExitStack() as held:  # the purge holds one history flock at a time: sorted, no deadlock
            for reference in sorted(set(references)):
                held.enter_context(statuses.locked(self.data_dir, reference))
                statuses.refuse_without_record_file(self.data_dir, reference)
            return self.queue(name, message, recipient)

    def known_names(self) -> set[str]:
        return delivery.known_names(self.data_dir)

    def hold_back(self, name: str) -> bool:
        delivery._remember(self.data_dir, [name])  # an empty file in mail-queued/, its folder fsynced
        return True

    def hold_back_for_dossier(self, reference: str, name: str) -> bool:
        with statuses.locked(self.data_dir, reference):  # the purge's lock, held until the record is gone
            statuses.refuse_without_record_file(self.data_dir, reference)
            return self.hold_back(name)

    def is_held_back(self, name: str) -> bool:
        # Remembered in mail-queued/ with no message file: a queued message has its file in one
        # of the outbox's folders BEFORE its name is remembered, and keeps one until a purge,
        # which forgets the name too. A message moving between folders while they are looked
        # at could seem absent: a second look confirms an absence.
        return all(self._remembered_without_message(name) for _look in range(2))

    def _remembered_without_message(self, name: str) -> bool:
        def present(folder: str) -> bool:
            return os.path.exists(os.path.join(self.data_dir, folder, name))

        return present(delivery.QUEUED) and not any(present(folder) for folder in
                                                    (delivery.OUTBOX, delivery.SENDING, delivery.SENT, delivery.FAILED))

    def claim(self, limit: int, exclude: tuple[str, ...] = ()) -> list[tuple[str, bytes]]:
        claimed = []
        for name in delivery.pending(self.data_dir):
            if len(claimed) >= limit:
                break
            if name not in exclude and delivery._claim(self.data_dir, name):
                claimed.append((name, read_regular_file(os.path.join(self.data_dir, delivery.SENDING, name))))
        return claimed

    def mark_sent(self, name: str) -> None:
        delivery._move(self.data_dir, delivery.SENDING, delivery.SENT, name)

    def mark_failed(self, name: str) -> None:
        delivery._move(self.data_dir, delivery.SENDING, delivery.FAILED, name)

    def give_back(self, name: str) -> None:
        delivery._move(self.data_dir, delivery.SENDING, delivery.OUTBOX, name)

    def release_stale_claims(self, older_than: float = delivery.STALE_CLAIM_SECONDS) -> list[str]:
        return delivery.release_stale_claims(self.data_dir, older_than)

    def release_own_claims(self) -> list[str]:
        return []  # a claim in sending/ is taken back by its age only, as it always was

    def pending_count(self) -> int:
        return len(delivery.pending(self.data_dir))

    def forget(self, reference: str) -> list[str]:
        return delivery.remove_for_reference(self.data_dir, reference)

    def deliver(self, settings: delivery.MailSettings, stale_after: float = delivery.STALE_CLAIM_SECONDS,
                connections: delivery.KeptConnections | None = None) -> delivery.DeliveryReport:
        return delivery.deliver_outbox(self.data_dir, settings, stale_after, connections)

    def reconcile(self, facts: Mapping[str, Any], form: Any, settings: delivery.MailSettings) -> list[str]:
        return delivery.reconcile(self.data_dir, facts, form, settings)

    def write_record(self, record: dict[str, Any], mails: Callable[[], list[OutgoingMail]]) -> bool:
        return self.store.write_record(record)  # the mailer composes the mails from the record file

    def for_sender(self, data_dir: str) -> FolderOutbox:
        return self  # one folder, one mailer (its lock): the claims need no name

    def messages(self) -> list[CarriedMail]:
        from .outbox_transfer import folder_messages

        return folder_messages(self.data_dir)

    def watch(self) -> Watch:

        return FolderWatch(os.path.join(self.data_dir, delivery.OUTBOX))
