"""The records an export reads, each read whole before its row is written.

The index gives an export its entries (a summary of each record); each row needs the whole
record, read from the store while the file is being written. A record that cannot be READ
there (a file made unreadable since the index saw it, chmod 000, a disk error) must not come
out as « impossible d'écrire » the export, nor as a row of blanks: the export stops, names the
record's file and why (output_files.unreadable), and nothing is written. A record whose file
reads but does not parse keeps today's way: the row from the index's summary, the problem
listed by `check`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..dossier import latest_record
from ..output_files import NOTHING_WRITTEN, unreadable
from ..records import RecordError
from .catalog import Entry


def read_whole(entries: Iterable[Entry], outcome: str = NOTHING_WRITTEN) -> Iterator[Entry]:
    """Each entry with its whole record (and its answer's date) read; output_files.OutputError
    (« impossible de lire … », then `outcome`) at the first record the system refuses to read."""
    for entry in entries:
        try:
            if entry.summary_only:
                try:
                    entry.record = latest_record(entry.store, entry.reference)
                except RecordError as error:
                    refused = _os_error_under(error)
                    if refused is not None:
                        raise refused from error
                    entry.problems = [*entry.problems, str(error)]
                entry.summary_only = False
            entry.answered_at  # noqa: B018 - read now, where a refusal is told as one
        except OSError as error:
            raise unreadable(str(error.filename or entry.path), error, outcome) from None
        yield entry


def _os_error_under(error: BaseException) -> OSError | None:
    """The system's refusal a RecordError wraps, if any (a file that would not open, not one that does not parse)."""
    cause = error.__cause__ or error.__context__
    while cause is not None:
        if isinstance(cause, OSError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None
