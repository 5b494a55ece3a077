"""The answer letters of July (« retour aux répondants »), one Markdown file per outcome.

Editors write them in `content/reponses/<outcome>.md`: a first line `Objet: …` (the
e-mail's subject), a blank line, then the letter in Markdown. Placeholders in braces are
filled for each dossier: {reference}, {structure}, {projet}, {motivation} (the reviewer's,
required) and {contacts}. Any other name in braces stops the site's build and the
collector with a French message naming the file (braces are for placeholders only).

Flask-free: pelicanconf.py checks the letters at build time, the collector at start.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .formdef import REPO_ROOT

DEFAULT_LETTERS_DIR = os.path.join(REPO_ROOT, "content", "reponses")
# The outcome statuses (statuses.OUTCOMES) and their letter's file.
LETTER_FILES = {
    "accompagnement_propose": "accompagnement-propose.md",
    "oriente_fil_de_l_eau": "oriente-fil-de-l-eau.md",
    "oriente_appel_a_projets": "oriente-appel-a-projets.md",
    "oriente_feder": "oriente-feder.md",
    "sans_suite": "sans-suite.md",
}
PLACEHOLDERS = ("reference", "structure", "projet", "motivation", "contacts")
_PLACEHOLDER = re.compile(r"\{([^{}\n]*)\}")
_SUBJECT = re.compile(r"Objet:[ \t]*(\S.*)")


class LetterError(ValueError):
    """A letter that cannot be used; the message is French and names the file."""


@dataclass(frozen=True)
class Letter:
    outcome: str
    path: str
    subject: str
    body: str  # Markdown with placeholders


@dataclass(frozen=True)
class FilledLetter:
    subject: str
    text: str  # Markdown, as filled (what a porteur or a reviewer typed left as typed)
    html: str  # the same rendered, what they typed escaped: the dossier page, and the e-mail's two parts
    # (mail/lifecycle.compose_answer: text/html, and text/plain through letter_text.plain_text)


def _check_placeholders(text: str, name: str) -> None:
    for found in _PLACEHOLDER.findall(text):
        if found not in PLACEHOLDERS:
            known = ", ".join("{" + item + "}" for item in PLACEHOLDERS)
            raise LetterError(f"{name} : espace réservé inconnu « {{{found}}} ». Ceux qui existent : {known}. "
                              "Les accolades ne servent qu'aux espaces réservés.")


def read_letter(outcome: str, path: str) -> Letter:
    name = os.path.relpath(path, REPO_ROOT) if path.startswith(REPO_ROOT) else path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise LetterError(f"{name} : lettre de réponse absente ; écrivez-la (une par décision).") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LetterError(f"{name} : illisible ({error}).") from None
    first, _blank, body = text.partition("\n")
    subject = _SUBJECT.fullmatch(first.strip())
    if subject is None:
        raise LetterError(f"{name} : la première ligne doit donner l'objet de l'e-mail (« Objet: … »).")
    if not body.strip():
        raise LetterError(f"{name} : la lettre est vide.")
    _check_placeholders(first, name)
    _check_placeholders(body, name)
    if "{motivation}" not in body:
        raise LetterError(f"{name} : la lettre doit contenir {{motivation}}, la motivation de la décision.")
    return Letter(outcome, path, subject.group(1).strip(), body.strip() + "\n")


def load_letters(folder: str | None = None) -> dict[str, Letter]:
    """Every outcome's letter; LetterError (French, naming the file) for the first problem."""
    folder = folder or DEFAULT_LETTERS_DIR
    return {outcome: read_letter(outcome, os.path.join(folder, file)) for outcome, file in LETTER_FILES.items()}


def contacts_text(facts: Mapping[str, Any]) -> str:
    contacts = facts["contacts"]
    lines = [f"Vos contacts à la {facts['call']['organisation']} ({contacts['direction']}) :", ""]
    lines += [f"- {person['name']} : {person['phone']}, {person['email']}" for person in contacts["people"]]
    return "\n".join(lines)


def _escape(text: str) -> str:
    """A porteur's or a reviewer's text, as Markdown shows it literally (no markup, no HTML)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"([\\`*_\[\]#+!|~])", r"\\\1", text)
    # what starts a line: « 2021. » an ordered list (renumbered from 1), « - » a list item or a rule,
    # « === » / « --- » under a line a heading: written so that Markdown shows them as they are
    text = re.sub(r"(?m)^(\s*\d+)\.", r"\1\\.", text)
    return re.sub(r"(?m)^(\s*)([-=])",
                  lambda match: match.group(1) + ("\\-" if match.group(2) == "-" else "&#61;"), text)


def _shift_headings(html: str) -> str:
    """Headings one level down: the dossier page puts the letter under its own h2."""
    return re.sub(r"<(/?)h([1-5])\b", lambda match: f"<{match.group(1)}h{int(match.group(2)) + 1}", html)


def letter_headings(html: str) -> str:
    """A letter's HTML as kept (headings shifted for the dossier page) with the letter's own heading
    levels again: the e-mail's HTML part is a document of its own."""
    return re.sub(r"<(/?)h([2-6])\b", lambda match: f"<{match.group(1)}h{int(match.group(2)) - 1}", html)


def fill(letter: Letter, record: Mapping[str, Any], motivation: str, facts: Mapping[str, Any]) -> FilledLetter:
    """The letter for one dossier (its newest answers) and the reviewer's motivation: its Markdown, and
    its HTML (answers and motivation escaped), from which the e-mail's text and HTML parts are made."""
    import markdown  # here: only letters need it, and every command would pay for its import

    answers = record["answers"]
    raw = {"reference": str(record["reference"]), "structure": str(answers.get("raison_sociale") or ""),
           "projet": str(answers.get("projet_titre") or ""), "motivation": motivation.strip(),
           "contacts": contacts_text(facts)}
    safe = {**{key: _escape(value) for key, value in raw.items()}, "contacts": raw["contacts"],
            "motivation": _escape(raw["motivation"]).replace("\n", "  \n")}
    text = _PLACEHOLDER.sub(lambda match: raw[match.group(1)], letter.body)
    marked = _PLACEHOLDER.sub(lambda match: safe[match.group(1)], letter.body)
    subject = " ".join(_PLACEHOLDER.sub(lambda match: raw[match.group(1)], letter.subject).split())
    return FilledLetter(subject, text, _shift_headings(markdown.markdown(marked, output_format="html")))
