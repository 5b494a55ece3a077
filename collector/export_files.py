"""Export files: which writer makes each format, and a file name that says what was exported.

`candidatures-calvados-en-instruction-20210615.xlsx`: « candidatures », then each filter
in use (département, thématique, type, statut, signalement, searched words) as readable
words, then the day of the export.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from .departements import NAMES as DEPARTEMENTS
from .exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, flag_label, write_csv, write_xlsx
from .statuses import status_label

Writer = Callable[[Any, Any, IO[bytes]], int]
ODS_MEDIA_TYPE = "application/vnd.oasis.opendocument.spreadsheet"


def write_ods(form: Any, entries: Any, out: IO[bytes]) -> int:
    """exports_ods.write_ods, imported on first use (odfpy takes a tenth of a second to import)."""
    from .exports_ods import write_ods as write

    return write(form, entries, out)


@dataclass(frozen=True)
class ExportFormat:
    writer: Writer
    media_type: str
    description: str


FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat(write_csv, CSV_MEDIA_TYPE, "tableur CSV"),
    "xlsx": ExportFormat(write_xlsx, XLSX_MEDIA_TYPE, "classeur Excel (XLSX)"),
    "ods": ExportFormat(write_ods, ODS_MEDIA_TYPE, "classeur OpenDocument (ODS)"),
}
MAX_NAME_WORDS = 60


def slug(text: str) -> str:
    """`Orienté : FEDER` → `oriente-feder`."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return re.sub(r"[^a-z0-9]+", "-", bare).strip("-")


def export_name(fmt: str, day: date, form: Any, *, departement: str | None = None, thematique: str | None = None,
                type_structure: str | None = None, status: str | None = None, flag: str | None = None,
                search: str = "") -> str:
    """The download's file name, from the filters in use (codes) and the day."""
    parts = ["candidatures"]
    if departement:
        parts.append(DEPARTEMENTS.get(departement, departement))
    if thematique:
        parts.append(form.choice_label("thematiques", thematique))
    if type_structure:
        parts.append(form.choice_label("type_structure", type_structure))
    if status:
        parts.append(status_label(status))
    if flag:
        parts.append(flag_label(flag))
    if search.strip():
        parts.append("recherche " + search)
    stem = "-".join(filter(None, (slug(part) for part in parts)))[:MAX_NAME_WORDS * 4].strip("-")
    return f"{stem}-{day:%Y%m%d}.{fmt}"
