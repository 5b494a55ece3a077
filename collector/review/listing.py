"""What the review list asks for, read from the query string: filters, search, sort, page.

The same query string follows a reviewer from the list to a dossier and back, so that
« précédente / suivante » on a dossier walk the list the reviewer was looking at.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..template_filters import thousands
from .index import Selection

PAGE_SIZE = 50
FILTERS = ("statut", "thematique", "departement", "type", "signalement", "q", "tri")
# tri=<value>: (label, Selection.sort, descending)
SORTS: dict[str, tuple[str, str, bool]] = {
    "date": ("Date de réception, les plus anciennes d'abord", "date", False),
    "date-recente": ("Date de réception, les plus récentes d'abord", "date", True),
    "structure": ("Structure, de A à Z", "structure", False),
    "departement": ("Département", "departement", False),
    "statut": ("Statut, dans l'ordre de l'instruction", "statut", False),
}
MAX_SEARCH_LENGTH = 200


def chosen_from(args: Mapping[str, str]) -> dict[str, str]:
    """The list's parameters as given (blank when absent; an unknown sort falls back to date)."""
    chosen = {key: str(args.get(key, "")).strip()[:MAX_SEARCH_LENGTH] for key in FILTERS}
    if chosen["tri"] not in SORTS:
        chosen["tri"] = ""
    return chosen


def selection_of(chosen: Mapping[str, str]) -> Selection:
    _label, sort, descending = SORTS[chosen.get("tri") or "date"]
    return Selection(status=chosen.get("statut") or None, thematique=chosen.get("thematique") or None,
                     departement=chosen.get("departement") or None, type_structure=chosen.get("type") or None,
                     flag=chosen.get("signalement") or None, search=chosen.get("q", ""), sort=sort,
                     descending=descending)


def query_of(chosen: Mapping[str, str]) -> dict[str, str]:
    """The non-blank parameters, to carry in links."""
    return {key: value for key, value in chosen.items() if value}


@dataclass(frozen=True)
class Page:
    number: int
    count: int
    total: int

    @property
    def first(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.number * PAGE_SIZE, self.total)

    @property
    def offset(self) -> int:
        return (self.number - 1) * PAGE_SIZE

    @property
    def range_text(self) -> str:
        """« 1–50 sur 1 234 »."""
        return f"{thousands(self.first)}–{thousands(self.last)} sur {thousands(self.total)}"


def page_of(requested: str | None, total: int) -> Page:
    """The page asked for, kept within the pages there are."""
    count = max(1, math.ceil(total / PAGE_SIZE))
    try:
        number = min(max(1, int(requested or "1")), count)
    except ValueError:
        number = 1
    return Page(number, count, total)


def page_holding(position: int) -> int:
    """The list page on which the dossier at `position` (from 1) appears."""
    return max(1, (position - 1) // PAGE_SIZE + 1)
