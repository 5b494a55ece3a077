"""Answers and record facts as a person reads them: in the mails, the commands, the review
pages and the exports alike (one wording everywhere). Flask-free, like the records it reads."""

from __future__ import annotations

from typing import Any

from .display import shown

MULTI_SEPARATOR = " ; "


def answer_text(form: Any, field: Any, value: Any) -> str:
    """An answer as a reviewer reads it: choice labels, oui/non, lists joined; any other
    shape (a hand edit) as text, hidden characters made visible."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(answer_text(form, field, item) for item in value)
    if getattr(field, "choices", None) and isinstance(value, str):
        label = form.choice_label(field.name, value)
        if label != value:
            return str(label)
    return shown(str(value), multiline=getattr(field, "type", "") == "textarea")


def departement_code(record: dict[str, Any]) -> str:
    value = (record.get("derived") or {}).get("departement")
    if isinstance(value, dict):
        value = value.get("code")
    return str(value or "")


def departement_name(record: dict[str, Any]) -> str:
    value = (record.get("derived") or {}).get("departement")
    if isinstance(value, dict):
        return str(value.get("name") or value.get("nom") or value.get("code") or "")
    return str(value or "")
