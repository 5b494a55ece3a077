"""Files the commands write where a reviewer asks (`export --output`, `stats --graphiques`, `dump`).

An export holds names, e-mail addresses and phone numbers, and a path is typed by hand, so:

- a path inside the data folder (symlinks resolved) is refused: an export never replaces a record.
  `refuse_inside` says so early, by path; `new_file` and `write_files` then open the destination
  folder ONCE and check that open folder itself (its device and inode, and its parents' reached
  with `..` from it, against the data folder's): every later step names files relative to that
  descriptor (`dir_fd`), so a parent swapped for a symlink after the check leads nowhere else;
- an existing file is never replaced unless the reviewer says so (`--remplacer`);
- the file is written durably (collector/durable.py's way, in the destination folder itself so
  that publishing it is a link on the same filesystem): on Linux an unnamed file (O_TMPFILE, 0600:
  only the data folder's owner reads it, whatever the umask), fsynced, then given its name with
  linkat (refuses an existing name) or, with `--remplacer`, linked to a hidden name and renamed
  over the old file, then the folder is fsynced. A command killed while writing leaves nothing:
  an unnamed file vanishes with its process. Where O_TMPFILE is refused (another system, a
  filesystem without it, no /proc to link it from) a hidden named temporary
  (`.<name>.<pid>.<hex>.tmp`) stands in, removed on any error; one a killed command left behind is
  removed by the next run writing to that folder once its inode changed an hour ago (st_ctime: a
  rename does not reset st_mtime; younger ones may belong to a command still running);
- with `--remplacer`, the earlier file is first kept aside under `.<name>.<pid>.<hex>.ancien` (a
  second hard link; renamed where links are refused). That name is never removed automatically:
  it goes only once the new file is published, or once the old one is back under its name. If
  neither can be done (a second disk error, a command killed between the two renames), the error
  says where the old file is and how to rename it back;
- several files (`write_files`: the charts) are all written and fsynced before any is published,
  then published together: if publishing one fails, those already published are taken back (an
  earlier file, kept aside under a hidden name while the others are published, is put back);
- the destination is the folder the kernel reaches (`link/../e.csv` is `e.csv` beside the link's
  target, never beside the link), named by its last component; missing folders of `write_files`
  are created one by one under an existing ancestor checked first (never inside the data folder,
  even for an instant);
- every OSError becomes an `OutputError`: one French line naming the path, nothing written. Once
  the file is published, cleaning up (closing, removing a hidden name) never fails the command:
  the error's type is logged.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

FILE_MODE = 0o600
NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}
NO_UNNAMED_FILES = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL}  # open(2): O_TMPFILE refused
O_TMPFILE = getattr(os, "O_TMPFILE", 0)  # Linux only
FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
PATH_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_CLOEXEC  # a parent needs no read right
STALE_AFTER_SECONDS = 3600  # a hidden temporary this old belongs to no command still running
_UUID4_HEX = r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}"  # uuid.uuid4().hex: version and variant fixed
_HIDDEN = re.compile(rf"\..+\.[0-9]+\.{_UUID4_HEX}\.tmp")  # what `_hidden_name` makes (never an `.ancien`)
TEMPORARY, KEPT_ASIDE = "tmp", "ancien"
log = logging.getLogger(__name__)
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
    errno.ELOOP: "une partie du chemin est un lien symbolique qui a changé pendant l'écriture",
}
WHY_NOT_READ = {
    errno.EACCES: "vous n'avez pas le droit de le lire (vérifiez son propriétaire et ses droits, ls -l)",
    errno.EPERM: "vous n'avez pas le droit de le lire (vérifiez son propriétaire et ses droits, ls -l)",
    errno.ENOENT: "il a disparu pendant l'export (relancez l'export)",
    errno.EIO: "erreur d'entrée-sortie du disque",
    errno.EISDIR: "c'est un dossier, pas un fichier",
}


class OutputError(Exception):
    """A file that cannot be written where it was asked; the message is French and names the path."""


NOTHING_WRITTEN = "Rien n'a été écrit."


def _why(error: OSError, reasons: Mapping[int, str]) -> str:
    return reasons.get(error.errno or 0, f"erreur du système {errno.errorcode.get(error.errno or 0, error.errno)}")


def _failure(path: str, error: OSError, outcome: str = NOTHING_WRITTEN) -> OutputError:
    return OutputError(f"impossible d'écrire « {path} » : {_why(error, WHY)}. {outcome}")


def unreadable(path: str, error: OSError, outcome: str = NOTHING_WRITTEN) -> OutputError:
    """A file the command had to READ (a record) that could not be: named, with why, then `outcome`."""
    return OutputError(f"impossible de lire « {path} » : {_why(error, WHY_NOT_READ)}. {outcome}")


@contextlib.contextmanager
def writing(path: str, outcome: str = NOTHING_WRITTEN) -> Iterator[None]:
    """Any OSError of the block as an `OutputError` naming `path`, then `outcome` (what is left)."""
    try:
        yield
    except OSError as error:
        raise _failure(path, error, outcome) from None


def _inside_error(path: str, data_dir: str) -> OutputError:
    return OutputError(f"« {path} » est dans le dossier des données ({data_dir}) : choisissez un chemin en "
                       "dehors (un export n'y écrase jamais un dossier de candidature). Rien n'a été écrit.")


def refuse_inside(path: str, data_dir: str) -> None:
    """Refuse a destination inside the data folder, through any symlink (by path: see `open_folder`)."""
    real, data = os.path.realpath(path), os.path.realpath(data_dir)
    if os.path.commonpath([real, data]) == data:
        raise _inside_error(path, data_dir)


def open_folder(folder: str, data_dir: str, shown: str) -> int:
    """The destination folder, opened once (its path resolved, then never a symlink at its last
    step); OutputError naming `shown` when that open folder is the data folder or inside it."""
    with writing(shown):
        fd = os.open(os.path.realpath(folder), FOLDER_FLAGS | os.O_NOFOLLOW)
    try:
        with writing(shown):
            inside = _is_within(fd, data_dir)
        if inside:
            raise _inside_error(shown, data_dir)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_within(folder_fd: int, data_dir: str) -> bool:
    """Is the open folder the data folder or one of its subfolders? Climbs with `..` from the
    descriptor itself (never by path) up to the root, comparing device and inode."""
    try:
        data = os.stat(data_dir)
    except FileNotFoundError:
        return False  # no data folder: nothing to protect
    data_id = (data.st_dev, data.st_ino)
    current = os.open(".", PATH_FLAGS, dir_fd=folder_fd)
    try:
        while True:
            here = os.fstat(current)
            if (here.st_dev, here.st_ino) == data_id:
                return True
            parent = os.open("..", PATH_FLAGS, dir_fd=current)
            above = os.fstat(parent)
            os.close(current)
            current = parent
            if (above.st_dev, above.st_ino) == (here.st_dev, here.st_ino):
                return False  # the root is its own parent
    finally:
        os.close(current)


def refuse_existing(path: str, replace: bool, folder_fd: int, name: str, *, typed: bool = True) -> None:
    """Refuse, before any work, a name of the open folder that exists unless `replace`
    (`--remplacer`), and anything but a regular file whatever `replace` (a link, a pipe, a device:
    `--remplacer` would replace the name, so it is never suggested); a folder given as the file
    (`typed`: the reviewer chose the name) is named as such, with a file name to give instead."""
    mode = _mode_of(path, folder_fd, name)
    if mode is None:
        return
    if typed and stat.S_ISDIR(mode):
        raise _a_folder(path)
    refuse_not_a_file(path, folder_fd, name)
    if not replace:
        raise OutputError(f"« {path} » existe déjà : choisissez un autre nom, ou ajoutez --remplacer pour le "
                          "remplacer. Rien n'a été écrit.")


def refuse_not_a_file(path: str, folder_fd: int, name: str) -> None:
    """Refuse a name of the open folder that holds something other than a regular file (never followed)."""
    mode = _mode_of(path, folder_fd, name)
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"« {path} » n'est pas un fichier ordinaire (lien symbolique, tube, périphérique ou "
                          "dossier) : --remplacer ne remplace qu'un fichier. Choisissez un autre nom. "
                          "Rien n'a été écrit.")


def _mode_of(path: str, folder_fd: int, name: str) -> int | None:
    """The mode of `name` in the open folder (lstat), None when there is no such name."""
    try:
        return os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _failure(path, error) from None


def folder_and_name(path: str) -> tuple[str, str]:
    """The folder the kernel reaches for `path` (symlinks resolved BEFORE `..`, as open(2) does) and
    the file's name in it; a path that names no file (ending in `/`, `.` or `..`) is refused."""
    folder, name = os.path.split(path)
    if name in ("", ".", ".."):
        if os.path.isdir(path):
            raise _a_folder(path)
        raise OutputError(f"« {path} » ne se termine pas par un nom de fichier : donnez le chemin complet du "
                          "fichier à écrire (par exemple « exports/export.csv »). Rien n'a été écrit.")
    return os.path.realpath(folder or "."), name


def _a_folder(path: str) -> OutputError:
    example = os.path.join(path, "export.csv")
    return OutputError(f"« {path} » est un dossier : donnez un nom de fichier (par exemple « {example} »). "
                       "Rien n'a été écrit.")


def _hidden_name(name: str, kind: str = TEMPORARY) -> str:
    return f".{name}.{os.getpid()}.{uuid.uuid4().hex}.{kind}"


def remove_stale_temporaries(folder_fd: int, now: float | None = None) -> None:
    """Remove our hidden temporaries (`_hidden_name`, `.tmp` only) whose inode changed more than
    STALE_AFTER_SECONDS ago (st_ctime: unlike st_mtime, neither inherited nor settable by hand): a
    command killed while writing without O_TMPFILE left them. Only regular files of the same owner;
    a kept-aside earlier file (`.ancien`) is never touched; best effort."""
    limit = (time.time() if now is None else now) - STALE_AFTER_SECONDS
    with os.scandir(folder_fd) as entries:
        for entry in entries:
            if not _HIDDEN.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                found = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(found.st_mode) and found.st_uid == os.geteuid() and found.st_ctime < limit:
                    os.unlink(entry.name, dir_fd=folder_fd)


@dataclass
class _Temporary:
    """A file being written in the open folder `folder_fd`, to be published as `name`: unnamed
    (O_TMPFILE, `hidden` None) or a hidden named temporary."""
    folder_fd: int
    name: str
    fd: int
    hidden: str | None = None
    kept_aside: str | None = None  # the earlier file of that name (`.ancien`), until the outcome is known
    aside_renamed: bool = False  # kept aside by a rename (no hard links): its name is gone meanwhile
    published: bool = False
    committed: bool = False  # published and the folder fsynced: an earlier file kept aside is obsolete

    @classmethod
    def create(cls, folder_fd: int, name: str) -> _Temporary:
        if O_TMPFILE:
            try:
                # O_RDWR: read back where the filesystem refuses links (`_copy_to`)
                return cls(folder_fd, name, os.open(".", O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, FILE_MODE,
                                                    dir_fd=folder_fd))
            except OSError as error:
                if error.errno not in NO_UNNAMED_FILES:
                    raise
        hidden = _hidden_name(name)
        fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE, dir_fd=folder_fd)
        return cls(folder_fd, name, fd, hidden)

    def sync(self) -> None:
        os.fsync(self.fd)

    def publish(self, path: str, replace: bool) -> None:
        """Give the file its name: a new name only, or (`replace`) over an earlier regular file, kept aside
        (and, if the replacing fails or is interrupted, put back under its name at once)."""
        if replace:
            refuse_not_a_file(path, self.folder_fd, self.name)  # again, just before: the name may have changed
            staged = self._named()
            self._keep_aside()
            try:
                os.replace(staged, self.name, src_dir_fd=self.folder_fd, dst_dir_fd=self.folder_fd)
            except BaseException:  # an OSError, or Ctrl-C between the two renames
                self._put_aside_back()
                raise
            self.hidden, self.published = None, True
            return
        if self.hidden is None and self._link_unnamed(self.name):
            self.published = True
            return
        staged = self._named()
        try:
            os.link(staged, self.name, src_dir_fd=self.folder_fd, dst_dir_fd=self.folder_fd,
                    follow_symlinks=False)  # fails if the name exists: never overwrites
        except OSError as error:
            if error.errno not in NO_HARD_LINKS:
                raise
        else:
            self.published = True
            return  # the hidden name goes in `close`
        # A filesystem without hard links (a USB key's FAT): claim the name first, then
        # replace only that empty file of ours. Still never anyone else's file.
        os.close(os.open(self.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE,
                         dir_fd=self.folder_fd))
        try:
            os.replace(staged, self.name, src_dir_fd=self.folder_fd, dst_dir_fd=self.folder_fd)
        except BaseException:
            _unlink(self.folder_fd, self.name)
            raise
        self.hidden, self.published = None, True

    def _link_unnamed(self, target: str) -> bool:
        """Link the unnamed file as `target`; False where that cannot be done: hard links refused, or no
        /proc to name the file by (a chroot: ENOENT on /proc/self/fd/N)."""
        try:
            os.link(f"/proc/self/fd/{self.fd}", target, dst_dir_fd=self.folder_fd, follow_symlinks=True)
        except OSError as error:
            if error.errno not in NO_HARD_LINKS | {errno.ENOENT}:
                raise
            return False
        return True

    def _named(self) -> str:
        """A hidden name holding the content (the unnamed file linked there, or copied where it cannot be)."""
        if self.hidden is not None:
            return self.hidden
        hidden = _hidden_name(self.name)
        if not self._link_unnamed(hidden):
            self._copy_to(hidden)  # ENOENT here too if the folder itself is gone
        self.hidden = hidden
        return hidden

    def _copy_to(self, hidden: str) -> None:
        copy = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE, dir_fd=self.folder_fd)
        try:
            with open(self.fd, "rb", closefd=False) as source, open(copy, "wb", closefd=False) as target:
                source.seek(0)
                shutil.copyfileobj(source, target)
            os.fsync(copy)
        except BaseException:
            _unlink(self.folder_fd, hidden)
            raise
        finally:
            os.close(copy)

    def _keep_aside(self) -> None:
        """The earlier file of that name under `.<name>.<pid>.<hex>.ancien` too (a second link; renamed
        where links are refused, which `aside_renamed` records), so that it can be put back."""
        aside = _hidden_name(self.name, KEPT_ASIDE)
        try:
            os.link(self.name, aside, src_dir_fd=self.folder_fd, dst_dir_fd=self.folder_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno not in NO_HARD_LINKS:
                raise
            try:
                os.rename(self.name, aside, src_dir_fd=self.folder_fd, dst_dir_fd=self.folder_fd)
            except FileNotFoundError:
                return
            self.aside_renamed = True
        self.kept_aside = aside

    def _put_aside_back(self) -> None:
        """After a failed replace: a renamed earlier file back under its name (a linked one never left
        it). If that fails too, it stays kept aside: `lost_only_copy` says so, `close` keeps it."""
        if self.kept_aside is not None and self.aside_renamed:
            with contextlib.suppress(OSError):
                os.rename(self.kept_aside, self.name, src_dir_fd=self.folder_fd, dst_dir_fd=self.folder_fd)
                self.kept_aside, self.aside_renamed = None, False

    def take_back(self) -> None:
        """Undo `publish`: the earlier file back under its name, or the new name removed."""
        if not self.published:
            return
        if self.kept_aside is not None:
            os.replace(self.kept_aside, self.name, src_dir_fd=self.folder_fd, dst_dir_fd=self.folder_fd)
            self.kept_aside, self.aside_renamed = None, False
        else:
            _unlink(self.folder_fd, self.name)
        self.published = False

    @property
    def aside_is_only_copy(self) -> bool:
        """Is the earlier file now reachable by its kept-aside name only (neither replaced for good nor put back)?"""
        return self.kept_aside is not None and not self.committed and (self.aside_renamed or self.published)

    def close(self) -> None:
        """Close the file; remove the hidden temporary, and the earlier file kept aside unless it is its only
        copy (see `aside_is_only_copy`). Never raises: an error is logged (its type), the command's outcome
        is already decided (a `.tmp` left goes with a later run, see `remove_stale_temporaries`)."""
        _quietly("close", os.close, self.fd)
        for name in (self.hidden, None if self.aside_is_only_copy else self.kept_aside):
            if name is not None:
                _quietly("unlink", _unlink, self.folder_fd, name)


def _quietly(step: str, call: Callable[..., None], *args: Any) -> None:
    """`call(*args)`, an OSError logged by its type only (no path: it would name the export)."""
    try:
        call(*args)
    except OSError as error:
        log.warning("export file cleanup: %s failed (%s)", step, errno.errorcode.get(error.errno or 0, "?"))


def _publish_all(folder_fd: int, temporaries: list[_Temporary], paths: list[str], replace: bool) -> None:
    """Publish every file, then fsync the folder; on any error (or Ctrl-C), take back those already
    published. The OutputError says where an earlier file is when it could not be put back."""
    failing = paths[-1]
    try:
        for temporary, failing in zip(temporaries, paths):
            temporary.publish(failing, replace)
        failing = paths[-1]
        os.fsync(folder_fd)
    except BaseException as error:
        for temporary in reversed(temporaries):
            with contextlib.suppress(OSError):
                temporary.take_back()
        with contextlib.suppress(OSError):
            os.fsync(folder_fd)
        if isinstance(error, OSError):
            raise _failure(failing, error, _outcome(temporaries, paths)) from None
        raise
    for temporary in temporaries:
        temporary.committed = True


def _outcome(temporaries: list[_Temporary], paths: list[str]) -> str:
    """What is left after a failed publish: nothing, or where each earlier file kept aside now is."""
    kept = [(temporary.kept_aside, path) for temporary, path in zip(temporaries, paths) if temporary.aside_is_only_copy]
    if not kept:
        return NOTHING_WRITTEN
    return "Le nouveau fichier n'a pas été écrit, et l'ancien n'a pas pu être remis à sa place : " + " ; ".join(
        f"il est gardé sous « {os.path.join(os.path.dirname(path), aside)} », renommez-le en « {path} » "
        f"(mv) pour le retrouver" for aside, path in kept) + "."


@contextlib.contextmanager
def _destination(folder_fd: int, shown: str) -> Iterator[int]:
    """The open destination folder, cleared of stale temporaries; closed when the block ends."""
    try:
        with writing(shown):
            remove_stale_temporaries(folder_fd)
        yield folder_fd
    finally:
        os.close(folder_fd)


@contextlib.contextmanager
def new_file(path: str, *, data_dir: str, replace: bool = False) -> Iterator[IO[bytes]]:
    """A binary handle whose content becomes `path` once the block ends without error; never
    inside `data_dir`. An `OutputError` raised in the block (a record unreadable: `unreadable`)
    goes through as it is; nothing is written either way."""
    folder, name = folder_and_name(path)
    with _destination(open_folder(folder, data_dir, path), path) as folder_fd:
        refuse_existing(path, replace, folder_fd, name)
        with writing(path):
            temporary = _Temporary.create(folder_fd, name)
        try:
            with writing(path):
                with open(temporary.fd, "wb", closefd=False) as handle:
                    yield handle
                temporary.sync()
            _publish_all(folder_fd, [temporary], [path], replace)
        finally:
            temporary.close()


def write_files(folder: str, files: Mapping[str, bytes], *, data_dir: str, replace: bool = False) -> None:
    """Write each `name: data` into `folder` (created if needed, never inside `data_dir`): all of
    them or, on an error, none of them (an earlier file replaced is put back)."""
    paths = [os.path.join(folder, name) for name in files]
    with _destination(_open_or_create_folder(folder, data_dir), folder) as folder_fd:
        for name, path in zip(files, paths):
            refuse_existing(path, replace, folder_fd, name, typed=False)  # a chart's name is ours
        temporaries: list[_Temporary] = []
        try:
            for (name, data), path in zip(files.items(), paths):
                with writing(path):
                    temporaries.append(_Temporary.create(folder_fd, name))
                    _write_all(temporaries[-1].fd, data)
                    temporaries[-1].sync()
            _publish_all(folder_fd, temporaries, paths, replace)
        finally:
            for temporary in temporaries:
                temporary.close()


def _open_or_create_folder(folder: str, data_dir: str) -> int:
    """`folder` opened (see `open_folder`), its missing folders created first, each one inside the
    previous one's descriptor once the nearest existing ancestor passed the check: a folder refused
    leaves nothing created (not even through a bind mount the path check cannot see)."""
    ancestor, missing = os.path.realpath(folder), []
    while not os.path.lexists(ancestor):
        ancestor, name = os.path.split(ancestor)
        missing.insert(0, name)
    fd = open_folder(ancestor, data_dir, folder)
    try:
        with writing(folder):
            for name in missing:
                with contextlib.suppress(FileExistsError):  # created meanwhile: opened below, never followed
                    os.mkdir(name, dir_fd=fd)
                inner = os.open(name, FOLDER_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _unlink(folder_fd: int, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=folder_fd)
