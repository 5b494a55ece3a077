"""What changed in a dossier's contact between its last two versions, for the reviewer who
considers revoking its link (link_revocation.py): a contact moved by a correction is the usual
reason, and the detail page shows only the newest answers.

The contact is the form's « contact » group (content/data/form.yaml); each answer is read as
the detail page reads it (readable.answer_text). Version 1 is dated by its receipt, the next
ones by their correction (or by the revocation that set the contact: `contact_set_by`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..dossier import CONTACT_SET_BY, version_numbers, version_record
from ..readable import answer_text
from ..records import RecordError
from ..stores import Store

CONTACT_GROUP = "contact"


@dataclass(frozen=True)
class Version:
    number: int
    at: str  # ISO moment: received (version 1), else corrected
    set_by: str  # the reviewer who set the contact while revoking the link; "" for the porteur's versions


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ContactChanges:
    """The last two versions and the contact answers that differ between them (none: same contact)."""
    before: Version
    after: Version
    changes: list[Change]


def _version(record: dict[str, Any], number: int) -> Version:
    moment = record.get("received_at", "") if number == 1 else record.get("corrected_at", "")
    return Version(number, str(moment or ""), str(record.get(CONTACT_SET_BY) or ""))


def last_contact_changes(store: Store, reference: str, form: Any) -> ContactChanges | None:
    """The contact's differences between the dossier's last two versions; None when it has one
    version only. RecordError when a version cannot be read."""
    numbers = [1] + version_numbers(store, reference)
    if len(numbers) < 2:
        return None
    older, newer = numbers[-2:]
    before, after = version_record(store, reference, older), version_record(store, reference, newer)
    fields = [field for group in form.groups if group.id == CONTACT_GROUP for field in group.fields]
    changes = []
    for field in fields:
        was = answer_text(form, field, before.get("answers", {}).get(field.name))
        now = answer_text(form, field, after.get("answers", {}).get(field.name))
        if was != now:
            changes.append(Change(field.label, was, now))
    return ContactChanges(_version(before, older), _version(after, newer), changes)


def contact_changes_or_error(store: Store, reference: str, form: Any) -> tuple[ContactChanges | None, str]:
    """last_contact_changes for the detail page, with a French message instead of RecordError."""
    try:
        return last_contact_changes(store, reference, form), ""
    except RecordError:
        return None, "Une version du dossier est illisible : lancez « check » pour voir ce qui a changé."
