"""Files the commands write where a reviewer asks (`export --output`, `stats --graphiques`, `dump`).

An export holds names, e-mail addresses and phone numbers, and a path is typed by hand, so:

- a path inside the data folder (symlinks resolved) is refused: an export never replaces a record;
- an existing file is never replaced unless the reviewer says so (`--remplacer`);
- the file is written durably (collector/durable.py's way, in the destination folder itself so
  that publishing it is a link on the same filesystem): a hidden temporary file created 0600
  (only the data folder's owner reads it, whatever the umask), fsynced, published with
  `os.link` (refuses an existing name) or `os.replace` (`--remplacer`), then the folder is
  fsynced. A reader never sees half a file; on any error the temporary file is removed;
- every OSError becomes an `OutputError`: one French line naming the path, nothing written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import uuid
from collections.abc import Iterator, Mapping
from typing import IO

from .durable import fsync_dir

FILE_MODE = 0o600
NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}
WHY = {
    errno.ENOENT: "le dossier qui doit le recevoir n'existe pas (ou n'en accepte pas) : créez-le d'abord, ou "
                  "choisissez un autre chemin",
    errno.ENOTDIR: "une partie du chemin n'est pas un dossier",
    errno.EACCES: "vous n'avez pas le droit d'écrire à cet endroit",
    errno.EPERM: "vous n'avez pas le droit d'écrire à cet endroit",
    errno.EROFS: "ce disque est en lecture seule",
    errno.ENOSPC: "le disque est plein",
    errno.EDQUOT: "votre quota de disque est atteint",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.EEXIST: "ce fichier existe déjà",
    errno.ENAMETOOLONG: "le nom est trop long",
    errno.EIO: "erreur d'entrée-sortie du disque",
}


class OutputError(Exception):
    """A file that cannot be written where it was asked; the message is French and names the path."""


NOTHING_WRITTEN = "Rien n'a été écrit."


def _failure(path: str, error: OSError, outcome: str = NOTHING_WRITTEN) -> OutputError:
    why = WHY.get(error.errno or 0, f"erreur du système {errno.errorcode.get(error.errno or 0, error.errno)}")
    return OutputError(f"impossible d'écrire « {path} » : {why}. {outcome}")


@contextlib.contextmanager
def writing(path: str, outcome: str = NOTHING_WRITTEN) -> Iterator[None]:
    """Any OSError of the block as an `OutputError` naming `path`, then `outcome` (what is left)."""
    try:
        yield
    except OSError as error:
        raise _failure(path, error, outcome) from None


def refuse_inside(path: str, data_dir: str) -> None:
    """Refuse a destination inside the data folder, through any symlink."""
    real, data = os.path.realpath(path), os.path.realpath(data_dir)
    if os.path.commonpath([real, data]) == data:
        raise OutputError(f"« {path} » est dans le dossier des données ({data_dir}) : choisissez un chemin en "
                          "dehors (un export n'y écrase jamais un dossier de candidature). Rien n'a été écrit.")


def refuse_existing(path: str, replace: bool) -> None:
    """Refuse, before any work, a file that exists unless `replace` (`--remplacer`), and with it
    anything but a regular file (a link, a pipe, a device: `--remplacer` would replace the name)."""
    if not replace and os.path.lexists(path):
        raise OutputError(f"« {path} » existe déjà : choisissez un autre nom, ou ajoutez --remplacer pour le "
                          "remplacer. Rien n'a été écrit.")
    refuse_not_a_file(path)


def refuse_not_a_file(path: str) -> None:
    """Refuse a name that holds something other than a regular file (never followed: lstat)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise _failure(path, error) from None
    if not stat.S_ISREG(mode):
        raise OutputError(f"« {path} » n'est pas un fichier ordinaire (lien symbolique, tube, périphérique ou "
                          "dossier) : --remplacer ne remplace qu'un fichier. Choisissez un autre nom. "
                          "Rien n'a été écrit.")


def _publish(tmp_path: str, path: str, replace: bool) -> None:
    if replace:
        refuse_not_a_file(path)  # again, just before: the name may have changed during the export
        os.replace(tmp_path, path)
        return
    try:
        os.link(tmp_path, path)  # fails if the name exists: never overwrites
    except OSError as error:
        if error.errno not in NO_HARD_LINKS:
            raise
        # A filesystem without hard links (a USB key's FAT): claim the name first, then
        # replace only that empty file of ours. Still never anyone else's file.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        try:
            os.replace(tmp_path, path)
        except BaseException:
            _remove(path)
            raise
        return
    os.unlink(tmp_path)


@contextlib.contextmanager
def new_file(path: str, *, replace: bool = False) -> Iterator[IO[bytes]]:
    """A binary handle whose content becomes `path` once the block ends without error."""
    refuse_existing(path, replace)
    folder = os.path.dirname(os.path.abspath(path))
    tmp_path = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    with writing(path):
        fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _publish(tmp_path, path, replace)
        fsync_dir(folder)
    except OSError as error:
        _remove(tmp_path)
        raise _failure(path, error) from None
    except BaseException:
        _remove(tmp_path)
        raise


def write_files(folder: str, files: Mapping[str, bytes], *, replace: bool = False) -> None:
    """Write each `name: data` into `folder` (created if needed): all of them or, on an error, none
    of those this call created."""
    with writing(folder):
        os.makedirs(folder, exist_ok=True)
    paths = {name: os.path.join(folder, name) for name in files}
    for path in paths.values():
        refuse_existing(path, replace)
    created: list[str] = []
    try:
        for name, data in files.items():
            existed = os.path.lexists(paths[name])
            with new_file(paths[name], replace=replace) as handle:
                handle.write(data)
            if not existed:
                created.append(paths[name])
    except BaseException:
        for path in created:
            _remove(path)
        raise


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
