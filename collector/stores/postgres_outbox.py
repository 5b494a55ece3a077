"""The outbox in PostgreSQL: one table (schema/0003_outbox.sql) that every host's mailer sends from.

- Queue: `INSERT … ON CONFLICT (name) DO NOTHING`: a name is queued once, across hosts; the
  row is committed (durable: synchronous_commit, the default) before `queue` returns.
- With the record: the intake writes a record and its two mails in ONE transaction
  (`write_record`), so no acknowledged record is ever without its mails, even when the host
  dies right after.
- Claim: `SELECT … FOR UPDATE SKIP LOCKED` in a transaction that sets claimed_at/claimed_by and
  commits BEFORE the message is sent: two mailers, on one host or two, never take the same
  message. A mailer claims one message at a time, and marks it sent (committed) as soon as the
  SMTP server accepted it, so a mailer killed mid-delivery holds one claim: the message in
  flight. That claim is given back when the killed mailer's host starts its mailer again
  (claimed_by names the host, its data folder and a random part per mailer process, which
  the host's folder records: sender_state.py; its mailer lock says no other mailer of that
  host runs), or by any mailer once it is older than STALE_CLAIM_SECONDS (the database's
  clock, the same for every host). That one message is then sent at most once more, never
  lost; every other message is sent once.
- Sent, not settled: when the SMTP server accepted a message but marking it sent fails (the
  database restarting), the mailer notes its name in its host's folder and marks it sent
  first at its next round, before any claim is given back: it is not sent again.
- Memory: sent and refused rows stay (the names ever queued); `forget` deletes a dossier's.

The mailer learns of new messages by polling `pending_count` (see `WaitingWatch`).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Mapping, Sequence
from email.message import Message
from typing import TYPE_CHECKING, Any

from ..mail import delivery
from ..mail.refusals import log_refusal
from ..records import serialise_record
from .base import StoreUnavailable, TransferRefused
from .postgres_histories import lock_stored_dossier
from .outbox import DEFERRED, FAILED, INTERRUPTED, SENT, OutgoingMail, Watch, queue_missing, send_outcome
from .sender_state import SenderState, host_part, sender_identity

if TYPE_CHECKING:
    from .outbox_transfer import CarriedMail
    from .postgres import PostgresStore

log = logging.getLogger(__name__)

_INSERT = ("INSERT INTO outbox (name, reference, recipient, raw) VALUES (%s, %s, %s, %s) "
           "ON CONFLICT (name) DO NOTHING RETURNING 1")
_WAITING = "sent_at IS NULL AND failed_at IS NULL AND held_at IS NULL"
# A name held back by the porteur mail caps: remembered, never sent; no message, no address kept.
_HOLD_BACK = ("INSERT INTO outbox (name, reference, recipient, raw, held_at) VALUES (%s, %s, '', ''::bytea, now()) "
              "ON CONFLICT (name) DO NOTHING")


def reference_of(name: str) -> str:
    """The dossier a message belongs to: its name up to the first dot (`AMI-2021-0042.accuse.eml`)."""
    return name.partition(".")[0]


class PostgresOutbox:
    def __init__(self, store: PostgresStore, data_dir: str | None = None) -> None:
        self.store = store
        self.data_dir = data_dir
        self.sender = sender_identity(data_dir or ".")
        self.state = SenderState(data_dir)  # this host's mailers, and what it sent but did not settle

    def for_sender(self, data_dir: str) -> PostgresOutbox:
        """This outbox, claiming as this process's mailer of the host whose data folder is `data_dir`."""
        return PostgresOutbox(self.store, data_dir)

    def queue(self, name: str, message: Message, recipient: str) -> bool:
        raw = OutgoingMail(name, recipient, message).raw()
        with self.store._connection() as connection:
            return connection.execute(_INSERT, (name, reference_of(name), recipient, raw)).fetchone() is not None

    def queue_for_dossiers(self, references: Sequence[str], name: str, message: Message, recipient: str) -> bool:
        raw = OutgoingMail(name, recipient, message).raw()
        with self.store._connection() as connection:  # one transaction: the locks are held until it commits
            for reference in sorted(set(references)):
                lock_stored_dossier(connection, reference)  # the purge's lock; NoRecord once it committed
            return connection.execute(_INSERT, (name, reference_of(name), recipient, raw)).fetchone() is not None

    def known_names(self) -> set[str]:
        with self.store._connection() as connection:
            return {row[0] for row in connection.execute("SELECT name FROM outbox")}

    def hold_back(self, name: str) -> bool:
        """A row with `held_at` and no message (schema 0007), committed before this returns; a
        name already known stays as it is (it is remembered either way)."""
        with self.store._connection() as connection:
            connection.execute(_HOLD_BACK, (name, reference_of(name)))
        return True

    def hold_back_for_dossier(self, reference: str, name: str) -> bool:
        """One transaction: the purge's lock and the record's check (NoRecord once a purge
        committed), then the held row, committed together."""
        with self.store._connection() as connection:
            lock_stored_dossier(connection, reference)
            connection.execute(_HOLD_BACK, (name, reference_of(name)))
        return True

    def is_held_back(self, name: str) -> bool:
        """True when the name's row was made by hold_back (`held_at`): a queued message never is."""
        with self.store._connection() as connection:
            row = connection.execute("SELECT held_at IS NOT NULL FROM outbox WHERE name = %s", (name,)).fetchone()
        return bool(row and row[0])

    def claim(self, limit: int, exclude: tuple[str, ...] = ()) -> list[tuple[str, bytes]]:
        self.state.add_identity(self.sender)  # before the first claim: the host's next mailer takes it back
        with self.store._connection() as connection:
            rows = connection.execute(
                "UPDATE outbox SET claimed_at = now(), claimed_by = %s WHERE name IN ("
                f"  SELECT name FROM outbox WHERE {_WAITING} AND claimed_at IS NULL AND NOT (name = ANY(%s))"
                "   ORDER BY queued_at, name LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING name, raw",
                (self.sender, list(exclude), limit)).fetchall()
        return sorted((str(name), bytes(raw)) for name, raw in rows)

    def _finish(self, name: str, assignment: str) -> None:
        with self.store._connection() as connection:
            connection.execute(f"UPDATE outbox SET {assignment}, claimed_at = NULL, claimed_by = NULL "
                               f"WHERE name = %s AND {_WAITING}", (name,))

    def mark_sent(self, name: str) -> None:
        self._finish(name, "sent_at = now()")

    def mark_failed(self, name: str) -> None:
        self._finish(name, "failed_at = now()")

    def give_back(self, name: str) -> None:
        with self.store._connection() as connection:
            connection.execute(f"UPDATE outbox SET claimed_at = NULL, claimed_by = NULL WHERE name = %s AND {_WAITING}",
                               (name,))

    def _release(self, condition: str, value: Any) -> list[str]:
        with self.store._connection() as connection:
            rows = connection.execute(f"UPDATE outbox SET claimed_at = NULL, claimed_by = NULL WHERE {_WAITING} "
                                      f"AND claimed_at IS NOT NULL AND {condition} RETURNING name", (value,)).fetchall()
        return sorted(str(row[0]) for row in rows)

    def release_stale_claims(self, older_than: float = delivery.STALE_CLAIM_SECONDS) -> list[str]:
        return self._release("claimed_at <= now() - make_interval(secs => %s)", older_than)

    def release_own_claims(self) -> list[str]:
        """Settle what this host sent (the unsettled names) first, then give back the claims of
        this host's mailers recorded in its folder (and of this code's older claims, which
        named the host and folder only); only this mailer stays recorded."""
        self.settle_unsettled()
        mine = sorted({self.sender, host_part(self.data_dir or "."), *self.state.identities()})
        released = self._release("claimed_by = ANY(%s)", mine)
        self.state.only_identity(self.sender)
        return released

    def settle_unsettled(self) -> None:
        """Mark sent the messages this host's mailer sent but could not mark (sender_state.py)."""
        for name in self.state.unsettled():
            self.mark_sent(name)  # StoreUnavailable: they stay noted, for the next round
            self.state.settled(name)

    def pending_count(self) -> int:
        with self.store._connection() as connection:
            row = connection.execute(f"SELECT count(*) FROM outbox WHERE {_WAITING} AND claimed_at IS NULL").fetchone()
        return int(row[0]) if row else 0

    def forget(self, reference: str) -> list[str]:
        with self.store._connection() as connection:
            rows = connection.execute("DELETE FROM outbox WHERE reference = %s RETURNING name", (reference,)).fetchall()
        return sorted(str(row[0]) for row in rows)

    def _waiting_names(self) -> list[str]:
        with self.store._connection() as connection:
            return [str(row[0]) for row in
                    connection.execute(f"SELECT name FROM outbox WHERE {_WAITING} ORDER BY queued_at, name")]

    def deliver(self, settings: delivery.MailSettings, stale_after: float = delivery.STALE_CLAIM_SECONDS,
                connections: delivery.KeptConnections | None = None) -> delivery.DeliveryReport:
        """Send what waits, one claim at a time (see the module docstring), as delivery.deliver_outbox
        does for the data folder: the same outcomes, the same report."""
        report = delivery.DeliveryReport()
        try:
            if not settings.host:
                report.deferred = self._waiting_names()
                report.error = "aucun serveur SMTP configuré (COLLECTOR_SMTP_HOST)"
                return report
            self.settle_unsettled()  # before any claim is given back: a message sent is never sent again
            self.release_stale_claims(stale_after)
            waiting = self.pending_count()
        except StoreUnavailable:
            report.error = "base PostgreSQL injoignable"
            return report
        if not waiting:
            return report
        try:
            client = connections.open(settings) if connections is not None else delivery._connect(settings)
        except (OSError, smtplib.SMTPException) as error:
            report.deferred = self._waiting_names()
            report.error = f"serveur SMTP injoignable ({type(error).__name__})"
            return report
        finished = False
        try:
            self._send_claims(client, settings, waiting, report)
            finished = True
        except StoreUnavailable:
            report.error = "base PostgreSQL injoignable"
        finally:
            if connections is not None and finished and not report.error:
                connections.keep(client)
            else:
                delivery._close(client)
        return report

    def _send_claims(self, client: smtplib.SMTP, settings: delivery.MailSettings, waiting: int,
                     report: delivery.DeliveryReport) -> None:
        """Claim, send and settle up to `waiting` messages (those waiting when the round began:
        the ones queued meanwhile go out at the next poll)."""
        outcomes = {SENT: (self.mark_sent, report.sent), FAILED: (self.mark_failed, report.failed),
                    DEFERRED: (self.give_back, report.deferred), INTERRUPTED: (self.give_back, report.deferred)}
        for _ in range(waiting):
            claimed = self.claim(1, tuple(report.deferred))
            if not claimed:
                return
            name, raw = claimed[0]
            outcome, error = send_outcome(client, raw, settings)
            if outcome == FAILED:
                log_refusal(name, error)
            settle, names = outcomes[outcome]
            try:
                settle(name)
            except StoreUnavailable:
                if outcome == SENT:
                    self.state.add_unsettled(name)  # settled first at the next round: never sent twice
                    names.append(name)
                raise
            names.append(name)
            if outcome == INTERRUPTED:
                report.error = error
                return

    def reconcile(self, facts: Mapping[str, Any], form: Any, settings: delivery.MailSettings) -> list[str]:
        """The mails of records stored without them: records carried over by migrate-store
        without their memory, or stored before this table existed, or whose mails could
        not be composed at the intake (logged there)."""
        return queue_missing(self.store.references(), self.store.read_record, self, facts, form, settings)

    def write_record(self, record: dict[str, Any], mails: Callable[[], list[OutgoingMail]]) -> bool:
        from .postgres import _INSERT_RECORD, _record_row

        try:
            outgoing = mails()
        except Exception as error:  # noqa: BLE001 - the record matters more: reconcile composes them later
            log.error("mail: could not compose the mails of %s (%s); the mailer's catch-up will",
                      record["reference"], type(error).__name__)
            outgoing = []
        with self.store._connection() as connection:
            created = connection.execute(_INSERT_RECORD + " ON CONFLICT (reference) DO NOTHING RETURNING 1",
                                         _record_row(record, serialise_record(record).decode("utf-8"))).fetchone()
            if created is None:
                return False
            with connection.cursor() as cursor:
                cursor.executemany(_INSERT, [(item.name, record["reference"], item.recipient, item.raw())
                                             for item in outgoing])
        return True

    def watch(self) -> Watch:
        return WaitingWatch(self)

    # --- migrate-store and dump ---

    def load(self, connection: Any, messages: list[CarriedMail]) -> None:
        """Within migrate-store's transaction: a data folder's messages (outbox_transfer.py).
        Refuses (French) an outbox that already holds messages; checks the count it wrote."""
        (held,) = connection.execute("SELECT count(*) FROM outbox").fetchone()
        if held:
            raise TransferRefused(f"la base contient déjà {held} e-mail(s) : migrate-store ne copie que vers une "
                                  "base vide, et une seule fois. Rien n'a été copié.")
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO outbox (name, reference, recipient, raw, sent_at, failed_at) VALUES (%s, %s, %s, %s, "
                "CASE WHEN %s = 'sent' THEN now() END, CASE WHEN %s = 'failed' THEN now() END)",
                [(item.name, reference_of(item.name), item.recipient, item.raw, item.state, item.state)
                 for item in messages])
        (count,) = connection.execute("SELECT count(*) FROM outbox").fetchone()
        if count != len(messages):
            raise TransferRefused("la copie relue des e-mails ne correspond pas au dossier de données : "
                                  "rien n'a été copié.")

    def messages(self) -> list[CarriedMail]:
        """Every message and name, for dump; a claimed message is waiting (its claim is this store's)."""
        from .outbox_transfer import CarriedMail

        with self.store._connection() as connection:
            rows = connection.execute("SELECT name, recipient, raw, CASE WHEN sent_at IS NOT NULL THEN 'sent' "
                                      "WHEN failed_at IS NOT NULL THEN 'failed' WHEN held_at IS NOT NULL THEN 'sent' "
                                      "ELSE 'waiting' END "
                                      "FROM outbox ORDER BY name").fetchall()
        return [CarriedMail(str(name), str(recipient), bytes(raw), str(state)) for name, recipient, raw, state in rows]


class WaitingWatch:
    """The mailer's poll on PostgreSQL: one indexed count (outbox_waiting) per poll.

    We poll rather than LISTEN/NOTIFY: a notification sent while a mailer is disconnected
    (a database restart, a mailer starting) is lost, so a poll would be needed anyway to
    catch up; the mailer already polls its folders every POLL_SECONDS, and a count on a
    partial index of the waiting messages costs the server next to nothing."""

    def __init__(self, outbox: PostgresOutbox) -> None:
        self.outbox = outbox

    def changed(self) -> bool:
        try:
            return self.outbox.pending_count() > 0
        except StoreUnavailable:
            return False  # the round's catch-up reports it; the messages wait in the database
