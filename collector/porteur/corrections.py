"""Corrections: the porteur sends corrected answers from the dossier page.

`GET/POST /candidater/recu/<REF>/corriger?cle=<key>`: the application form's template,
pre-filled with the newest version, the same validation, messages, signed token and
honeypot as /candidater/ (no time trap: a pre-filled form may rightly be sent at once). Open while the call is open and the status is still « reçu », or until
the date of a reviewer's request for complements (dossier.corrections_until).

A valid correction is stored as the dossier's next version (dossier.write_correction:
durable, never altering an earlier version), with its history event and the form's
submission id as one unit (store.dossier_posts), under the history's lock where the
« corrections still open » check is made again, BEFORE the porteur is told; then a new
acknowledgement (with the new hash), a notice to the Région and, when the contact e-mail
changed, a word to the previous address are queued in the outbox (lifecycle; a mail
that cannot be queued is caught up by the mailer). Identical answers make no new version; the same submission id sent twice
(a double click, the back button, a retry through another host) stores nothing and answers
with the dossier as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template, request
from marshmallow import ValidationError

from .. import dossier
from ..mail import lifecycle
from ..antispam import HONEYPOT_FIELD, SUBMISSION_ID_FIELD, TOKEN_FIELD, honeypot_filled
from ..errors import Refusal
from ..formdef import ordered_answers
from ..intake import STALE_PAGE, _first_messages, state
from ..payload import BadBody, read_submission
from ..phase import current_now, current_phase
from ..records import build_record
from .. import appstate
from ..statuses import NoRecord
from ..validation import derive
from . import mail_caps
from .revocation import link_generation
from .views import DONE, bad_link, checked_reference, corrections_until, dossier_path, done_query, guard_post

log = logging.getLogger("collector.porteur")
bp = Blueprint("corrections", __name__)

STORED = "Vos réponses corrigées sont enregistrées : c'est la version affichée ci-dessous."
DONE["correction"] = STORED + " Un nouvel accusé de réception vous est envoyé par e-mail."
DONE["correction-sans-accuse"] = STORED + (
    " Aucun accusé de réception ne vous sera envoyé pour cette correction : votre adresse de contact a déjà reçu "
    f"{mail_caps.MAILS_PER_ADDRESS_PER_DAY} e-mails de ce site au cours des dernières 24 heures (envois de "
    "dossiers, corrections ou demandes de lien), le maximum, qui protège les adresses des envois abusifs. Cette "
    "page montre vos réponses telles qu'elles sont enregistrées : imprimez-la si vous voulez en garder une trace. "
    "Les corrections suivantes seront de nouveau confirmées par e-mail dès que votre adresse repassera sous ce maximum.")
DONE["correction-enregistree"] = STORED  # a repeat of a correction already stored: its mails were decided then
DONE["inchangee"] = "Vos réponses n'ont pas changé : aucune nouvelle version n'a été enregistrée."
CLOSED = ("Les corrections en ligne ne sont plus possibles pour ce dossier : l'appel est clos, son analyse a "
          "commencé ou la Région a pris sa décision. Pour signaler une erreur, écrivez aux contacts de l'AMI en "
          "donnant votre référence.")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


DEADLINE_HINT = (f"Un nouvel accusé de réception vous sera envoyé par e-mail (au plus "
                 f"{mail_caps.MAILS_PER_ADDRESS_PER_DAY} par jour). Corrections possibles jusqu'au")


def _page(reference: str, values: dict[str, Any], errors: dict[str, str] | None = None,
          hidden: dict[str, str] | None = None, general_error: str | None = None, status: int = 200) -> Response:
    """The form pre-filled with the dossier's answers; its deadline (shown, and the end of the
    browser draft) is this dossier's, which a request for complements may set after the call's."""
    secret = appstate.secret()
    body = render_template(
        "form.html", form=state().form, values=values, errors=errors or {},
        hidden=hidden if hidden is not None else state().tokens.issue(), general_error=general_error,
        heading=f"Corriger le dossier {reference}", accepting=True, form_action=dossier_path(secret, reference, "corriger"),
        submit_label="Enregistrer mes réponses corrigées", draft_key=f"ami-correction-{reference}",
        deadline=corrections_until(reference), deadline_hint=DEADLINE_HINT,
        dossier_url=dossier_path(secret, reference), current_url=None)
    return _private(body, status)


def _private(body: str, status: int) -> Response:
    """A page of one porteur's dossier: never cached, never indexed."""
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _checked(reference: str) -> str:
    """The reference, when the link's key opens its dossier; the bad link's 404 otherwise."""
    checked = checked_reference(reference, request.args.get("cle"))
    if checked is None:
        raise _BadLink()
    return checked


def _closed(reference: str, values: dict[str, Any]) -> Response:
    """403, nothing stored: the form closed, with the posted answers to copy (as the intake
    does once the call has closed) and the way back to the dossier."""
    body = render_template(
        "form.html", form=state().form, values=values, errors={}, hidden={}, general_error=None,
        heading=f"Corriger le dossier {reference}", accepting=False, refused_message=CLOSED,
        dossier_url=dossier_path(appstate.secret(), reference), current_url=None)
    return _private(body, 403)


class _BadLink(Exception):
    """The link's key does not open this dossier."""


@bp.errorhandler(_BadLink)
def _bad_link(_error: _BadLink) -> Response:
    return bad_link()


@bp.get("/candidater/recu/<reference>/corriger")
def correction_form(reference: str) -> Response:
    checked = _checked(reference)
    if corrections_until(checked) is None:
        raise Refusal(403, CLOSED, "Corrections fermées")
    record = dossier.latest_record(appstate.store(), checked)
    return _page(checked, dict(record["answers"]))


@bp.post("/candidater/recu/<reference>/corriger")
def correct(reference: str) -> Response:
    checked = _checked(reference)
    guard_post("Ce formulaire de correction")
    current = state()
    still_open = corrections_until(checked) is not None  # a reviewer may have started the analysis meanwhile
    try:
        values, hidden = read_submission(request, current.form, current_app.config["MAX_FORM_PARTS"])
    except BadBody as error:
        if not still_open:
            return _closed(checked, {})
        raise Refusal(error.status, error.message) from error
    if not still_open:
        log.info("refused: corrections closed")
        return _closed(checked, values)
    link = dossier_path(appstate.secret(), checked)
    if honeypot_filled(hidden.get(HONEYPOT_FIELD)):
        log.info("discarded: honeypot (correction)")
        return redirect(link, 303)
    check = current.tokens.check(hidden.get(TOKEN_FIELD), hidden.get(SUBMISSION_ID_FIELD))
    try:
        loaded, errors = current.schema.load(values), {}
    except ValidationError as error:
        loaded, errors = None, _first_messages(error.messages)
    if not check.valid:
        return _page(checked, values, errors, current.tokens.issue(), STALE_PAGE, 422)
    if errors or loaded is None:
        log.info("invalid correction: %s", ",".join(errors))
        return _page(checked, values, errors, {**hidden, HONEYPOT_FIELD: ""}, status=422)
    done = appstate.store().dossier_posts.claimed(check.submission_id)  # looked up again under the lock
    if done is not None:
        return redirect(link + done_query(checked, "correction-enregistree") if done.startswith(checked) else link, 303)
    stored = dossier.latest_record(appstate.store(), checked)["answers"]
    wait = mail_caps.contact_change_wait(appstate.store(), appstate.secret(), checked, stored, loaded)
    if wait is not None:  # nothing stored: the form again, with the answers
        return _page(checked, values, {mail_caps.CONTACT_FIELD: mail_caps.FIELD_MESSAGE},
                     {**hidden, HONEYPOT_FIELD: ""}, mail_caps.too_many_contact_changes(wait), 429)
    try:
        version = _store(checked, ordered_answers(current.form, loaded), check.submission_id)
    except dossier.CorrectionsClosed:  # a reviewer started the analysis while this post was on its way
        log.info("refused: corrections closed (seen under the history's lock)")
        return _closed(checked, values)
    except _LinkRevokedMeanwhile:
        log.info("refused: the link was revoked while this correction was on its way")
        return bad_link()
    except NoRecord:  # the dossier was purged (erased) while this post was on its way: nothing stored
        log.info("refused: the dossier is no longer stored")
        return bad_link()
    except OSError as error:  # nothing stored: the version, its event and the id are one unit (dossier_posts)
        log.error("correction not stored (%s): nothing confirmed", error.__class__.__name__)
        raise Refusal(503, "Votre correction n'a pas pu être enregistrée pour le moment : elle n'a PAS été "
                           "prise en compte. Réessayez dans quelques minutes.") from error
    if version["outcome"] in (dossier.REPEATED, dossier.COMPLETED):
        return redirect(link + done_query(checked, "correction-enregistree"), 303)
    if version["outcome"] == dossier.UNCHANGED:
        return redirect(link + done_query(checked, "inchangee"), 303)
    return redirect(link + done_query(checked, "correction" if version["acknowledged"] else "correction-sans-accuse"), 303)


class _LinkRevokedMeanwhile(Exception):
    """The dossier's link was revoked (on any host) after this post's key was checked: nothing stored."""


def _allowed(generation: int) -> Callable[[dict[str, Any]], bool]:
    """The check a correction makes on the history as read under its lock: the key that opened
    the page is still the current one (a revocation committed meanwhile, through another worker
    or host, must not let the old link store a correction, whose acknowledgement would carry the
    NEW link to the contact the old link's holder may have just set), then corrections are open."""
    def allowed(history: dict[str, Any]) -> bool:
        if link_generation(history["events"]) != generation:
            raise _LinkRevokedMeanwhile()
        return _still_open(history)

    return allowed


def _still_open(history: dict[str, Any]) -> bool:
    """Whether corrections are open, on the history as read under its lock (views.corrections_until's rule)."""
    facts = appstate.facts()
    phase = current_phase(facts)
    return dossier.corrections_until(history, phase.is_open, facts["calendar"]["closes_at"], phase.now) is not None


def _store(reference: str, answers: dict[str, Any], submission_id: str | None) -> dict[str, Any]:
    """Write the correction as the next version (with its event and the submission id, one
    unit), then queue its mails; the version, with `outcome` and `acknowledged` (False when
    the mail caps held its acknowledgement back). Once the version is stored, nothing raises."""
    current = state()
    store = appstate.store()
    flags, derived = derive(answers, current.form.first_of_type("postcode"))
    now, _preview = current_now(current.facts)  # AMI_NOW in previews and tests, like every other date shown
    corrected = build_record(reference, now, current.form.version, answers, flags, derived)
    version = dossier.write_correction(store, corrected, now, still_open=_allowed(g.checked_generation[1]),
                                       submission_id=submission_id)
    if version["outcome"] not in (dossier.NEW_VERSION, dossier.EVENT_PENDING):
        return version
    log.info("corrected: %s (version %d)", reference, version["version"])
    if version["outcome"] == dossier.EVENT_PENDING:
        log.error("correction event of %s not written; the version is stored and the next correction writes it",
                  reference)
    held_back: list[str] = []
    try:  # the version is durably stored: a mail that cannot be queued must not un-confirm it
        previous = dossier.version_record(store, reference, version["version"] - 1)
        held_back = lifecycle.queue_correction_mails(store, previous, version, appstate.facts(), current.form)
    except Exception as error:  # noqa: BLE001 - the mailer's catch-up queues them once it can
        log.error("correction mails of %s not queued (%s); the version is stored", reference, type(error).__name__)
    return {**version, "acknowledged": f"accuse-v{version['version']}" not in held_back}
