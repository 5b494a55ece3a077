"""The dossier page: what the porteur sent, where the dossier stands, and what comes next.

`GET /candidater/recu/<REF>?cle=<key>` (the receipt's URL since the first version: the
links already sent keep working). A wrong or truncated key, a revoked link (an earlier link
generation's key, porteur/revocation.py) and an unknown reference get the same 404, which
says how to find the right link again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template, request, url_for
from itsdangerous import BadSignature, TimestampSigner

from .. import dossier
from ..email_typos import KNOWN_DOMAINS, suggest
from ..errors import Refusal
from ..exports import answer_text
from ..mail.delivery import message_name
from ..meetings import meetings_of
from ..next_steps import dossier_next_steps, meeting_stage
from ..origin import is_cross_site
from ..phase import current_now, current_phase
from ..records import RecordError
from .. import appstate
from ..statuses import REFERENCE_PATTERN
from ..template_filters import datetime_fr, minutes_fr
from ..statuses import StatusError
from . import links
from .revocation import REVOKED, current_generation

bp = Blueprint("porteur", __name__)

PAGE_URL = "candidater/"
BAD_LINK = ("Ce lien de dossier est incomplet, erroné ou remplacé par un nouveau lien. Copiez le lien en entier "
            "depuis le dernier e-mail reçu au sujet de votre dossier (il se termine par une longue clé après "
            "« cle= »), ou demandez qu'il vous soit envoyé à nouveau : il part à l'adresse de contact du dossier. "
            "Cette adresse n'est plus la bonne ? Écrivez aux contacts de l'AMI en citant votre référence.")
BACK_TO_DOSSIER = "Retour à mon dossier"
# `?cle=…&avis=<stamp>&fait=<what>` after a porteur's post: the page says it was done (no session
# needed), once: `avis` signs `what` for this dossier with the time (itsdangerous), and the notice
# is shown only within NOTICE_MAX_AGE seconds, so a bookmarked address never repeats it later.
DONE: dict[str, str] = {}
# Notices that must also still be true when shown: what → check(reference) (e.g. asked of the outbox).
DONE_STILL_TRUE: dict[str, Callable[[str], bool]] = {}
NOTICE_MAX_AGE = 600


def init_app(app: Flask) -> None:
    app.jinja_env.filters["datetime_fr_text"] = datetime_fr_text
    app.register_blueprint(bp)


def datetime_fr_text(text: Any) -> str:
    """An ISO 8601 date-time as the French read it (`jeudi 15 avril 2021 à 10 h 00`)."""
    try:
        return datetime_fr(datetime.fromisoformat(str(text)))
    except ValueError:
        return str(text)


def notice_signer(secret: str, reference: str) -> TimestampSigner:
    """Signs a one-time notice's `what` for one dossier, with the time it was signed."""
    return TimestampSigner(secret, salt="avis-du-dossier:" + reference)


def done_query(reference: str, what: str) -> str:
    """`&avis=<stamp>&fait=<what>`, to end a dossier URL after a porteur's post (`what` a key of DONE)."""
    stamp = notice_signer(appstate.secret(), reference).sign(what).decode("ascii")[len(what) + 1:]
    return f"&avis={stamp}&fait={what}"


def one_time_notice(reference: str) -> str | None:
    """The notice this request's `fait` names, when `avis` signs it for this dossier, less than
    NOTICE_MAX_AGE seconds ago, and it is still true; None otherwise (an old bookmark, a hand-made URL)."""
    what, stamp = request.args.get("fait", ""), request.args.get("avis", "")
    if what not in DONE:
        return None
    try:
        notice_signer(appstate.secret(), reference).unsign(f"{what}.{stamp}", max_age=NOTICE_MAX_AGE)
    except BadSignature:  # SignatureExpired included
        return None
    still_true = DONE_STILL_TRUE.get(what)
    return DONE[what] if still_true is None or still_true(reference) else None


def page(template: str, status: int = 200, **context: Any) -> Response:
    """A porteur's page: never cached, never indexed."""
    response = Response(render_template(template, current_url=PAGE_URL, **context), status=status,
                        mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def bad_link() -> Response:
    return page("porteur/bad_link.html", 404, message=BAD_LINK)


def offer_way_back(url: str, label: str) -> None:
    """The link an error page of this request offers first (collector/error.html), instead of
    « Revenir au formulaire », which leads to a NEW application."""
    g.way_back = (url, label)


def dossier_path(secret: str, reference: str, action: str = "") -> str:
    """The dossier's path with the key of its current link generation: the one checked_reference
    found in this request (a page links to its dossier several times), else read from the history."""
    checked = g.get("checked_generation")
    generation = checked[1] if checked and checked[0] == reference else current_generation(appstate.store(), reference)
    return links.dossier_path(secret, reference, action, generation)


def checked_reference(reference: str, key: str | None) -> str | None:
    """The reference when the key opens an existing dossier at its current link generation;
    None otherwise (the same answer for a wrong key, a revoked one and an unknown reference).
    A forged key costs no store read; a genuine one is compared with the generation in the
    history, and a history that cannot be read opens nothing (which key is current cannot be told).
    Once checked, a refusal's page leads back to the dossier."""
    if not REFERENCE_PATTERN.match(reference or "") or not reference.isascii():
        return None
    generation = links.key_generation(appstate.secret(), reference, key)
    if generation is None:  # a forged key: refused without reading the store
        return None
    store = appstate.store()
    if not store.has_record(reference):
        return None
    try:
        if generation != current_generation(store, reference):
            return None  # a revoked link: the same answer as a wrong key
    except StatusError:
        current_app.logger.error("dossier link of %s not checked: its history cannot be read", reference)
        return None
    g.checked_generation = (reference, generation)
    offer_way_back(dossier_path(appstate.secret(), reference), BACK_TO_DOSSIER)
    return reference


def back_to_dossier(reference: str, fragment: str) -> Response:
    """A GET on one of the dossier page's POST-only addresses (the address bar after a refused
    post, a reload, a shared URL): 303 to the dossier at `fragment` with a valid link, the page of
    a wrong link otherwise. Nothing is read from the query but the key, nothing is stored."""
    checked = checked_reference(reference, request.args.get("cle"))
    if checked is None:
        return bad_link()
    return redirect(dossier_path(appstate.secret(), checked) + "#" + fragment, 303)


def guard_post(what: str) -> None:
    """Refuse a porteur's post made from another site's page, or beyond the per-client limit
    shared with the form (`what`: « Cette correction », « Ce message »…)."""
    from ..intake import state

    if is_cross_site(request, current_app.config["ALLOWED_ORIGINS"]):
        raise Refusal(403, f"{what} ne peut être envoyé que depuis votre page de dossier.")
    wait = state().limiter.hit(request.remote_addr or "inconnu")
    if wait is not None:
        raise Refusal(429, f"Trop d'envois depuis votre connexion ou votre réseau en peu de temps. Patientez "
                           f"environ {minutes_fr(max(1, round(wait / 60)))}, puis réessayez.",
                      headers={"Retry-After": str(wait)})


def corrections_until(reference: str) -> datetime | None:
    """Until when this dossier's answers may be corrected (None: not now)."""
    facts = appstate.facts()
    phase = current_phase(facts)
    history = dossier.safe_history(appstate.store(), reference)
    return dossier.corrections_until(history, phase.is_open, facts["calendar"]["closes_at"], phase.now)


def dossier_context(reference: str) -> dict[str, Any]:
    """What every state of the dossier page shows."""
    store = appstate.store()
    record = store.latest_record(reference)
    history = dossier.safe_history(store, reference)
    facts = appstate.facts()
    email = str(record["answers"].get("contact_email") or "")
    status = dossier.porteur_status(history)
    return {
        "record": record, "form": appstate.form(), "answer_text": answer_text,
        "received_at": datetime.fromisoformat(str(record["received_at"])),
        "short_hash": dossier.short_hash(str(record["content_hash"])),
        "porteur_status": status, "events": dossier.porteur_events(history),
        "version_events": dossier.version_events(history),
        "next_steps": dossier_next_steps(facts["calendar"]["steps"], status == dossier.ANSWERED,
                                         current_phase(facts).now.date(), facts["call"]["organisation"],
                                         meeting_stage(meetings_of(history), current_now(facts)[0])),
        "email": email, "email_suggestion": suggest(email),
        "notice": one_time_notice(reference), "address_to_keep": current_app.config["PUBLIC_URL"] + dossier_path(
            appstate.secret(), reference),
        "corrections_until": corrections_until(reference),
        "meetings": meetings_of(history), "now": current_now(facts)[0],
        "link": lambda action="": dossier_path(appstate.secret(), reference, action),
        "link_replaced_at": _link_replaced_at(history),
        # the first acknowledgement is queued by the mailer unless the address's daily cap held it back
        "acknowledgement_queued": not store.outbox.is_held_back(message_name(reference, "accuse")),
    }


def _link_replaced_at(history: dict[str, Any]) -> datetime | None:
    """When the dossier's link was last replaced (revoked), if ever: the page opened by the new link says so."""
    revoked = [event for event in history.get("events", []) if event.get("kind") == REVOKED]
    return datetime.fromisoformat(str(revoked[-1]["at"])) if revoked else None


def show_dossier(reference: str) -> Response:
    """The dossier page (the intake's receipt route hands over to it)."""
    checked = checked_reference(reference, request.args.get("cle"))
    if checked is None:
        return bad_link()
    try:
        context = dossier_context(checked)
    except RecordError:
        current_app.logger.error("dossier page: record of %s unreadable", checked)
        return page("collector/error.html", 503, status=503, error_title="Dossier momentanément indisponible",
                    message="Votre dossier est bien enregistré mais ne peut pas être affiché pour le moment. "
                            "Réessayez plus tard ou écrivez aux contacts de l'AMI en citant votre référence.")
    return page("porteur/dossier.html", **context)


@bp.app_context_processor
def porteur_context() -> dict[str, Any]:
    """For every page: the lost-link page's URL and the way back an error page offers (none:
    the form); for the form, the known e-mail domains (form.js suggests them on blur) and
    `suggest_email` (the server's suggestion for a mistyped domain, shown on the page sent
    back after a post)."""
    return {"lost_link_url": lambda: url_for("lost_link.request_form"), "email_domains": KNOWN_DOMAINS,
            "suggest_email": suggest, "way_back": g.get("way_back")}
