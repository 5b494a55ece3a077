"""The porteur answers a meeting proposal on the dossier page: one slot, or another one asked.

`POST /candidater/recu/<REF>/rencontre/<n>?cle=<key>` with `choix` (the slot's number, or
`autre` with `disponibilites`). Refused from another site, limited per client, and an
« autre créneau » request capped per dossier (dossier_caps.py: 429, the availabilities kept
in the form, the time from which they can be sent); the choice
is stored in the dossier's history (meetings.py) before the confirmation mails (with the
.ics) are queued for both sides; what they need is read before the choice is written, and
once it is stored the answer is a 303 whatever happens next (logged). The form carries a
one-time id (`id_envoi`): the same « autre créneau » form sent again stores, counts and mails
nothing, and leads to the same page.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, redirect, request

from .. import dossier, meetings
from ..mail import lifecycle
from ..errors import Refusal
from ..phase import current_now
from .. import appstate
from ..resent_posts import ResentWithOtherContent
from ..statuses import PARIS, NoRecord
from . import dossier_caps
from .views import (DONE, DONE_STILL_TRUE, back_to_dossier, bad_link, checked_reference, dossier_context,
                    dossier_path, done_query, guard_post, page)

if TYPE_CHECKING:
    from ..stores.base import Store

log = logging.getLogger("collector.porteur")
bp = Blueprint("meeting_choice", __name__)
DONE["rencontre"] = "Votre rencontre est confirmée : l'invitation part par e-mail, pour vous et pour la Région."
DONE["autre-creneau"] = "Votre demande est transmise à la Région, qui vous proposera d'autres créneaux."
# « confirmée » only while a meeting still is (the Région may cancel it within the notice's minutes).
DONE_STILL_TRUE["rencontre"] = lambda reference: any(
    meeting.state == meetings.ACCEPTED for meeting in meetings.meetings_of(dossier.safe_history(appstate.store(),
                                                                                                reference)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _ask_other_once(store: Store, reference: str, history: dict[str, Any], number: int, text: str | None,
                    now: datetime, form_id: str) -> meetings.Meeting | None:
    """meetings.ask_other with the form's one-time id claimed with the event, as one unit
    (dossier.append_once, as the reviewer's forms): None when that form was already stored."""
    event = {"at": now.astimezone(PARIS).isoformat(timespec="seconds"), "by": "porteur", "kind": meetings.OTHER_ASKED,
             "meeting": number, "text": meetings.other_request_text(history, number, text)}
    stored = dossier.append_once(store, reference, event, form_id, refuse_other_content=True,
                                 precondition=lambda fresh: meetings.other_request_text(fresh, number, text))
    return None if stored is None else meetings.meetings_of(stored)[number - 1]


def _ask_other_counted(store: Store, reference: str, history: dict[str, Any], number: int, text: str | None,
                       now: datetime, form_id: str | None) -> meetings.Meeting | None:
    """meetings.ask_other, once counted against the dossier's cap (dossier_caps.CapReached past
    it): a request to fix uses up nothing, and the count is given back when nothing is stored.
    With the form's one-time id (`id_envoi`, the reply form's kind: dossier.reply_submission_id),
    the same form sent again (a double click, a retry) stores nothing, counts nothing and mails
    nothing: None."""
    meetings.other_request_text(history, number, text)  # MeetingError first

    def write() -> meetings.Meeting | None:
        if dossier.reply_submission_id(reference, form_id) is None:  # a page served before forms carried the id
            return meetings.ask_other(store, reference, history, number, text, now)
        return _ask_other_once(store, reference, history, number, text, now, form_id)

    return dossier_caps.counted_post(store, appstate.secret(), dossier_caps.OTHER_SLOTS, reference, form_id, write)


def _already_confirmed_with(store: Store, reference: str, number: int, slot: int | None) -> bool:
    """Is meeting `number` confirmed with the very slot posted (a double click, a retry)? Read afresh:
    the first post may have been stored while this one waited. Then the page of the first is due."""
    for meeting in meetings.meetings_of(dossier.safe_history(store, reference)):
        if meeting.number == number:
            return meeting.state == meetings.ACCEPTED and slot is not None and meeting.chosen == slot
    return False


def _refused(reference: str, number: int, status: int, error: str, field: str) -> Response:
    """The dossier page again, the meeting's form showing the error, the choice posted ticked (a slot
    or « autre ») and the availabilities typed."""
    return page("porteur/dossier.html", status, meeting_error=error, meeting_number=number, meeting_field=field,
                meeting_choice=request.form.get("choix", ""),
                # whole (the request body's limit bounds it), so that nothing is lost when shortened and sent again
                meeting_request=request.form.get("disponibilites", ""), **dossier_context(reference))


@bp.get("/candidater/recu/<reference>/rencontre/<int:number>")
def choice_form(reference: str, number: int) -> Response:
    """The form's address opened (the address bar after a refused choice): the dossier's meetings."""
    return back_to_dossier(reference, "rencontres")


@bp.post("/candidater/recu/<reference>/rencontre/<int:number>")
def choose(reference: str, number: int) -> Response:
    checked = checked_reference(reference, request.args.get("cle"))
    if checked is None:
        return bad_link()
    guard_post("Ce choix")
    store, now = appstate.store(), current_now(appstate.facts())[0]
    history = dossier.safe_history(store, checked)
    choice = request.form.get("choix", "")
    slot = int(choice) - 1 if re.fullmatch(r"[0-9]{1,2}", choice) else None  # "²".isdigit() is true
    try:
        record = dossier.latest_record(store, checked)  # read before writing: nothing may fail once the choice is stored
        if choice == "autre":
            meeting = _ask_other_counted(store, checked, history, number, request.form.get("disponibilites"), now,
                                         request.form.get("id_envoi"))
        else:
            meeting = meetings.accept(store, checked, history, number, slot, now)
    except NoRecord:  # the dossier was purged (erased) while this post was on its way: nothing stored
        return bad_link()
    except OSError as error:  # nothing stored (a history append is durable before it returns, or not made)
        log.error("meeting choice not stored (%s): nothing confirmed", error.__class__.__name__)
        raise Refusal(503, "Votre réponse n'a pas pu être enregistrée pour le moment : elle n'a PAS été prise en "
                           "compte. Réessayez dans quelques minutes.") from error
    except meetings.UnknownMeeting as error:  # /rencontre/0, /rencontre/99…: no such meeting in this dossier
        raise Refusal(404, str(error), title="Rencontre introuvable") from None
    except ResentWithOtherContent as error:  # nothing stored nor mailed: the availabilities typed are shown back
        return _refused(checked, number, 409, str(error), f"autre-{number}")
    except dossier_caps.CapReached as reached:
        log.info("other slots of %s refused: the dossier's cap of %d within %d s", checked, reached.limit,
                 reached.window)
        response = _refused(checked, number, 429, dossier_caps.too_many_other_slots(reached, now), f"autre-{number}")
        response.headers["Retry-After"] = str(reached.wait)
        return response
    except meetings.MeetingError as error:
        if choice != "autre" and _already_confirmed_with(store, checked, number, slot):
            log.info("meeting choice of %s: the same slot again (already confirmed)", checked)
            return redirect(dossier_path(appstate.secret(), checked) + done_query(checked, "rencontre") + "#confirmation",
                            303)
        return _refused(checked, number, 422, str(error), error.field or f"creneau-{number}")
    if meeting is None:  # the same « autre créneau » form sent again: stored and mailed once, the same page
        log.info("other slots of %s: already stored (same form sent again)", checked)
        return redirect(dossier_path(appstate.secret(), checked) + done_query(checked, "autre-creneau") + "#confirmation",
                        303)
    try:  # the choice is stored durably: mails that cannot be queued must not un-confirm it
        lifecycle.queue_meeting_mails(store, record, meeting, appstate.facts())
    except Exception as error:  # noqa: BLE001 - logged; the choice is in the dossier's history
        log.error("meeting mails of %s not queued (%s); the choice is stored", checked, type(error).__name__)
    done = "rencontre" if meeting.state == meetings.ACCEPTED else "autre-creneau"
    return redirect(dossier_path(appstate.secret(), checked) + done_query(checked, done) + "#confirmation", 303)
