"""Caps on the mails a porteur's own actions send, so that no one can relay text to third parties.

A correction mails its acknowledgement (every answer, free texts and links included) to
the contact address it names, and a notice to the previous address when it changes the
contact; the lost-link page mails links. Whoever holds a dossier's link could otherwise
have the Région's sender mail chosen text to any address, again and again. Two caps:

- at most CONTACT_CHANGES_PER_DAY corrections that change the contact mailbox
  (addresses.same_mailbox) per dossier within any day: the next one is refused (429, the
  form again with the answers, nothing stored);
- at most MAILS_PER_ADDRESS_PER_DAY of these mails (the first acknowledgement of a new
  dossier, acknowledgements of corrections, contact-change notices, lost links: every kind
  together) per recipient within any day: beyond, the mail is not queued, its event stays
  stored, and its name is held back in the store's outbox (Outbox.hold_back: mail-queued/ in
  the data folder, a row without message in PostgreSQL) so that no catch-up ever sends it
  later; the log names the dossier and the kind, never the address. A stored dossier's name is
  held back under the lock its purge holds, its record checked there (hold_back_for_dossier):
  a purge running meanwhile never leaves a remembered name behind it.

The form typed the address of a new dossier itself (and the form's posts are limited per
client and network, not per address): its first acknowledgement is counted by the web worker
that stores the record, BEFORE the record is written, so that the mailer, which composes that
mail from the record, finds it already held back and the receipt page can say so at once. The
dossier is always stored and its receipt always shown: only the mail is held back. A mail the
outbox fails to hold back (the store out of reach) goes, late if need be: the cap gives way
rather than a porteur's mail being lost.

The mails the Région writes (messages, answer letters, meetings) and the notices to the
Région's own address are never capped: a reviewer sends them on purpose. Nor is the notice to
the previous address when a correction moves the contact (`contact-vN`): it is the only word
the owner gets that a leaked link was used to take the dossier over, and anyone can fill an
address's daily cap first (lost-link requests, dossiers naming it) to silence it. It goes to
an address the dossier already had, and the contact-change cap bounds it to
CONTACT_CHANGES_PER_DAY a day per dossier: a count only that dossier's corrections consume. Both caps count
with the store's shared limiter (`store.rate_limiter`: ratelimit.py's sliding window, one
sqlite file per cap in $DATA/state on the data folder, the `rate_hits` table on PostgreSQL,
which every host and mailer shares), keyed by an HMAC of the reference or of the address
(its folded `address_key`: look-alike addresses share one count), never in clear.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..mail import delivery
from ..addresses import address_key, same_mailbox
from ..ratelimit import RateLimiter
from ..statuses import NoRecord, store_of

if TYPE_CHECKING:
    from ..stores.base import Store

log = logging.getLogger(__name__)

DAY = 86400
CONTACT_CHANGES_PER_DAY = 2
# A porteur sending a dossier and correcting it through the day still gets an acknowledgement
# for each of the first five; a stranger's address gets at most five a day, whatever is done
# with the form or with dossier links.
MAILS_PER_ADDRESS_PER_DAY = 5
CONTACT_FIELD = "contact_email"
# The kind of the notice to the previous contact address (lifecycle.correction_mails): never capped.
OWNER_NOTICE_PREFIX = "contact-v"


def too_many_contact_changes(wait: int) -> str:
    """The refusal of a correction changing the contact once too often (the form keeps the answers)."""
    hours = max(1, round(wait / 3600))
    return (f"L'adresse e-mail de contact de ce dossier a déjà été changée {CONTACT_CHANGES_PER_DAY} fois "
            f"au cours des dernières 24 heures : c'est le maximum, pour qu'un lien tombé dans de mauvaises mains "
            f"ne puisse pas envoyer vos réponses à n'importe qui. Rien n'a été enregistré. Gardez l'adresse "
            f"actuelle pour enregistrer vos autres corrections, et changez-la dans environ {hours} heure(s) ; "
            f"en cas d'urgence, appelez les contacts de l'AMI.")


FIELD_MESSAGE = (f"Gardez l'adresse de contact actuelle pour le moment : elle a déjà été changée "
                 f"{CONTACT_CHANGES_PER_DAY} fois au cours des dernières 24 heures.")


@functools.lru_cache(maxsize=16)
def _cap(store: Store, secret: str, name: str, limit: int) -> RateLimiter:
    return store.rate_limiter(name, limit, DAY, secret)  # one per process and store: a folder's connection is kept


@functools.lru_cache(maxsize=16)
def _folder_store(data_dir: str) -> Store:
    return store_of(data_dir)


def _daily_cap(where: Store | str, secret: str, name: str, limit: int) -> RateLimiter:
    """The cap `name` of the store `where` (a store, or a data folder's path standing for its store)."""
    return _cap(_folder_store(where) if isinstance(where, str) else where, secret, name, limit)


def contact_change_wait(where: Store | str, secret: str, reference: str, stored: Mapping[str, Any],
                        answers: Mapping[str, Any]) -> int | None:
    """None when these corrected answers may be stored (they keep the contact mailbox of the
    newest version's answers `stored`, or change it within the dossier's daily cap, which they
    then count); else the seconds until a change passes."""
    if same_mailbox(stored.get(CONTACT_FIELD), answers.get(CONTACT_FIELD)):
        return None
    wait = _daily_cap(where, secret, "changements-contact", CONTACT_CHANGES_PER_DAY).hit(reference)
    if wait is not None:
        log.info("correction of %s refused: contact changed %d times within a day", reference,
                 CONTACT_CHANGES_PER_DAY)
    return wait


def recipient_allowed(where: Store | str, secret: str, recipient: str) -> bool:
    """Count one porteur mail to `recipient`; False when the address had its share of the day."""
    return _daily_cap(where, secret, "courriels-adresse", MAILS_PER_ADDRESS_PER_DAY).hit(address_key(recipient)) is None


def first_acknowledgement_held_back(store: Store, secret: str, reference: str, recipient: str) -> bool:
    """Count the acknowledgement of the new dossier `reference` to `recipient` (call before the
    record is written); True when the address had its share of the day and the store's outbox
    (stores/outbox.py) held it back for good. A failure to hold it back lets the mail go."""
    if recipient_allowed(store, secret, recipient):
        return False
    try:
        held = store.outbox.hold_back(delivery.message_name(reference, "accuse"))
    except OSError as error:
        log.error("mail: the acknowledgement of %s could not be held back (%s): it goes", reference,
                  type(error).__name__)
        return False
    if held:
        log.warning("mail: accuse of %s not queued: its recipient had %d mails of porteur actions within a day",
                    reference, MAILS_PER_ADDRESS_PER_DAY)
    return held


def within_caps(where: Store | str, secret: str, reference: str, mails: Iterable[Any], staff: str) -> list[Any]:
    """The mails (lifecycle.Mail) to queue: those to the Région's address `staff`, and those to
    an address still within its daily cap (counted in the store `where`); the others are held
    back in its outbox (stores/outbox.py), never to be sent. A mail that cannot be held back is
    kept (it goes). A name is held back under the purge's lock while the dossier still has its
    record (Outbox.hold_back_for_dossier): once `purge` took the dossier meanwhile, nothing is
    held back nor kept (none of its mails may be queued any more: queue_for_dossiers refuses them)."""
    outbox = store_of(where).outbox
    kept = []
    for item in mails:
        if (item.recipient == staff or item.kind.startswith(OWNER_NOTICE_PREFIX)
                or recipient_allowed(where, secret, item.recipient)):
            kept.append(item)
            continue
        try:  # the catch-up then leaves it
            outbox.hold_back_for_dossier(reference, delivery.message_name(reference, item.kind))
        except NoRecord:
            log.info("mail: %s was purged meanwhile: none of its mails is held back nor queued", reference)
            return []
        except OSError as error:
            log.error("mail: %s of %s could not be held back (%s): it goes", item.kind, reference,
                      type(error).__name__)
            kept.append(item)
            continue
        log.warning("mail: %s of %s not queued: its recipient had %d mails of porteur actions within a day",
                    item.kind, reference, MAILS_PER_ADDRESS_PER_DAY)
    return kept
