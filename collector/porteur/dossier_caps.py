"""Per-dossier caps on the porteur's posts that mail the Région: messages, « autre créneau » requests.

Whoever holds a dossier's link can write to the Région from the dossier page at any time
(exchanges.py), and ask for other meeting slots (meeting_choice.py); each post mails the
Région's notification address. The per-client limit (views.guard_post) does not bound a
dossier: its link works from any number of clients. So each dossier has two caps, counted
per dossier whoever posts, within any hour and within any day:

- MESSAGES, 6 an hour and 30 a day: a porteur writes a question, answers the Région's
  messages, adds what was forgotten; even a busy day of exchanges with a reviewer is a
  handful of messages, and six within one hour means a message every ten minutes. A robot
  with the link is held to 30 notices a day for that dossier;
- OTHER_SLOTS, 3 an hour and 10 a day: the page offers « Aucun de ces créneaux ne me
  convient » once per proposal (the Région's), so a porteur asks once per proposal, maybe
  again with the back button to change the availabilities given.

A post is counted once it is valid and new (not the repeat of a stored form, which stores
nothing), just before it is stored; if it then stores nothing (a refusal found under the
dossier's lock, a storage failure), its count is given back, and so is a refused post's, so
the time the refusal gives stays true however often the porteur tries. The refusal is a 429
whose page keeps what was typed in its form and says from when it can be sent.

The counts live in the store's shared limiter (`store.rate_limiter`: ratelimit.py's sliding
window, a sqlite file per cap in $DATA/state on the data folder, the `rate_hits` table on
PostgreSQL), shared by every worker and host, keyed by an HMAC of the reference. They follow
the real clock, not AMI_NOW: a preview's frozen time never locks a dossier for good.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .. import dossier
from ..template_filters import datetime_fr, minutes_fr

if TYPE_CHECKING:
    from ..ratelimit import RateLimiter
    from ..stores.base import Store

T = TypeVar("T")
HOUR, DAY = 3600, 86400


@dataclass(frozen=True)
class DossierCap:
    """A cap of `per_hour` posts within any hour and `per_day` within any day, per dossier."""

    name: str
    per_hour: int
    per_day: int


MESSAGES = DossierCap("messages-porteur", 6, 30)
OTHER_SLOTS = DossierCap("autres-creneaux", 3, 10)


class CapReached(Exception):
    """The dossier had its share: `wait` seconds until a post passes; `limit` within `window` seconds."""

    def __init__(self, wait: int, limit: int, window: int) -> None:
        super().__init__(f"cap of {limit} posts within {window} s reached")
        self.wait, self.limit, self.window = wait, limit, window


@dataclass(frozen=True)
class Counted:
    """A post counted against its dossier's cap, to give back if it stores nothing."""

    limiters: tuple[RateLimiter, ...]
    reference: str
    at: float

    def give_back(self) -> None:
        for limiter in self.limiters:
            limiter.give_back(self.reference, self.at)


@functools.lru_cache(maxsize=16)
def _limiter(store: Store, secret: str, name: str, limit: int, window: int) -> RateLimiter:
    return store.rate_limiter(name, limit, window, secret)  # one per process and store: a folder's connection is kept


def count(store: Store, secret: str, cap: DossierCap, reference: str) -> Counted:
    """Count one post of dossier `reference` against `cap`; CapReached (the post given back) past either window."""
    at = time.time()
    counted: list[RateLimiter] = []
    for suffix, limit, window in (("heure", cap.per_hour, HOUR), ("jour", cap.per_day, DAY)):
        limiter = _limiter(store, secret, f"{cap.name}-{suffix}", limit, window)
        wait = limiter.hit(reference, at)
        counted.append(limiter)
        if wait is not None:
            Counted(tuple(counted), reference, at).give_back()  # a refused post uses up nothing
            raise CapReached(wait, limit, window)
    return Counted(tuple(counted), reference, at)


def counted_post(store: Store, secret: str, cap: DossierCap, reference: str, form_id: str | None,
                 write: Callable[[], T | None]) -> T | None:
    """`write()` (one post of a form with the one-time id `form_id`; None when that form was already
    stored), once counted against the dossier's `cap` (CapReached past it). The same form sent again
    (a double click, a retry) counts nothing, and the count is given back when nothing is stored."""
    submission_id = dossier.reply_submission_id(reference, form_id)
    if submission_id is not None and store.dossier_posts.claimed(submission_id) is not None:
        return write()  # the same form again: stores nothing, counts nothing (other content: refused by write)
    counted = count(store, secret, cap, reference)
    try:
        stored = write()
    except BaseException:
        counted.give_back()
        raise
    if stored is None:  # stored meanwhile by the same form's other post
        counted.give_back()
    return stored


def _when(reached: CapReached, now: datetime) -> str:
    """« jeudi 15 avril 2021 à 11 h 05 (dans environ 25 minutes) »: when a post passes again (the
    minute rounded up, so that a post sent then passes)."""
    minutes = max(1, -(-reached.wait // 60))
    hours = round(minutes / 60)
    delay = minutes_fr(minutes) if minutes < 90 else f"{hours} heure{'s' if hours > 1 else ''}"
    return f"{datetime_fr(now + timedelta(seconds=reached.wait + 59))} (dans environ {delay})"


def _within(reached: CapReached) -> str:
    return "de la dernière heure" if reached.window == HOUR else "des dernières 24 heures"


def too_many_messages(reached: CapReached, now: datetime) -> str:
    """The refusal of a message past the dossier's cap (the page keeps the text in its form)."""
    return (f"{reached.limit} messages ont déjà été envoyés à la Région depuis ce dossier au cours "
            f"{_within(reached)} : c'est le maximum, pour que le lien de votre dossier ne puisse pas servir à "
            f"inonder la Région de messages. Rien n'est perdu : votre texte est resté ci-dessous. "
            f"Envoyez-le à partir du {_when(reached, now)} ; si c'est urgent, appelez les contacts de l'AMI.")


def too_many_other_slots(reached: CapReached, now: datetime) -> str:
    """The refusal of an « autre créneau » request past the dossier's cap (the page keeps the text)."""
    return (f"D'autres créneaux ont déjà été demandés {reached.limit} fois pour ce dossier au cours "
            f"{_within(reached)} : c'est le maximum. Rien n'est perdu : vos disponibilités "
            f"sont restées ci-dessous. Envoyez-les à partir du {_when(reached, now)} ; si c'est urgent, "
            f"appelez les contacts de l'AMI.")
