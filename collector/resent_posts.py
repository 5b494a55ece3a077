"""A form's one-time id sent again with OTHER content: refused, never taken for the repeat.

A reviewer's form, and the porteur's reply and « autre créneau » forms, carry a one-time id
(`id_envoi`, dossier.append_once): the same form sent twice (a double click, a browser that
posts again) stores and mails once. But a browser may also serve the page again from its cache,
one-time id included, and its user type another text in it: taking that post for the repeat
would drop the new text without a word.
So the event stored with a claimed id keeps a trace of it (`envoi`: the id's SHA-256, not
the id), and a post whose id is already claimed is compared with the event stored under it:
the same content is the repeat (nothing stored), other content is refused with
`ResentWithOtherContent` (nothing stored, nothing mailed; the page shows the text back).
The history is the comparison's source on both stores: nothing else is kept. A revocation
compares the new contact asked instead (porteur/revocation.py: its event holds a version).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

TRACE = "envoi"
NOT_CONTENT = frozenset({"at", "by", TRACE})  # when and by whom differ between two posts of one form

RESENT_WITH_OTHER_CONTENT = (
    "Ce formulaire a déjà été envoyé une première fois, avec un autre contenu (la page venait sans doute de la "
    "mémoire du navigateur) : ce que vous venez d'écrire n'est ni enregistré ni envoyé. Il est repris ci-dessous : "
    "copiez-le si besoin, rechargez la page du dossier pour vérifier ce qui a été enregistré, puis envoyez-le à "
    "nouveau depuis la page rechargée.")

CANCEL_SENT_FOR_ANOTHER_MEETING = (
    "Ce formulaire d'annulation a déjà servi à annuler une autre rencontre : cette rencontre-ci n'est pas annulée "
    "et rien n'est envoyé. Rechargez la page du dossier, puis annulez-la depuis la page rechargée.")


class ResentWithOtherContent(Exception):
    """A one-time id already stored with other content; the text is French and says what to do."""

    def __init__(self) -> None:
        super().__init__(RESENT_WITH_OTHER_CONTENT)


def trace(submission_id: str) -> str:
    """What an event keeps of its form's one-time id (scoped to its dossier: dossier.reply_submission_id)."""
    return hashlib.sha256(submission_id.encode("utf-8")).hexdigest()


def traced(event: Mapping[str, Any], submission_id: str) -> dict[str, Any]:
    """`event` with the trace of the form's id, to be stored."""
    return {**event, TRACE: trace(submission_id)}


def refuse_other_content(events: Iterable[Mapping[str, Any]], event: Mapping[str, Any]) -> None:
    """Raise ResentWithOtherContent when the event stored under `event`'s trace holds other content.
    No such event (a claim older than the traces): the repeat, as before."""
    for stored in events:
        if stored.get(TRACE) == event[TRACE]:
            if _content(stored) != _content(event):
                raise ResentWithOtherContent()
            return


def _content(event: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key not in NOT_CONTENT}
