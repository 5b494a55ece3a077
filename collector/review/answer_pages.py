"""The answer letters from the review side: preview then send on the detail page
(`/instruction/<REF>/reponse/apercu`, `/instruction/<REF>/reponse`), and the `answers`
command (`--dry-run` lists which dossier would get which letter, with the motivation each
letter carries; `--send` queues them). The command sends only letters whose motivation was
written for the porteur (`status --motivation`, « Motivation communiquée au porteur »): a
status note is internal and never becomes a letter's motivation (answers.outcome_motivation).

The letters (content/reponses/, letters.py) are read when the collector starts: a wrong
placeholder stops it with a French message naming the file. An answer is recorded in the
dossier's history (answers.send) before its e-mail is queued in the outbox.
"""

from __future__ import annotations

import os

import click
from flask import Blueprint, Flask, current_app, flash, redirect, request, session, url_for
from flask.cli import with_appcontext

from .. import answers
from ..mail import lifecycle
from ..dossier import latest_record, safe_history
from ..letters import load_letters
from ..phase import current_now
from ..records import RecordError
from ..statuses import StatusError, status_label
from . import CONFIRMATION, _detail, _guard, _no_store, _render
from .. import appstate
from ..owner import as_data_owner
from ..commandline import who

bp = Blueprint("answers", __name__, url_prefix="/instruction")
bp.before_request(_guard)
bp.after_request(_no_store)

ACTIONS = {
    "envoyer": "lettre à envoyer",
    "deja_envoyee": "déjà envoyée",
    "corrigee_sur_demande": "décision changée : lettre corrigée seulement sur demande (--corriger REF)",
    "motivation_manquante": "motivation pour le porteur manquante : écrivez-la sur la page du dossier (« Réponse au "
                            "porteur ») ; les notes internes ne sont jamais envoyées",
}
MOTIVATION_SHOWN = ("envoyer", "corrigee_sur_demande", "deja_envoyee")  # the text the letter carries, or carried
NOT_TO_CORRECT = {  # why a `--corriger REF` is refused, by the dossier's plan
    "envoyer": "aucune lettre n'est encore partie : la première part sans --corriger",
    "deja_envoyee": "sa lettre est déjà partie et la décision n'a pas changé depuis",
    "motivation_manquante": "aucune lettre n'est encore partie, et la motivation pour le porteur manque",
}


def _motivation_lines(motivation: str) -> str:
    """« Motivation communiquée au porteur : … », each line of the text indented under it."""
    if not motivation.strip():
        return "    Motivation communiquée au porteur : aucune (aucune lettre ne part sans motivation)"
    lines = motivation.splitlines()
    return "\n".join(["    Motivation communiquée au porteur :"] + [f"        {line}" for line in lines])


def _refused_corrections(store, plans: list[answers.Plan], wanted: tuple[str, ...]) -> list[str]:
    """One French line per `--corriger` reference that names no dossier awaiting a corrected letter."""
    by_reference = {plan.reference: plan for plan in plans}
    known = set(store.references())
    refused = []
    for reference in dict.fromkeys(wanted):
        plan = by_reference.get(reference)
        if reference not in known:
            refused.append(f"{reference} : aucun dossier ne porte cette référence")
        elif plan is None:
            status = status_label(safe_history(store, reference)["status"])
            refused.append(f"{reference} : pas de décision (statut « {status} »), donc pas de lettre à corriger")
        elif plan.action != "corrigee_sur_demande":
            refused.append(f"{reference} : {NOT_TO_CORRECT[plan.action]}")
    return refused


def init_app(app: Flask) -> None:
    app.config["LETTERS"] = load_letters(os.environ.get("COLLECTOR_LETTERS_DIR", "").strip() or None)
    app.register_blueprint(bp)
    app.cli.add_command(answers_command)


def _send(reference: str, motivation: str | None, by: str, corrected: bool) -> dict:
    store, facts = appstate.store(), appstate.facts()
    now, _preview = current_now(facts)
    event, number = answers.send(store, reference, motivation, current_app.config["LETTERS"], facts, by=by,
                                 corrected=corrected, now=now)
    lifecycle.queue_answer(store, latest_record(store, reference), event, number, facts)
    return event


@bp.route("/<reference>/reponse/apercu", methods=["POST"])
def preview(reference: str):
    motivation = request.form.get("motivation", "")
    try:
        outcome, letter = answers.preview(appstate.store(), reference, motivation,
                                          current_app.config["LETTERS"], appstate.facts())
    except (answers.AnswerError, StatusError, RecordError) as error:
        return _detail(reference, 400, answer_error=str(error), motivation_value=motivation,
                       corrected_value=bool(request.form.get("corrigee")))
    return _render("review/answer_preview.html", reference=reference, outcome=status_label(outcome),
                   letter=letter, motivation=motivation, corrected=bool(request.form.get("corrigee")))


@bp.route("/<reference>/reponse/modifier", methods=["POST"])
def edit(reference: str):
    """Back from the preview to the dossier page's answer form with the motivation as typed (the
    preview posts it back): what the reviewer wrote before the preview is never lost."""
    return _detail(reference, motivation_value=request.form.get("motivation", ""),
                   corrected_value=bool(request.form.get("corrigee")))


@bp.route("/<reference>/reponse", methods=["POST"])
def send(reference: str):
    motivation = request.form.get("motivation", "")
    try:
        event = _send(reference, motivation, session["reviewer"], bool(request.form.get("corrigee")))
    except (answers.AnswerError, StatusError, RecordError) as error:
        return _detail(reference, 400, answer_error=str(error), motivation_value=motivation,
                       corrected_value=bool(request.form.get("corrigee")))
    flash(f"Réponse enregistrée ({status_label(event['outcome'])}) ; elle part par e-mail au porteur et "
          "s'affiche sur sa page de dossier.")
    return redirect(url_for("review.detail", reference=reference) + CONFIRMATION, code=303)


@click.command("answers")
@with_appcontext
@as_data_owner
@click.option("--dry-run", "mode", flag_value="dry-run", default=True, help="Lister seulement (par défaut).")
@click.option("--send", "mode", flag_value="send", help="Mettre en file d'envoi les lettres à envoyer.")
@click.option("--corriger", "corrected", multiple=True, metavar="REF",
              help="Envoyer aussi une lettre corrigée à ce dossier dont la décision a changé (répétable).")
@click.option("--by", help="Qui envoie (par défaut : l'utilisateur du système).")
def answers_command(mode: str, corrected: tuple[str, ...], by: str | None) -> None:
    """The July answers: which dossier gets which letter (--dry-run), or queue them (--send)."""
    store = appstate.store()
    plans = answers.plans(store, store.references())
    refused = _refused_corrections(store, plans, corrected)
    if refused:
        raise click.ClickException("--corriger ne vise que les dossiers dont la décision a changé après l'envoi de "
                                   "leur lettre (« " + ACTIONS["corrigee_sur_demande"].split(" :")[0] + " ») ; "
                                   + " ; ".join(refused) + ". Aucune lettre n'a été envoyée : corrigez la liste "
                                   "puis relancez.")
    count = 0
    for plan in plans:
        wanted = plan.action == "envoyer" or (plan.action == "corrigee_sur_demande" and plan.reference in corrected)
        line = f"{plan.reference}  {status_label(plan.outcome)}  {ACTIONS[plan.action]}"
        shown = "\n" + _motivation_lines(plan.motivation) if plan.action in MOTIVATION_SHOWN else ""
        if mode == "send" and wanted:
            try:
                _send(plan.reference, plan.motivation, who(by), corrected=plan.action != "envoyer")
            except (answers.AnswerError, StatusError, RecordError) as error:
                click.echo(f"{line} : refusée ({error})", err=True)
                continue
            line += " : mise en file d'envoi"
            count += 1
        click.echo(line + shown)
    if mode == "send":
        click.echo(f"{count} lettre(s) mise(s) en file d'envoi (le collecteur les envoie, ou « send-mail »).")
