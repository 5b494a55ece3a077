"""Meetings from the review side: propose one to three slots and cancel on the detail page,
and the « Rencontres » view (`/instruction/rencontres`: confirmed meetings to come and
proposals awaiting the porteur, by date). Each step is stored in the dossier's history
(meetings.py) before its mails, with their invitation .ics, are queued in the outbox.
"""

from __future__ import annotations

from flask import Blueprint, Flask, flash, redirect, request, session, url_for

from .. import meetings
from ..mail import lifecycle
from ..dossier import latest_record, safe_history
from ..phase import current_now
from ..records import RecordError
from ..resent_posts import CANCEL_SENT_FOR_ANOTHER_MEETING, ResentWithOtherContent
from ..statuses import StatusError
from . import CONFIRMATION, _detail, _guard, _no_store, _render
from .. import appstate
from .index import Selection
from .indexing import app_index

bp = Blueprint("meetings", __name__, url_prefix="/instruction")
bp.before_request(_guard)
bp.after_request(_no_store)
SLOT_FIELDS = ("date", "heure", "duree", "lieu", "participants")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _now():
    return current_now(appstate.facts())[0]  # AMI_NOW in previews and tests


@bp.route("/rencontres")
def upcoming():
    store = appstate.store()
    found = [(entry.reference, entry.organisation, meeting) for entry in app_index().select(Selection())
             for meeting in meetings.meetings_of(safe_history(store, entry.reference))]
    return _render("review/meetings.html", items=meetings.upcoming(found, _now()), states=meetings.MEETING_STATES)


@bp.route("/<reference>/rencontre", methods=["POST"])
def propose(reference: str):
    values = {f"{name}-{number}": request.form.get(f"{name}-{number}", "")
              for number in range(1, meetings.MAX_SLOTS + 1) for name in SLOT_FIELDS}
    now, store = _now(), appstate.store()
    try:
        slots = [slot for number in range(1, meetings.MAX_SLOTS + 1)
                 if (slot := meetings.parse_slot(number, *(values[f"{name}-{number}"] for name in SLOT_FIELDS), now))]
        record = latest_record(store, reference)
        meeting = meetings.propose(store, reference, slots, by=session["reviewer"], now=now,
                                   post_id=request.form.get("id_envoi"))  # the form's one-time id
    except meetings.MeetingError as error:
        return _detail(reference, 400, meeting_error=str(error), meeting_field=error.field or "date-1",
                       meeting_values=values)
    except ResentWithOtherContent as error:  # nothing stored nor mailed: the slots typed are shown back
        return _detail(reference, 409, meeting_error=str(error), meeting_field="date-1", meeting_values=values)
    except (StatusError, RecordError) as error:
        return _detail(reference, 400, meeting_error=str(error), meeting_field="date-1", meeting_values=values)
    if meeting is None:  # the same form sent again (a double click): one meeting, mailed once
        flash("Cette rencontre était déjà proposée (le formulaire a été envoyé deux fois) : elle n'est enregistrée et "
              "envoyée qu'une fois.")
        return redirect(url_for("review.detail", reference=reference) + CONFIRMATION, code=303)
    lifecycle.queue_meeting_mails(store, record, meeting, appstate.facts())
    flash("Rencontre proposée : le porteur la reçoit par e-mail avec l'invitation et choisit sur sa page de dossier.")
    return redirect(url_for("review.detail", reference=reference) + CONFIRMATION, code=303)


@bp.route("/<reference>/rencontre/<int:number>/annuler", methods=["POST"])
def cancel(reference: str, number: int):
    store = appstate.store()
    try:
        record = latest_record(store, reference)
        meeting = meetings.cancel(store, reference, safe_history(store, reference), number,
                                  by=session["reviewer"], now=_now(), post_id=request.form.get("id_envoi"))
    except (meetings.MeetingError, StatusError, RecordError) as error:
        return _detail(reference, 400, meeting_error=str(error), meeting_field="date-1")
    except ResentWithOtherContent:  # the same one-time id posted for another meeting: nothing to show back
        return _detail(reference, 409, meeting_error=CANCEL_SENT_FOR_ANOTHER_MEETING, meeting_field="date-1")
    if meeting is None:  # the same form sent again (a double click): cancelled and mailed once
        flash(f"La rencontre {number} était déjà annulée (le formulaire a été envoyé deux fois) : elle n'est "
              "annulée et l'annulation envoyée qu'une fois.")
        return redirect(url_for("review.detail", reference=reference) + CONFIRMATION, code=303)
    lifecycle.queue_meeting_mails(store, record, meeting, appstate.facts())
    flash("Rencontre annulée : le porteur et la Région reçoivent l'annulation (invitation .ics d'annulation).")
    return redirect(url_for("review.detail", reference=reference) + CONFIRMATION, code=303)
