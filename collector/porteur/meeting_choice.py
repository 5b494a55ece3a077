"""The porteur answers a meeting proposal on the dossier page: one slot, or another one asked.

`POST /candidater/recu/<REF>/rencontre/<n>?cle=<key>` with `choix` (the slot's number, or
`autre` with `disponibilites`). Refused from another site, limited per client; the choice
is stored in the dossier's history (meetings.py) before the confirmation mails (with the
.ics) are queued for both sides; what they need is read before the choice is written, and
once it is stored the answer is a 303 whatever happens next (logged).
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Flask, Response, redirect, request

from .. import dossier, meetings
from ..mail import lifecycle
from ..errors import Refusal
from ..phase import current_now
from .. import appstate
from ..statuses import NoRecord
from .views import (DONE, DONE_STILL_TRUE, bad_link, checked_reference, dossier_context, dossier_path, done_query,
                    guard_post, page)

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


@bp.post("/candidater/recu/<reference>/rencontre/<int:number>")
def choose(reference: str, number: int) -> Response:
    checked = checked_reference(reference, request.args.get("cle"))
    if checked is None:
        return bad_link()
    guard_post("Ce choix")
    store, now = appstate.store(), current_now(appstate.facts())[0]
    history = dossier.safe_history(store, checked)
    choice = request.form.get("choix", "")
    try:
        record = dossier.latest_record(store, checked)  # read before writing: nothing may fail once the choice is stored
        if choice == "autre":
            meeting = meetings.ask_other(store, checked, history, number, request.form.get("disponibilites"), now)
        else:
            slot = int(choice) - 1 if re.fullmatch(r"[0-9]{1,2}", choice) else None  # "²".isdigit() is true
            meeting = meetings.accept(store, checked, history, number, slot, now)
    except NoRecord:  # the dossier was purged (erased) while this post was on its way: nothing stored
        return bad_link()
    except OSError as error:  # nothing stored (a history append is durable before it returns, or not made)
        log.error("meeting choice not stored (%s): nothing confirmed", error.__class__.__name__)
        raise Refusal(503, "Votre réponse n'a pas pu être enregistrée pour le moment : elle n'a PAS été prise en "
                           "compte. Réessayez dans quelques minutes.") from error
    except meetings.UnknownMeeting as error:  # /rencontre/0, /rencontre/99…: no such meeting in this dossier
        raise Refusal(404, str(error), title="Rencontre introuvable") from None
    except meetings.MeetingError as error:
        return page("porteur/dossier.html", 422, meeting_error=str(error), meeting_number=number,
                    meeting_field=error.field or f"creneau-{number}",
                    # whole (up to the exchanges' bound), so that nothing is lost when shortened and sent again
                    meeting_request=request.form.get("disponibilites", "")[:20000],
                    **dossier_context(checked))
    try:  # the choice is stored durably: mails that cannot be queued must not un-confirm it
        lifecycle.queue_meeting_mails(store, record, meeting, appstate.facts())
    except Exception as error:  # noqa: BLE001 - logged; the choice is in the dossier's history
        log.error("meeting mails of %s not queued (%s); the choice is stored", checked, type(error).__name__)
    done = "rencontre" if meeting.state == meetings.ACCEPTED else "autre-creneau"
    return redirect(dossier_path(appstate.secret(), checked) + done_query(checked, done) + "#rencontres", 303)
