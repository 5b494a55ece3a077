"""One submission id, one record: a double click, a refresh or the back button resends
the same id, and gets the confirmation of the record it already made.

`$DATA/ids/<submission id>` holds the reference the id was given. It is published with
an exclusive link (durable.write_new_file), so when two posts with the same id race,
exactly one mapping wins and both posts answer with its reference.
"""

from __future__ import annotations

import os

from .durable import write_new_file

IDS_DIR = "ids"


def lookup(data_dir: str, submission_id: str) -> str | None:
    """The reference already given to this submission id, if any."""
    try:
        with open(os.path.join(data_dir, IDS_DIR, submission_id), encoding="ascii") as handle:
            return handle.read().strip() or None
    except FileNotFoundError:
        return None


def claim(data_dir: str, submission_id: str, reference: str) -> str:
    """Give `reference` to the id, unless it already has one; return the one that holds."""
    try:
        write_new_file(os.path.join(data_dir, IDS_DIR), submission_id, reference.encode("ascii") + b"\n")
        return reference
    except FileExistsError:
        existing = lookup(data_dir, submission_id)
        if existing is None:
            raise
        return existing
