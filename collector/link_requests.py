"""Lost-link requests: a small durable request written by the page, handled by the mailer.

The page `/candidater/dossier-perdu/` (porteur/lost_link.py) does the same work for every
valid address, known or not: it writes one request in its store (`store.link_requests`,
stores/link_requests.py) and answers. On PostgreSQL, a row that every host's mailer may
handle (stores/postgres_link_requests.py). In the data folder, the file code below:
`$DATA/link-requests/<random>.json`, written durably (durable.write_new_file: a temporary
file in tmp/, fsync, `os.link`, fsync of the folder). Nothing in the name says who asked
(32 random hexadecimal digits); the content, the address, is personal data: the file is
created 0640 (the data folder's umask 027 keeps it from other users) and lives only until
the mailer has handled it, or MAX_AGE at most: a request nobody handled in that time (no
mailer ran) is removed unhandled, by the mailer or by `purge`, and its address is kept no
longer. The same holds for a PostgreSQL row.

The mailer (`handle_requests`, on either store) claims each waiting request in turn (two
mailers never handle the same one) and finds the address's dossiers (on PostgreSQL, by a
query over the records and versions; in the data folder, through the review index's
e-mail key when the index exists (a folded key that only narrows the candidates: each is
confirmed on its newest version, the same comparison as without the index), else by
reading every record). The comparison is the mailbox's (addresses.mailbox: the local part
as stored but for its ASCII case, the domain in IDNA 2008 form), never casefold or NFKC:
`contact@straße.de` is not `contact@strasse.de`. The mail goes to each dossier's STORED
contact address, never to the text typed: one mail per distinct stored address, listing
its dossiers' links, named after the request (`<REF>.lien-<request>.eml`), so a mailer
stopped between queueing and removing the request never sends it twice; then it removes
the request. An address without a dossier gets no mail, nor one over its daily cap of
porteur mails (porteur/mail_caps.py).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from . import kept_briefly
from .mail import delivery, lifecycle
from .addresses import AddressError
from .dossier import contacts_among, contacts_for_email, latest_record
from .porteur import mail_caps
from .statuses import NoRecord, store_of
from .stores.link_requests import Claim, IndexLookup
from .durable import fsync_dir, write_new_file
from .records import RecordError, iter_record_paths, record_path
from .sequence import STATE_DIR
from .yamlio import read_regular_file

if TYPE_CHECKING:
    from .stores.base import Store

log = logging.getLogger(__name__)

REQUESTS_DIR = "link-requests"
# Held by every writer that counts the waiting requests before writing one (write_request_unless_full).
WRITERS_LOCK = "link-requests.lock"
# A link mailed later than this would answer a question the porteur asked too long ago
# (and a request nobody handled keeps an address): removed unhandled.
MAX_AGE = timedelta(days=kept_briefly.LOST_LINK_REQUEST_DAYS)  # the privacy page states it
_REQUEST_NAME = re.compile(r"[0-9a-f]{32}\.json")


def write_request(data_dir: str, address: str) -> str:
    """Store one request durably for the mailer; its id (the file's name without `.json`)."""
    request_id = secrets.token_hex(16)
    content = {"address": address, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_new_file(os.path.join(data_dir, REQUESTS_DIR), request_id + ".json",
                   json.dumps(content, ensure_ascii=False).encode("utf-8"))
    return request_id


def write_request_unless_full(data_dir: str, address: str, limit: int) -> str | None:
    """`write_request`, unless `limit` requests wait already (then None, nothing written). The count
    and the write are one step under an exclusive flock on $DATA/state/link-requests.lock, which
    every writer of every worker takes: two writers at the boundary never both pass. The mailer
    only removes requests (the count can only fall meanwhile): it needs no lock."""
    folder = os.path.join(data_dir, STATE_DIR)
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, WRITERS_LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if waiting_at_least(data_dir, limit):
            return None
        return write_request(data_dir, address)  # durable (folder fsynced) before the lock is let go
    finally:
        os.close(fd)


def pending_requests(data_dir: str) -> list[str]:
    """The ids of the requests waiting, oldest name first (other files are left alone)."""
    try:
        names = os.listdir(os.path.join(data_dir, REQUESTS_DIR))
    except FileNotFoundError:
        return []
    return sorted(name[:-len(".json")] for name in names if _REQUEST_NAME.fullmatch(name))


def waiting_at_least(data_dir: str, count: int) -> bool:
    """Do at least `count` requests wait? The folder is read only until that many are found
    (the page asks on every request). OSError, but for a missing folder, when it cannot be read."""
    found = 0
    try:
        with os.scandir(os.path.join(data_dir, REQUESTS_DIR)) as entries:
            for entry in entries:
                if _REQUEST_NAME.fullmatch(entry.name):
                    found += 1
                    if found >= count:
                        return True
    except FileNotFoundError:
        pass
    return False


def contacts_of(data_dir: str, address: str, lookup: IndexLookup | None = None) -> dict[str, list[str]]:
    """{contact address as stored: its dossiers, in order} for the dossiers whose newest contact
    is the mailbox `address` names (dossier.contacts_for_email)."""
    candidates = lookup(address) if lookup is not None else None
    paths = iter_record_paths(data_dir) if candidates is None else [record_path(data_dir, reference)
                                                                    for reference in sorted(candidates)]
    found: dict[str, list[str]] = {}
    for reference, stored in contacts_for_email(data_dir, address, paths):
        found.setdefault(stored, []).append(reference)
    return found


def references_of(data_dir: str, address: str, lookup: IndexLookup | None = None) -> list[str]:
    """The dossiers whose newest contact is the mailbox `address` names, in order."""
    return sorted(reference for references in contacts_of(data_dir, address, lookup).values()
                  for reference in references)


def _remove(data_dir: str, request_id: str) -> bool:
    """Delete one request durably; False when it was gone already or cannot be removed."""
    folder = os.path.join(data_dir, REQUESTS_DIR)
    try:
        os.unlink(os.path.join(folder, request_id + ".json"))
    except FileNotFoundError:
        return False
    except OSError as error:  # e.g. a folder by that name, made by hand: left for a person
        log.warning("lost link: request %s cannot be removed (%s)", request_id, type(error).__name__)
        return False
    fsync_dir(folder)
    return True


def _read(data_dir: str, request_id: str) -> tuple[str, datetime]:
    """A request's address and when it was made; OSError, ValueError, KeyError or TypeError
    when it cannot be read (FileNotFoundError: handled meanwhile)."""
    path = os.path.join(data_dir, REQUESTS_DIR, request_id + ".json")
    content = json.loads(read_regular_file(path))  # never blocks on a FIFO
    made = datetime.fromisoformat(content["at"])
    if made.tzinfo is None:
        raise ValueError("no time zone")
    return str(content["address"]), made


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(timezone.utc)


def _waiting(data_dir: str) -> Iterator[tuple[str, tuple[str, datetime] | None]]:
    """Each waiting request's id, with its (address, time made), or None when it cannot be read."""
    for request_id in pending_requests(data_dir):
        try:
            yield request_id, _read(data_dir, request_id)
        except FileNotFoundError:
            continue  # handled meanwhile
        except (OSError, ValueError, KeyError, TypeError):
            yield request_id, None


def _remove_expired_files(data_dir: str, now: datetime | None = None) -> int:
    """Remove, unhandled, the request files older than MAX_AGE (and the unreadable ones); how many."""
    removed = 0
    for request_id, content in _waiting(data_dir):
        if content is None or _now(now) - content[1] > MAX_AGE:
            removed += _remove(data_dir, request_id)
    return removed


def remove_expired(where: Store | str, now: datetime | None = None) -> int:
    """Remove, unhandled, the requests older than MAX_AGE from the store `where` (a store, or a
    data folder's path standing for its store); how many."""
    return store_of(where).link_requests.remove_expired(now)


def handle_requests(where: Store | str, facts: Mapping[str, Any], settings: delivery.MailSettings,
                    lookup: IndexLookup | None = None, now: datetime | None = None) -> int:
    """Queue the links of every waiting request of the store `where` (a store, or a data
    folder's path standing for its store), then remove it; how many mails were queued.

    Each request is claimed first (stores/link_requests.py): a mailer on another host skips
    it. One that cannot be handled now (a full disk, the database gone) stays for the next
    round; one that cannot be read is removed (nothing can ever be done with it), and so is
    one older than MAX_AGE, unhandled."""
    store = store_of(where)
    queued, seen = 0, set()
    while True:
        with store.link_requests.claim(seen) as claim:
            if claim is None:
                return queued
            seen.add(claim.id)
            queued += _handle(store, claim, facts, settings, lookup, now)


def _handle(store: Store, claim: Claim, facts: Mapping[str, Any], settings: delivery.MailSettings,
            lookup: IndexLookup | None, now: datetime | None) -> int:
    """Queue the links one claimed request asks for and mark it handled; how many mails were queued."""
    if claim.address is None or claim.made is None:
        log.warning("lost link: request %s unreadable, removed", claim.id)
        claim.handled = True
        return 0
    if _now(now) - claim.made > MAX_AGE:
        log.info("lost link: request %s older than %d days, removed unhandled", claim.id, MAX_AGE.days)
        claim.handled = True
        return 0
    contacts = store.link_requests.contacts(claim.address, lookup)
    try:
        queued = sum(_queue_links(store, claim.id, stored, references, facts, settings)
                     for stored, references in contacts.items())
    except OSError as error:
        log.error("lost link: request %s not handled (%s); next round", claim.id, type(error).__name__)
        return 0
    if not contacts:
        log.info("lost link: no dossier for request %s", claim.id)
    claim.handled = True
    return queued


def _still_their_contact(store: Store, references: list[str], stored: str) -> list[str]:
    """Those of `references` whose newest version still names `stored` as contact, read AFTER
    their links were signed (at the generation current then). A revocation that restores the
    contact writes its version before the event that raises the generation (porteur/revocation.py),
    so a link signed at the new generation is never mailed to the contact it took the dossier from."""
    return [reference for reference in references if _newest_contact_is(store, reference, stored)]


def _newest_contact_is(store: Store, reference: str, stored: str) -> bool:
    """Does the dossier's newest version name `stored` as its contact? False once the dossier is
    gone (purged since the look-up) or unreadable, as the look-up itself skips those."""
    try:
        return bool(contacts_among([latest_record(store, reference)], stored))
    except RecordError:
        return False


def _queue_links(store: Store, request_id: str, stored: str, references: list[str], facts: Mapping[str, Any],
                 settings: delivery.MailSettings) -> bool:
    """Queue the links of `references` to their stored contact address `stored`; whether a mail
    was newly queued. OSError when it cannot be written (the request then waits)."""
    if not mail_caps.recipient_allowed(store, settings.dossier_secret, stored):
        log.warning("lost link: mail for %s not queued: its address had its mails of the day", ", ".join(references))
        return False
    kind = f"lien-{request_id}"
    while True:
        message = lifecycle.compose_lost_link(stored, references, kind, facts, settings)
        still = _still_their_contact(store, references, stored)
        if still == references:
            try:  # only while every dossier it names still has its record, under the purge's lock
                queued = lifecycle.queue(store, references[0], kind, message, stored, also_about=references[1:])
                break
            except NoRecord as gone:  # purged (erased) since the look-up: no mail names it
                log.info("lost link: %s was purged while its link was signed", gone.reference)
                still = [reference for reference in references if reference != gone.reference]
            except AddressError:
                log.warning("lost link: the stored address of %s is not usable", ", ".join(references))
                return False
        else:
            log.info("lost link: the contact of %s changed while its link was signed",
                     ", ".join(sorted(set(references) - set(still))))
        if not still:
            return False
        references = still
    log.info("lost link: mail queued for %s", ", ".join(references))
    return queued
