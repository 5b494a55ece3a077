"""The form page and the submission endpoint: /candidater/ (GET, POST) and the receipt.

A valid post is stored durably (records.write_record) BEFORE anything says « reçu »;
then `record_stored` is sent, then the porteur is sent to the receipt. Every other
outcome (errors to fix, a forged or stale page, a robot, a closed call, a limit) is
answered in French and stores nothing.

The order of the checks protects people first: answers with errors always get their
errors back, whatever their speed; the time trap judges only a post that would otherwise
be stored, and a valid post that is merely too fast gets the form back (values kept, a
fresh token), never a fake « merci »; only a filled honeypot gets the quiet page. The
rate limit counts the posts that are stored or discarded, never answers sent back for
correction (a workshop behind one address may correct as often as it needs); a discarded
post (a filled honeypot, which needs no page) counts for its client only, never for its
network, which only posts about to be stored use up (network_limit.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote

from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError

from . import appstate, events
from .mail import lifecycle
from .antispam import HONEYPOT_FIELD, SUBMISSION_ID_FIELD, TOKEN_FIELD, Tokens, honeypot_filled
from .errors import BACK_TO_THE_FORM, Refusal, wants_json, where
from .formdef import FormDefinition, ordered_answers
from .mail.delivery import message_name
from .network_limit import ClientAndNetworkLimiter, network_limit
from .origin import is_cross_site
from .payload import BadBody, read_submission
from .phase import Phase, current_now, current_phase
from .porteur import mail_caps, same_browser
from .porteur.links import dossier_key
from .porteur.views import DONE, DONE_STILL_TRUE, done_query
from .records import build_record
from .stores.base import FORM_LIMITER, Store
from .stores.outbox import OutgoingMail, record_mails
from .template_filters import minutes_fr
from .validation import derive

log = logging.getLogger("collector.intake")
bp = Blueprint("intake", __name__)

FORM_URL = "candidater/"
FORM_NETWORK_LIMITER = "envoi-reseau"  # the form's posts per network (network_limit.py)
STALE_PAGE = ("Votre envoi n'a pas pu être vérifié : la page du formulaire était trop ancienne ou incomplète. "
              "Vos réponses sont conservées ci-dessous : vérifiez-les, puis envoyez à nouveau le formulaire.")
TOO_FAST = ("Votre envoi est arrivé très peu de temps après l'affichage de la page : par sécurité, il n'a pas "
            "encore été enregistré. Vos réponses sont conservées ci-dessous. Vérifiez vos réponses puis envoyez "
            "à nouveau le formulaire.")
ACKNOWLEDGEMENT_HELD_BACK = "sans-accuse"
# Shown once (views.one_time_notice), and only while the outbox still holds the acknowledgement back.
DONE_STILL_TRUE[ACKNOWLEDGEMENT_HELD_BACK] = lambda reference: appstate.store().outbox.is_held_back(
    message_name(reference, "accuse"))
DONE[ACKNOWLEDGEMENT_HELD_BACK] = (
    "Votre dossier est bien enregistré, mais aucun accusé de réception n'a été envoyé par e-mail pour ce "
    "dossier : lors de son envoi, l'adresse de contact indiquée avait déjà reçu "
    f"{mail_caps.MAILS_PER_ADDRESS_PER_DAY} e-mails de ce site au cours des dernières 24 heures (envois de "
    "dossiers, corrections ou demandes de lien), le maximum, qui protège les adresses des envois abusifs. Gardez "
    "donc l'adresse de cette page, donnée ci-dessous (imprimez la page, ou notez son adresse ; sur un ordinateur "
    "partagé, ne l'enregistrez pas dans les favoris). Elle montre vos réponses telles qu'elles sont enregistrées, "
    "et vous y suivrez votre dossier.")
NOT_OPEN = {
    "a_venir": "L'appel à manifestation d'intérêt n'est pas encore ouvert : rien n'a été enregistré. "
               "Revenez à partir du {date}.",
    "clos": "L'appel à manifestation d'intérêt est clos depuis le {date} : rien n'a été enregistré.",
}


@dataclass
class IntakeState:
    """What the endpoint needs, built once per app (not per request)."""

    form: FormDefinition
    schema: Schema
    tokens: Tokens
    limiter: ClientAndNetworkLimiter  # per client and per network (network_limit.py)

    @property
    def facts(self) -> dict[str, Any]:
        """The call's facts (appstate: loaded when the service starts, on first use by a command)."""
        return appstate.facts()


def state() -> IntakeState:
    return current_app.extensions["ami_intake"]


def init_app(app: Flask, form: FormDefinition) -> None:
    config = app.config
    limit, window = config["RATE_LIMIT"]
    app.extensions["ami_intake"] = IntakeState(
        form=form, schema=form.build_schema(), tokens=Tokens(config["SECRET_KEY"], config["TOKEN_MAX_AGE"]),
        limiter=ClientAndNetworkLimiter(
            appstate.store(app).rate_limiter(FORM_LIMITER, limit, window, config["SECRET_KEY"]),
            appstate.store(app).rate_limiter(FORM_NETWORK_LIMITER, network_limit(limit), window, config["SECRET_KEY"])))
    app.register_blueprint(bp)


# --- Rendering ------------------------------------------------------------------------------


def render_form(values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                hidden: dict[str, str] | None = None, general_error: str | None = None, status: int = 200) -> Response:
    current = state()
    body = render_template("form.html", form=current.form, values=values or {}, errors=errors or {},
                           hidden=hidden if hidden is not None else current.tokens.issue(),
                           general_error=general_error, current_url=FORM_URL)
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def receipt_url(reference: str) -> str:
    # The first link generation's key, always: a repeat of the submission after the link was
    # revoked (porteur/revocation.py) gets the old link back, never the new one.
    key = dossier_key(appstate.secret(), reference)
    return url_for("intake.receipt", reference=reference) + "?cle=" + quote(key)


def _first_messages(messages: Any) -> dict[str, str]:
    """marshmallow's {field: [messages]} as {field: first message}, in the form's order."""
    form = state().form
    flat = {name: (value[0] if isinstance(value, list) and value else str(value)) for name, value in messages.items()}
    ordered = {name: flat[name] for name in form.names if name in flat}
    ordered.update({name: text for name, text in flat.items() if name not in ordered})
    return ordered


def _invalid(values: dict[str, Any], errors: dict[str, str], hidden: dict[str, str] | None,
             general_error: str | None = None) -> Response:
    if wants_json():
        body: dict[str, Any] = {"errors": dict(errors)}
        if general_error:
            body["errors"][TOKEN_FIELD] = general_error
            body["hidden"] = hidden
        response = jsonify(body)
        response.status_code = 422
        return response
    return render_form(values, errors, hidden, general_error, status=422)


def _discarded(reason: str) -> Response:
    """A quiet answer for robots (a filled honeypot); nothing is stored, and nothing says it was."""
    log.info("discarded: %s", reason)
    if wants_json():
        return jsonify({"status": "non_enregistre", "confirmation_url": url_for("intake.thanks")})
    return redirect(url_for("intake.thanks"), 303)


def _stored(stored: Stored) -> Response:
    url = receipt_url(stored.reference) + ("" if stored.acknowledged else done_query(stored.reference,
                                                                                     ACKNOWLEDGEMENT_HELD_BACK))
    if wants_json():
        response = jsonify({"reference": stored.reference, "received_at": stored.received_at,
                            "confirmation_url": url, "acknowledged": stored.acknowledged})
        response.status_code = 201 if stored.created else 200
        return response
    return redirect(url, 303)


# --- Checks before reading the answers ----------------------------------------------------------


def _client_address() -> str:
    return request.remote_addr or "inconnu"


def _refuse_cross_site() -> None:
    if is_cross_site(request, current_app.config["ALLOWED_ORIGINS"]):
        log.info("refused: cross-site post")
        raise Refusal(403, "Ce formulaire ne peut être envoyé que depuis le site de l'AMI. "
                           "Ouvrez la page « Candidater » du site et envoyez-le de là.")


def _not_open(phase: Phase, values: dict[str, Any]) -> Response:
    """403: the call is not open. A page shows the posted answers, so that nothing is lost silently."""
    current = state()
    moment = current.facts["calendar"]["opens_at" if phase.key == "a_venir" else "closes_at"]
    message = NOT_OPEN[phase.key].format(date=current_app.jinja_env.filters["datetime_fr"](moment))
    log.info("refused: call %s", phase.key)
    if wants_json():
        response = jsonify({"error": message, "status": 403})
    else:
        body = render_template("form.html", form=current.form, values=values, errors={}, hidden={},
                               general_error=None, refused_message=message, current_url=FORM_URL)
        response = Response(body, mimetype="text/html")
    response.status_code = 403
    response.headers["Cache-Control"] = "no-store"
    return response


def _count_post(for_network: bool = True) -> None:
    """Count a post that is about to be stored or discarded; 429 past the limit.

    Only those posts count: answers sent back for correction (errors, a stale page, a post
    sent too fast) cost no storage, and a workshop of porteurs behind one address must be
    able to correct its forms without being refused. A discarded post (`for_network=False`)
    counts for its client only: a robot that never loads the form must not use up the share
    of every porteur of its network."""
    limiter = state().limiter
    wait = limiter.hit(_client_address()) if for_network else limiter.hit_client(_client_address())
    if wait is not None:
        log.info("refused: rate limit")
        minutes = max(1, round(wait / 60))
        raise Refusal(429, f"Trop d'envois depuis votre connexion ou votre réseau en peu de temps. Patientez "
                           f"environ {minutes_fr(minutes)}, puis réessayez.",
                      headers={"Retry-After": str(wait)}, hint=BACK_TO_THE_FORM)


# --- Storing --------------------------------------------------------------------------------


class Stored(NamedTuple):
    reference: str
    received_at: str
    created: bool  # now, by this post
    acknowledged: bool = True  # False: the acknowledgement was held back by the daily cap of its address


def _found_again(kept: Store, reference: str, received_at: str) -> Stored:
    """A dossier stored by an earlier post (a double click, a browser's retry, the same answers
    sent again): its receipt again, saying again whether its acknowledgement was held back."""
    return Stored(reference, received_at, False,
                  acknowledged=not kept.outbox.is_held_back(message_name(reference, "accuse")))


def store(answers: dict[str, Any], submission_id: str) -> Stored:
    """Store a valid submission once per submission id; (reference, received_at, created now,
    acknowledged).

    OSError (StoreUnavailable for a database) when it could not be stored: nothing is confirmed.

    On the data folder, a post's time is mostly its fsyncs; each one left keeps a promise made
    to the porteur:
    - the record file, then its folder (durable.write_new_file): « reçu » only once the record
      and its name survive a power cut;
    - the reference counter: one durable write per block of references (sequence.py), so that
      after a power cut no reference is given twice (an ids/ link may already name it);
    - only past the contact address's daily cap of porteur mails: the acknowledgement's name held
      back in mail-queued/ and its folder (porteur/mail_caps.py; on PostgreSQL a committed outbox
      row, Outbox.hold_back), before the record, so that no mailer ever sends the mail the
      receipt says will not come.
    No other write of the post is fsynced: the ids/ link is committed by the record's own
    fsyncs (same journal), the rate limit and the review index are derived data; the mailer
    composes the record's mails from its file. On PostgreSQL the record and its two mails
    (acknowledgement, notification: composed here) are one committed transaction, so a host
    that dies after « reçu » leaves no record without its mails.
    """
    current = state()
    kept = appstate.store()
    reference = kept.lookup_submission(submission_id) or same_browser.recent_reference(kept, answers)
    fresh = False
    if reference is None:
        reference, fresh = kept.reference_for(submission_id, current.facts["call"]["reference_prefix"])
    # A reference just taken names nothing yet; one found or claimed by another post may have its record.
    existing = None if fresh else kept.read_record(reference)
    if existing is not None:
        return _found_again(kept, reference, existing["received_at"])
    flags, derived = derive(answers, current.form.first_of_type("postcode"))
    now, _preview = current_now(current.facts)  # AMI_NOW in a preview, like every other date shown
    record = build_record(reference, now, current.form.version, answers, flags, derived)
    # Before the record exists, so that no mailer composes the mail first (porteur/mail_caps.py).
    held_back = mail_caps.first_acknowledgement_held_back(kept, appstate.secret(), reference,
                                                          answers["contact_email"])

    def mails() -> list[OutgoingMail]:
        composed = record_mails(record, current.facts, current.form, lifecycle.settings())
        return [item for item in composed if not (held_back and item.name == message_name(reference, "accuse"))]

    try:  # with its two mails in the same transaction where the store can (PostgreSQL)
        created = kept.outbox.write_record(record, mails)
    except OSError:
        kept.release_submission(submission_id, reference)  # no claim on a record that is not there
        raise
    if not created:  # the same submission, sent twice at once: the other post stored it
        return _found_again(kept, reference, kept.read_record(reference)["received_at"])  # type: ignore[index]
    try:
        events.record_stored.send(current_app._get_current_object(), record=record, path=kept.record_file(reference))
    except Exception as error:  # noqa: BLE001 - a listener's failure must not un-confirm a stored record
        log.error("record_stored listener failed for %s: %s (%s); the record is stored",
                  reference, type(error).__name__, where(error))
    return Stored(reference, record["received_at"], True, not held_back)


# --- Routes -----------------------------------------------------------------------------------


@bp.get("/candidater/")
def form_page() -> Response:
    return render_form()


@bp.post("/candidater/")
def submit() -> Response:
    _refuse_cross_site()
    current = state()
    phase = current_phase(current.facts)
    try:
        values, hidden = read_submission(request, current.form, current_app.config["MAX_FORM_PARTS"])
    except BadBody as error:
        if not phase.is_open:
            return _not_open(phase, {})
        log.info("refused: unreadable body (%s)", error.status)
        raise Refusal(error.status, error.message) from error
    if not phase.is_open:
        return _not_open(phase, values)
    if honeypot_filled(hidden.get(HONEYPOT_FIELD)):
        _count_post(for_network=False)
        return _discarded("honeypot")
    check = current.tokens.check(hidden.get(TOKEN_FIELD), hidden.get(SUBMISSION_ID_FIELD))
    try:
        loaded = current.schema.load(values)
        errors: dict[str, str] = {}
    except ValidationError as error:
        loaded, errors = None, _first_messages(error.messages)
    if not check.valid:
        log.info("refused: %s token", "expired" if check.expired else "missing or invalid")
        return _invalid(values, errors, current.tokens.issue(), STALE_PAGE)
    if errors or loaded is None:
        log.info("invalid: %s", ",".join(errors))
        return _invalid(values, errors, {**hidden, HONEYPOT_FIELD: ""})
    if check.age < current_app.config["MIN_FILL_SECONDS"]:
        # a person may be this quick (a restored draft, autofill): the form comes back, nothing is lost
        log.info("returned: sent too fast")
        return _invalid(values, {}, current.tokens.issue(), TOO_FAST)
    _count_post()
    try:
        stored = store(ordered_answers(current.form, loaded), check.submission_id)
    except OSError as error:
        log.error("storage failed (%s): nothing confirmed", error.__class__.__name__)
        raise Refusal(503) from error
    log.info("%s: %s", "stored" if stored.created else "duplicate", stored.reference)
    return _stored(stored)


@bp.get("/candidater/recu/<reference>")
def receipt(reference: str) -> Response:
    """The receipt's link opens the porteur's dossier (collector/porteur/views.py)."""
    from .porteur.views import show_dossier

    return show_dossier(reference)


@bp.get("/candidater/merci/")
def thanks() -> Response:
    return Response(render_template("collector/merci.html", current_url=FORM_URL), mimetype="text/html")
