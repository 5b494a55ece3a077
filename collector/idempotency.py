"""One submission id, one record: a double click, a refresh or the back button resends
the same id, and gets the confirmation of the record it already made.

`$DATA/ids/<submission id>` is a symbolic link whose target is the reference the id was
given. Creating a symlink is atomic and exclusive (it fails if the name exists), so when
two posts with the same id race, exactly one mapping wins and both answer with its
reference; a reader never sees a half-written mapping. The link is made just before the
record is written, and the record's own durable write (fsync of the file and of its
folder) commits the filesystem journal that holds the link too (ext4, xfs), so no extra
fsync is paid per submission.
"""

from __future__ import annotations

import os
import re

IDS_DIR = "ids"
_REFERENCE = re.compile(r"[A-Z0-9-]{1,40}")


def _path(data_dir: str, submission_id: str) -> str:
    return os.path.join(data_dir, IDS_DIR, submission_id)


def lookup(data_dir: str, submission_id: str) -> str | None:
    """The reference already given to this submission id, if any."""
    try:
        target = os.readlink(_path(data_dir, submission_id))
    except (FileNotFoundError, OSError):
        return None
    return target if _REFERENCE.fullmatch(target) else None


def claim(data_dir: str, submission_id: str, reference: str) -> str:
    """Give `reference` to the id, unless it already has one; return the one that holds."""
    path = _path(data_dir, submission_id)
    try:
        os.symlink(reference, path)
        return reference
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return claim(data_dir, submission_id, reference)
    except FileExistsError:
        existing = lookup(data_dir, submission_id)
        if existing is None:
            raise
        return existing
