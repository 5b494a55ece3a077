"""The review pages under /instruction/: login, list with filters, detail, status, notes, exports.

Every route of the blueprint needs a logged-in reviewer except the login page itself
(`PUBLIC_ENDPOINTS`); every POST needs the session's CSRF token (see csrf.py). The
session cookie is HttpOnly, SameSite=Lax and Secure unless COLLECTOR_COOKIE_SECURE=0.
"""

from __future__ import annotations

import io
import math
import os
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import (Blueprint, Flask, Response, abort, flash, redirect, render_template, request, session,
                   url_for)

from ..answers import plan_for
from ..dossier import EVENT_LABELS
from ..meetings import MEETING_STATES, meetings_of
from ..phase import current_phase
from ..statuses import (STATUSES, TRANSITIONS, StatusError, add_note, change_status, read_history,
                        status_label)
from . import appstate, csrf, throttle
from .catalog import (Entry, count_by, departement_name, filter_entries, format_moment, format_received,
                      load_catalog)
from .users import authenticate, read_users, UserError
from .validity import record_validator

bp = Blueprint("review", __name__, url_prefix="/instruction")

PUBLIC_ENDPOINTS = frozenset({"review.login"})
PAGE_SIZE = 100
FILTERS = ("statut", "thematique", "departement", "type")


def _flag(name: str, default: bool) -> bool:
    text = os.environ.get(name, "").strip().lower()
    return default if not text else text in {"1", "true", "yes", "on", "oui"}


def init_app(app: Flask) -> None:
    """Register the review pages and harden the session cookie."""
    app.config["SESSION_COOKIE_SECURE"] = _flag("COLLECTOR_COOKIE_SECURE", True)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", timedelta(hours=8))
    app.register_blueprint(bp)
    from . import answer_pages, exchanges, meeting_pages  # they need this module's guard and detail page

    exchanges.init_app(app)
    answer_pages.init_app(app)
    meeting_pages.init_app(app)


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    facts = appstate.facts()
    context.setdefault("SITEURL", "")
    context.setdefault("ami", facts)
    context.setdefault("phase", current_phase(facts))
    context.setdefault("current_url", "")
    return render_template(template, csrf_token=csrf.token(), reviewer=session.get("reviewer"),
                           status_label=status_label, **context), status


def _current_user() -> str | None:
    name = session.get("reviewer")
    if not name:
        return None
    try:
        return name if name in read_users(appstate.data_dir()) else None
    except UserError:
        return None


@bp.before_request
def _guard() -> Any:
    csrf.protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if _current_user() is None:
        session.pop("reviewer", None)
        return redirect(url_for("review.login", suivant=request.full_path if request.method == "GET" else None))
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Robots-Tag", "noindex, nofollow")
    return response


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/instruction/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("review.index")


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if _current_user():
            return redirect(_safe_next(request.args.get("suivant")))
        return _render("review/login.html", suivant=request.args.get("suivant", ""))
    name = request.form.get("identifiant", "").strip().lower()
    password = request.form.get("mot_de_passe", "")
    address = request.remote_addr or "inconnue"
    data_dir, secret = appstate.data_dir(), appstate.secret()
    wait = throttle.locked_for(data_dir, secret, name, address)
    if wait:
        minutes = math.ceil(wait / 60)
        message = (f"Trop d'essais infructueux : connexion bloquée pour ce compte depuis votre poste. "
                   f"Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}.")
        return _render("review/login.html", 429, error=message, identifiant=name, suivant=request.form.get("suivant", ""))
    if not name or not password or not authenticate(data_dir, name, password):
        throttle.record_failure(data_dir, secret, name, address)
        return _render("review/login.html", 401, error="Identifiant ou mot de passe incorrect.",
                       identifiant=name, suivant=request.form.get("suivant", ""))
    throttle.record_success(data_dir, secret, name, address)
    session.clear()
    session.permanent = True
    session["reviewer"] = name
    return redirect(_safe_next(request.form.get("suivant")), code=303)


@bp.route("/deconnexion", methods=["POST"])
def logout() -> Any:
    session.clear()
    flash("Vous êtes déconnecté.")
    return redirect(url_for("review.login"), code=303)


def _catalog():
    return load_catalog(appstate.data_dir(), record_validator(appstate.form(), trust_hash=True))


def _filtered(entries: list[Entry]) -> tuple[list[Entry], dict[str, str]]:
    chosen = {key: request.args.get(key, "").strip() for key in FILTERS}
    return filter_entries(entries, status=chosen["statut"] or None, thematique=chosen["thematique"] or None,
                          departement=chosen["departement"] or None, type_structure=chosen["type"] or None), chosen


def _choices(field_name: str) -> list[tuple[str, str]]:
    try:
        return list(appstate.form().field(field_name).choices)
    except KeyError:
        return []


@bp.route("/")
def index() -> Any:
    catalog = _catalog()
    entries, chosen = _filtered(catalog.entries)
    pages = max(1, math.ceil(len(entries) / PAGE_SIZE))
    try:
        page = min(max(1, int(request.args.get("page", "1"))), pages)
    except ValueError:
        page = 1
    departements = sorted({(e.departement, f"{e.departement} — {departement_name(e.record)}")
                           for e in catalog.entries if e.departement})
    query = {key: value for key, value in chosen.items() if value}
    return _render(
        "review/list.html",
        entries=entries[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], total=len(catalog.entries), shown=len(entries),
        page=page, pages=pages, chosen=chosen, query=urlencode(query),
        page_url=lambda number: url_for("review.index", **query, page=number),
        counts=count_by(entries), statuses=STATUSES, thematiques=_choices("thematiques"),
        types=_choices("type_structure"), departements=departements, warnings=catalog.warnings,
        form=appstate.form(), format_received=format_received,
    )


def _detail(reference: str, status: int = 200, **extra: Any) -> Any:
    catalog = _catalog()
    entry = catalog.get(reference)
    if entry is None:
        abort(404)
    from ..exports import answer_text, flag_label

    try:
        history = read_history(appstate.data_dir(), reference)
    except StatusError as error:
        history = {"events": [], "status": entry.status}
        extra.setdefault("history_error", str(error))
    return _render(
        "review/detail.html", status, entry=entry, form=appstate.form(), answer_text=answer_text,
        flag_label=flag_label, history=history, format_received=format_received,
        next_statuses=sorted(TRANSITIONS.get(entry.status, ()), key=list(STATUSES).index),
        departement=departement_name(entry.record), format_at=_format_at, event_labels=EVENT_LABELS,
        answer_plan=plan_for(reference, history), meetings=meetings_of(history),
        meeting_states=MEETING_STATES, **extra)


_format_at = format_moment


@bp.route("/<reference>")
def detail(reference: str) -> Any:
    return _detail(reference)


@bp.route("/<reference>/statut", methods=["POST"])
def set_status(reference: str) -> Any:
    try:
        change_status(appstate.data_dir(), reference, request.form.get("statut", ""), by=session["reviewer"],
                      note=request.form.get("note", ""), expected_from=request.form.get("statut_actuel") or None)
    except (StatusError, ValueError) as error:
        return _detail(reference, 400, status_error=str(error), note_value=request.form.get("note", ""))
    flash(f"Statut enregistré : {status_label(request.form['statut'])}.")
    return redirect(url_for("review.detail", reference=reference), code=303)


@bp.route("/<reference>/note", methods=["POST"])
def post_note(reference: str) -> Any:
    try:
        add_note(appstate.data_dir(), reference, request.form.get("texte", ""), by=session["reviewer"])
    except (StatusError, ValueError) as error:
        return _detail(reference, 400, note_error=str(error), text_value=request.form.get("texte", ""))
    flash("Note ajoutée.")
    return redirect(url_for("review.detail", reference=reference), code=303)


@bp.route("/export.<fmt>")
def export(fmt: str) -> Any:
    from ..exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, export_filename, write_csv, write_xlsx

    if fmt not in {"csv", "xlsx"}:
        abort(404)
    entries, _chosen = _filtered(_catalog().entries)
    buffer = io.BytesIO()
    (write_csv if fmt == "csv" else write_xlsx)(appstate.form(), entries, buffer)
    name = export_filename(fmt, f"{date.today():%Y%m%d}")
    return Response(buffer.getvalue(), content_type=CSV_MEDIA_TYPE if fmt == "csv" else XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
