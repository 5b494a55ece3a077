"""The mailer: the one process that composes, queues and sends the collector's e-mails.

`flask --app collector mailer` runs until SIGTERM or Ctrl-C (systemd: deploy/ami-mailer.service,
`make run` starts it beside gunicorn). The web workers never compose or send a mail: they
store the record durably and answer the porteur; that file is the whole signal. Everything
mail/delivery.py offers does the rest: `queue_for_records` (the outbox's files are the queue),
`deliver_outbox` (claim by rename, retry, set aside), `reconcile` (records without mails).

How the mailer learns of new work: it polls. Every POLL_SECONDS it reads the modification
time of `submissions/`, `link-requests/` and `outbox/` (one stat each); when `submissions/`
changed it lists it and queues the mails of the records it has not seen yet; when
the store's lost-link requests changed (`link-requests/`, or a count of PostgreSQL's rows)
it handles them (link_requests.py: the dossiers of the address are found here, not in the
web request; on PostgreSQL the mailer of any host takes any host's requests); when it
queued something or `outbox/` changed (another module queued a message), it delivers.

It shares the disk whose fsyncs bound the intake's throughput (a CPU niceness does nothing
for the disk's queue), so it pays the outbox's bookkeeping once per batch: the mails of
QUEUE_BATCH_RECORDS records are queued with one syncfs for their files (collector/
durable_batch.py), one fsync of outbox/ and one of mail-queued/, and delivery fsyncs sent/
once per batch of moves (mail/delivery.py): a few syncs per batch instead of five per message. New records are taken up once `submissions/`
has been still for LULL_SECONDS, or once the first of them has waited MAX_WAIT_SECONDS while
posts kept coming: under a burst the porteurs are answered first (taking up records during
the burst, a batch's worth at a time, cost the intake 20 to 43 % of its throughput in
bench/collector.py), and the mails follow within seconds after it, a batch at a time, each
delivered by a sender thread while the next is composed (BackgroundDelivery). We chose this over a
wake-up sent by the web workers (a datagram socket, a fifo) because:
- the request path does nothing more than store the record: no send that could block,
  fail or cost, no socket file, path length or permission to manage;
- nothing can be missed: a datagram is lost when the mailer is down or its queue is full
  (10 datagrams by default on Linux), a file on disk is not; the poll also sees messages
  that other modules queue into the outbox, with no change to them;
- the price is at most POLL_SECONDS before a mail is composed, and a few stat calls a second.
A folder's modification time only has the kernel clock's granularity: a record published in
the same tick as our listing would leave it unchanged. So a folder changed less than
RECENT_SECONDS ago is listed again at the next poll even if its time is the same (the way git
treats "racily clean" files).

Catching up: at start and then every COLLECTOR_MAIL_RETRY_SECONDS (at least one second)
the mailer runs `reconcile` (the mails of every record that has none: a record stored while
the mailer was down, a composition that failed) and mail/catch_up.py (the mails of the
dossiers' life whose queueing failed after their event was stored), and delivers, whatever
the folders say. A
failed delivery (server unreachable, a temporary refusal) waits for that same period.

One mailer works at a time: it holds an exclusive `flock` on `$DATA/state/mailer.lock` while it
runs, and `send-mail` takes the same lock for its round (`send_once`: it does nothing while a
mailer runs). A second mailer started by mistake (or during a restart) waits, polling the lock, and
takes over within a poll once the first one ends or dies (the kernel releases the lock of a
dead process). Two mailers never queue the same record at once, so a message is never queued
again while the other one is sending it.

Stopping: SIGTERM or SIGINT end the mailer after the round in progress (a message being sent
is finished and moved to sent/), with exit status 0. If it is killed in the middle of a send,
mail/delivery.py's stale-claim rule returns that message to the outbox later (sent at most once more;
after a burst, up to SENDER_THREADS messages are in flight at once).

Where the messages wait: the outbox of the store it is given (`store.outbox`, collector/stores/
outbox.py). On the data folder, the files above. On PostgreSQL, the host that stores a record
has already queued its mails in the record's transaction (so `submissions/` stays empty and
the catch-up finds what a crash or an older collector left); the mailers of every host send
from that one table, each claim committed before its send (postgres_outbox.py), and the
outbox's watch is a count of the waiting messages at each poll. A mailer that starts takes back
the claims its host's dead mailer left (the lock says none of its host's mailers runs).

The mailer gives itself a lower CPU priority (nice +MAILER_NICENESS): it is its own process, so
the kernel's scheduler, unlike the interpreter's lock in a thread of a web worker, does let the
requests go first under a burst; the mails follow as soon as the processor has a moment.
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import signal
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click
from flask.cli import with_appcontext

from ..config import ConfigError
from ..owner import check_data_owner
from ..stores.folder_poll import FolderWatch
from .delivery import QUEUE_BATCH_RECORDS, DeliveryReport, KeptConnections, MailSettings, check_sender, queue_for_records
from .catch_up import LifecycleCatchUp
from ..link_requests import IndexLookup, handle_requests
from ..records import RECORD_SUFFIX, SUBMISSIONS_DIR, RecordError, read_record
from .. import appstate
from . import lifecycle
from ..statuses import store_of
from ..stores.base import Store, StoreUnavailable
from ..stores.outbox import Outbox

if TYPE_CHECKING:
    from concurrent.futures import Future

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
LULL_SECONDS = 1.0
MAX_WAIT_SECONDS = 30.0
MIN_PERIOD_SECONDS = 1.0
MAILER_NICENESS = 10
# Delivery rounds at once after a burst, each with its own SMTP connection (BackgroundDelivery):
# two delivered 800 messages to a local server 1.3 to 1.6 times as fast as one on a loaded
# two-core machine; three were no faster. A relay that takes a few connections at once is usual.
SENDER_THREADS = 2
LOCK_FILE = os.path.join("state", "mailer.lock")


def record_references(data_dir: str) -> set[str]:
    """The references of every published record (names only: no file is read)."""
    folder = os.path.join(data_dir, SUBMISSIONS_DIR)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return set()
    return {name[:-len(RECORD_SUFFIX)] for name in names if name.endswith(RECORD_SUFFIX)}


class Mailer:
    """One mailer's state: the records whose mails it has queued, when it may deliver next."""

    def __init__(self, data_dir: str, facts: Mapping[str, Any], form: Any, settings: MailSettings,
                 lookup: IndexLookup | None = None, store: Store | None = None, outbox: Outbox | None = None) -> None:
        self.data_dir = data_dir
        self.store = store or store_of(data_dir)  # the records, histories and lost-link requests (the folder's by default)
        self.outbox = outbox or self.store.outbox  # run() gives the store's outbox as this host's sender
        self.facts = facts
        self.form = form
        self.settings = settings
        self.lookup = lookup  # the review index's e-mail key, for the lost-link requests
        self.period = max(MIN_PERIOD_SECONDS, settings.retry_seconds)
        self._records = FolderWatch(os.path.join(data_dir, SUBMISSIONS_DIR))
        self._outbox = self.outbox.watch()
        self._link_requests = self.store.link_requests.watch()
        self._handled: set[str] = set()
        self._lifecycle = LifecycleCatchUp()
        self._next_catch_up = 0.0
        self._next_delivery = 0.0
        self._new_since: float | None = None  # when the records folder changed first since the last take-up

    def step(self) -> None:
        """One poll: catch up when due, queue the new records' mails, deliver what waits."""
        now = time.monotonic()
        if now >= self._next_catch_up:
            self._next_catch_up = now + self.period
            self.catch_up()
            self.deliver(force=True)
            return
        if self._records.changed() and self._new_since is None:
            self._new_since = now
        queued = 0
        if self._new_since is not None and (self._records.still_for() >= LULL_SECONDS
                                            or now - self._new_since >= MAX_WAIT_SECONDS):
            self._new_since = None
            queued = self.queue_new_records()
        if self._link_requests.changed():
            queued += handle_requests(self.store, self.facts, self.settings, self.lookup)
        if self._outbox.changed() or queued:
            self.deliver()

    def catch_up(self) -> None:
        """Queue the mails of every record that has none (`reconcile`) and the lifecycle mails
        that a failure left unqueued (mail/catch_up.py); remember those records."""
        references = record_references(self.data_dir)  # listed first: a record added meanwhile is new next time
        queued = self.outbox.reconcile(self.facts, self.form, self.settings)
        if queued:
            log.info("mail: %d message(s) queued for records stored while no mailer ran", len(queued))
        self._handled = references
        caught = self._lifecycle.run(self.store, self.facts, self.form, self.settings)
        if caught:
            log.info("mail: %d message(s) of the dossiers' life queued again (their queueing had failed)",
                     len(caught))
        handle_requests(self.store, self.facts, self.settings, self.lookup)

    def queue_new_records(self) -> int:
        """Queue the mails of the records published since the last look, QUEUE_BATCH_RECORDS at a
        time; each batch, once durably in the outbox, is delivered by a sender thread while the
        next one is composed (BackgroundDelivery); how many messages. Returns once every batch
        has been delivered."""
        queued = 0
        new = sorted(record_references(self.data_dir) - self._handled)
        with BackgroundDelivery(lambda connections: self.deliver(connections=connections)) as sender:
            for start in range(0, len(new), QUEUE_BATCH_RECORDS):
                records = []
                for reference in new[start:start + QUEUE_BATCH_RECORDS]:
                    try:
                        records.append(read_record(os.path.join(self.data_dir, SUBMISSIONS_DIR,
                                                                reference + RECORD_SUFFIX)))
                    except RecordError:
                        log.warning("mail: the record %s cannot be read, its mails wait (run `check`)", reference)
                    except OSError as error:  # e.g. a full disk: the next catch-up tries again
                        log.error("mail: could not read the record %s (%s)", reference, type(error).__name__)
                        continue
                    self._handled.add(reference)
                batch = len(queue_for_records(self.data_dir, records, self.facts, self.form, self.settings))
                if batch:
                    queued += batch
                    sender.request()  # the batch is durably in the outbox: it may leave now
        return queued

    def deliver(self, force: bool = False, connections: KeptConnections | None = None) -> None:
        """Send what waits in the outbox, unless a failed round asked to wait (`force` does not);
        over `connections`' kept SMTP connection of this thread, if given."""
        if not self.settings.host or (not force and time.monotonic() < self._next_delivery):
            return
        report = self.outbox.deliver(self.settings, connections=connections)
        if report.error or report.deferred:
            self._next_delivery = time.monotonic() + self.period
        if report.sent or report.failed or report.error:
            log.info("mail: %d sent, %d waiting, %d refused%s", len(report.sent), len(report.deferred),
                     len(report.failed), f" ({report.error})" if report.error else "")


class BackgroundDelivery:
    """Delivery rounds run by SENDER_THREADS sender threads while the caller composes the next batch.

    Composing is the mailer's CPU work; a delivery round mostly waits (four answers of the SMTP
    server per message, renames, fsyncs), which releases the interpreter's lock: the two overlap,
    so the first mails leave while the next batch is composed instead of after it, and two rounds
    over one outbox, each on its own SMTP connection, wait for the server in turn rather than
    one after the other. Two rounds share the messages through the outbox's claims (a rename
    succeeds for one of them: each message is sent once), the way two processes always could.
    Only messages already durably in the outbox are delivered (a round lists the outbox when it
    starts, and `request` is called once a batch is there): a crash between composing and
    sending loses nothing (the next mailer sends what waits).

    `request` asks for rounds that start after the call: none is added while one is waiting to
    start (it will see the new messages too), SENDER_THREADS otherwise, behind the rounds in
    progress. Each sender thread keeps its SMTP connection from one round to the next
    (mail.KeptConnections): a burst's many rounds go through SENDER_THREADS connections, closed
    when the block ends. Leaving the `with` block waits for every round and raises the first
    error a round raised."""

    def __init__(self, deliver: Callable[[KeptConnections], None]) -> None:
        from concurrent.futures import ThreadPoolExecutor  # here: the commands that only register `mailer` never load it

        self._deliver = deliver
        self._pool = ThreadPoolExecutor(max_workers=SENDER_THREADS, thread_name_prefix="mail-sender")
        self._rounds: list[Future[None]] = []
        self._connections = KeptConnections()

    def request(self) -> None:
        if any(not round_.running() and not round_.done() for round_ in self._rounds):
            return  # a round not started yet lists the outbox after this batch was queued
        self._rounds += [self._pool.submit(self._deliver, self._connections) for _ in range(SENDER_THREADS)]

    def __enter__(self) -> BackgroundDelivery:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._pool.shutdown(wait=True)  # every round requested is finished before the caller goes on
        self._connections.close()
        errors = [error for error in (round_.exception() for round_ in self._rounds) if error]
        if errors and exc_type is None:
            raise errors[0]  # in the mailer's loop, which logs it and waits a period


class StopRequest:
    """SIGTERM and SIGINT set `requested`; `wait` sleeps until the timeout or such a signal."""

    def __init__(self) -> None:
        self.requested = False
        self._read, self._write = os.pipe()
        for fd in (self._read, self._write):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(self._write)  # the C handler writes here: `wait` wakes at once
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.requested = True

    def wait(self, seconds: float) -> None:
        if self.requested:
            return
        ready, _, _ = select.select([self._read], [], [], seconds)
        if ready:
            try:
                os.read(self._read, 512)
            except BlockingIOError:
                pass


def _lower_priority() -> None:
    try:
        os.nice(MAILER_NICENESS)
    except OSError:  # not allowed: the mailer keeps the priority it was given
        pass


def _take_lock(handle: Any) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_file(data_dir: str) -> Any:
    os.makedirs(os.path.dirname(os.path.join(data_dir, LOCK_FILE)), exist_ok=True)
    return open(os.path.join(data_dir, LOCK_FILE), "a+b")


def _taken_over(store: Store, data_dir: str) -> Outbox:
    """The store's outbox as this host's mailer, once this host's mailer lock is held: the claims a
    dead mailer of this host left are given back first (where the store tells them apart)."""
    outbox = store.outbox.for_sender(data_dir)
    try:
        if released := outbox.release_own_claims():
            log.info("mailer: %d message(s) claimed by a mailer of this host that stopped wait again", len(released))
    except OSError as error:  # the store out of reach: the stale-claim rule gives them back later
        log.warning("mailer: could not take back this host's old claims (%s)", type(error).__name__)
    return outbox


def send_once(data_dir: str, facts: Mapping[str, Any], form: Any, settings: MailSettings,
              store: Store | None = None) -> tuple[list[str], DeliveryReport] | None:
    """One round of the mailer by hand (`send-mail`): catch up, then deliver from the store's
    outbox (the data folder's by default); (names queued, report).

    It holds the mailer's lock for the round, so that it and a mailer never send at once;
    None, without doing anything, while a mailer holds it (the mailer does the same work)."""
    store = store or store_of(data_dir)
    with _lock_file(data_dir) as lock:
        if not _take_lock(lock):
            return None
        outbox = _taken_over(store, data_dir)
        queued = outbox.reconcile(facts, form, settings)
        queued += LifecycleCatchUp().run(store, facts, form, settings)
        handle_requests(store, facts, settings)
        return queued, outbox.deliver(settings)


def run(data_dir: str, facts: Mapping[str, Any], form: Any, settings: MailSettings, stop: StopRequest,
        lookup: IndexLookup | None = None, store: Store | None = None,
        upkeep: Callable[[], None] | None = None) -> None:
    """Be the mailer of `store` (the data folder's by default) until `stop` is requested: wait for
    the lock, then poll (see the docstring); `upkeep` is called at each poll (review/index_upkeep.py:
    it never raises)."""
    store = store or store_of(data_dir)
    _lower_priority()
    if not settings.host:
        log.warning("mail: no SMTP server (COLLECTOR_SMTP_HOST): the mails wait in the outbox")
    with _lock_file(data_dir) as lock:
        if not _take_lock(lock):
            log.info("mailer: another mailer is running; this one waits to take over")
            while not _take_lock(lock):
                stop.wait(POLL_SECONDS)
                if stop.requested:
                    return
        log.info("mailer: running (pid %d)", os.getpid())
        mailer = Mailer(data_dir, facts, form, settings, lookup, store, _taken_over(store, data_dir))
        while not stop.requested:
            if upkeep is not None:
                upkeep()
            try:
                mailer.step()
            except StoreUnavailable as error:  # expected while PostgreSQL restarts: one line, not a traceback
                log.warning("mailer: a round stopped: %s; next try in %.0f s", error, mailer.period)
                stop.wait(mailer.period)
                continue
            except Exception:  # noqa: BLE001 - a long-running sender keeps going; the files wait
                log.exception("mailer: a round failed; next try in %.0f s", mailer.period)
                stop.wait(mailer.period)
                continue
            stop.wait(POLL_SECONDS)
    log.info("mailer: stopped")


@click.command("mailer")
@with_appcontext
def mailer_command() -> None:
    """Compose, queue and send the e-mails until stopped (SIGTERM, Ctrl-C); one process, beside gunicorn."""
    data_dir = appstate.data_dir()
    check_data_owner(data_dir)
    try:
        settings = lifecycle.with_dossier_links(MailSettings.from_env())  # signs the dossier links
        check_sender(settings)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    make_upkeep = appstate.index_upkeep()  # the review index's periodic sync (review/index_upkeep.py)
    try:
        upkeep = make_upkeep() if make_upkeep is not None else None
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    store = appstate.store()
    run(data_dir, appstate.facts(), appstate.form(), settings, StopRequest(), appstate.email_lookup(), store, upkeep)
