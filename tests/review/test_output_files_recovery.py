"""What `collector.output_files` promises when things go wrong: an earlier file replaced with
`--remplacer` is never lost (a disk error or Ctrl-C at the last rename, a filesystem without hard
links, a command killed), a path goes where the kernel resolves it, a folder refused leaves nothing
created, and cleaning up after a published file never fails the command. Faults are injected on
the system calls (os.replace, os.link, os.unlink); the module's own code runs as it is."""

from __future__ import annotations

import errno
import os
import time
import uuid

import pytest

from collector import output_files
from collector.output_files import OutputError, new_file, remove_stale_temporaries, write_files

OLD = b"ancien export, seul exemplaire"


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def exports(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


@pytest.fixture(params=["unnamed", "named"])
def temporaries(request, monkeypatch):
    """Both ways of writing: an unnamed file (O_TMPFILE) and a hidden named temporary (where refused)."""
    if request.param == "named":
        monkeypatch.setattr(output_files, "O_TMPFILE", 0)
    return request.param


def without_hard_links(monkeypatch):
    """A filesystem refusing hard links (FAT; ext4 with fs.protected_hardlinks on a file one does not own)."""
    def refused(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", refused)


def replace_fails_for_new_content(monkeypatch, folder, failure: BaseException, content: bytes = b"NOUVEAU"):
    """os.replace fails (or is interrupted) when it would put the NEW content under its name."""
    real = os.replace

    def replace(source, target, **kwargs):
        if not target.startswith(".") and (folder / source).read_bytes() == content:
            raise failure
        return real(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def write_export(target, data, content: bytes = b"NOUVEAU", replace: bool = True) -> None:
    with new_file(str(target), data_dir=str(data), replace=replace) as handle:
        handle.write(content)


@pytest.mark.parametrize("failure", [OSError(errno.EIO, "Input/output error"), KeyboardInterrupt()],
                         ids=["disk-error", "ctrl-c"])
def test_remplacer_without_hard_links_keeps_the_old_file_when_the_last_rename_fails(
        data, exports, temporaries, monkeypatch, failure):
    target = exports / "export.csv"
    target.write_bytes(OLD)
    without_hard_links(monkeypatch)
    replace_fails_for_new_content(monkeypatch, exports, failure)
    with pytest.raises(OutputError if isinstance(failure, OSError) else KeyboardInterrupt) as raised:
        write_export(target, data)
    if isinstance(failure, OSError):
        assert str(raised.value).endswith("erreur d'entrée-sortie du disque. Rien n'a été écrit.")
    assert target.read_bytes() == OLD
    assert os.listdir(exports) == ["export.csv"]


def test_charts_replaced_without_hard_links_are_all_put_back_when_one_fails(data, exports, temporaries, monkeypatch):
    for name in ("a.svg", "b.svg"):
        (exports / name).write_bytes(b"ancien " + name.encode())
    without_hard_links(monkeypatch)
    replace_fails_for_new_content(monkeypatch, exports, OSError(errno.EIO, "Input/output error"), b"nouveau b")
    with pytest.raises(OutputError, match="Rien n'a été écrit"):
        write_files(str(exports), {"a.svg": b"nouveau a", "b.svg": b"nouveau b"}, data_dir=str(data), replace=True)
    assert {name: (exports / name).read_bytes() for name in os.listdir(exports)} == \
        {"a.svg": b"ancien a.svg", "b.svg": b"ancien b.svg"}


def test_an_old_file_that_cannot_be_put_back_stays_kept_aside_and_the_error_says_where(data, exports, monkeypatch):
    """Two disk errors in a row (the replace, then the rename back): the old file is never removed;
    the message names its hidden name and how to rename it back."""
    target = exports / "export.csv"
    target.write_bytes(OLD)
    without_hard_links(monkeypatch)
    replace_fails_for_new_content(monkeypatch, exports, OSError(errno.EIO, "Input/output error"))
    real_rename = os.rename

    def rename(source, target_name, **kwargs):
        if target_name == "export.csv":
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(source, target_name, **kwargs)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OutputError) as raised:
        write_export(target, data)
    [kept] = os.listdir(exports)
    assert kept.startswith(".export.csv.") and kept.endswith(".ancien")
    assert (exports / kept).read_bytes() == OLD
    message = str(raised.value)
    assert "Rien n'a été écrit" not in message
    assert f"l'ancien n'a pas pu être remis à sa place : il est gardé sous « {exports / kept} », renommez-le en " \
           f"« {target} » (mv) pour le retrouver." in message


def test_a_file_kept_aside_by_a_killed_remplacer_is_never_removed_by_a_later_export(data, exports, temporaries):
    """A `--remplacer` killed between its two renames (no hard links) leaves the only copy of the old file
    under its kept-aside name, with the old file's dates: later exports into that folder leave it."""
    aside = exports / f".export.csv.4242.{uuid.uuid4().hex}.ancien"
    aside.write_bytes(OLD)
    a_day_ago = time.time() - 86400
    os.utime(aside, (a_day_ago, a_day_ago))
    write_export(exports / "autre.csv", data, replace=False)
    fd = os.open(exports, os.O_RDONLY | os.O_DIRECTORY)
    try:
        remove_stale_temporaries(fd, now=time.time() + 86400)
    finally:
        os.close(fd)
    assert aside.read_bytes() == OLD


def test_a_temporary_is_stale_by_the_age_of_its_inode_change_not_of_its_content(exports):
    """A hidden temporary keeps the dates a rename or a copy gave it: its st_mtime may be old while its
    command still runs. Only st_ctime (set by the kernel at each rename or link) says how old it is."""
    temporary = exports / f".export.csv.4242.{uuid.uuid4().hex}.tmp"
    temporary.write_bytes(b"en cours")
    two_hours_ago = time.time() - 7200
    os.utime(temporary, (two_hours_ago, two_hours_ago))
    fd = os.open(exports, os.O_RDONLY | os.O_DIRECTORY)
    try:
        remove_stale_temporaries(fd)
        assert temporary.exists(), "an hour-old mtime but a fresh inode: maybe a command still running"
        remove_stale_temporaries(fd, now=time.time() + 7200)
        assert not temporary.exists()
    finally:
        os.close(fd)


def test_a_hidden_file_that_only_looks_like_a_temporary_is_never_removed(exports):
    """Our temporaries end with a uuid4's hex (its version and variant digits fixed): anything else stays."""
    lookalike = exports / f".notes.1.{'a' * 32}.tmp"
    lookalike.write_bytes(b"notes de l'instructeur")
    fd = os.open(exports, os.O_RDONLY | os.O_DIRECTORY)
    try:
        remove_stale_temporaries(fd, now=time.time() + 86400)
    finally:
        os.close(fd)
    assert lookalike.read_bytes() == b"notes de l'instructeur"


@pytest.mark.parametrize("replace", [False, True], ids=["new", "remplacer"])
def test_a_path_through_a_link_then_dotdot_is_written_where_the_kernel_resolves_it(
        data, tmp_path, monkeypatch, replace):
    """`lien/../e.csv` with `lien` → `ailleurs/sous`: the kernel follows the link first, so the file is
    `ailleurs/e.csv`; `./e.csv` (beside the link) is never written nor replaced."""
    elsewhere = tmp_path / "ailleurs"
    (elsewhere / "sous").mkdir(parents=True)
    (tmp_path / "lien").symlink_to(elsewhere / "sous")
    (tmp_path / "e.csv").write_bytes(b"a ne pas toucher")
    if replace:
        (elsewhere / "e.csv").write_bytes(OLD)
    monkeypatch.chdir(tmp_path)
    write_export("lien/../e.csv", data, replace=replace)
    assert (elsewhere / "e.csv").read_bytes() == b"NOUVEAU"
    assert (tmp_path / "e.csv").read_bytes() == b"a ne pas toucher"


def test_an_existing_name_is_looked_up_where_the_kernel_resolves_the_path(data, tmp_path, monkeypatch):
    elsewhere = tmp_path / "ailleurs"
    (elsewhere / "sous").mkdir(parents=True)
    (tmp_path / "lien").symlink_to(elsewhere / "sous")
    (elsewhere / "e.csv").write_bytes(OLD)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match="« lien/../e.csv » existe déjà"):
        write_export("lien/../e.csv", data, replace=False)
    assert (elsewhere / "e.csv").read_bytes() == OLD and not (tmp_path / "e.csv").exists()


@pytest.mark.parametrize("ending", ["/", "/.", "/.."])
def test_a_path_that_names_no_file_is_refused_in_french(data, exports, ending):
    with pytest.raises(OutputError) as raised:
        write_export(str(exports / "absent") + ending, data, replace=True)
    assert "ne se termine pas par un nom de fichier : donnez le chemin complet du fichier" in str(raised.value)
    assert os.listdir(exports) == []


@pytest.mark.parametrize("ending", ["", "/"])
@pytest.mark.parametrize("replace", [False, True], ids=["new", "remplacer"])
def test_an_existing_folder_given_as_the_file_is_named_a_folder(data, exports, ending, replace):
    """Not « existe déjà … ajoutez --remplacer », which would then be refused too."""
    with pytest.raises(OutputError) as raised:
        write_export(str(exports) + ending, data, replace=replace)
    assert f"« {exports}{ending} » est un dossier : donnez un nom de fichier (par exemple " \
           f"« {os.path.join(str(exports) + ending, 'export.csv')} »). Rien n'a été écrit." == str(raised.value)


def test_charts_refused_inside_the_data_folder_leave_no_folder_created_there(data, tmp_path):
    """Through another name for the data folder (a bind mount; a link here, which the path check would
    catch but `write_files` must not rely on): refused before any folder is made."""
    (data / "sous").mkdir()
    (tmp_path / "alias").symlink_to(data)
    for folder in (tmp_path / "alias" / "sous" / "graphiques", tmp_path / "alias" / "submissions"):
        with pytest.raises(OutputError, match="est dans le dossier des données"):
            write_files(str(folder), {"a.svg": b"1"}, data_dir=str(data))
    assert sorted(os.listdir(data)) == ["sous"] and os.listdir(data / "sous") == []


def test_charts_into_missing_folders_create_them_all(data, exports):
    write_files(str(exports / "2021" / "juin"), {"a.svg": b"1"}, data_dir=str(data))
    assert (exports / "2021" / "juin" / "a.svg").read_bytes() == b"1"


def test_cleanup_failing_after_the_file_is_published_does_not_fail_the_export(data, exports, monkeypatch, caplog):
    """The file is published and the folder fsynced: an unlink of the hidden name that fails then
    (EIO) is logged, never raised (the stale temporary goes with a later run)."""
    monkeypatch.setattr(output_files, "O_TMPFILE", 0)
    real_unlink = os.unlink

    def unlink(name, **kwargs):
        if str(name).endswith(".tmp"):
            raise OSError(errno.EIO, "Input/output error")
        return real_unlink(name, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    write_export(exports / "export.csv", data, replace=False)
    assert (exports / "export.csv").read_bytes() == b"NOUVEAU"
    assert "export file cleanup: unlink failed (EIO)" in caplog.text and str(exports) not in caplog.text


@pytest.mark.parametrize("replace", [False, True], ids=["new", "remplacer"])
def test_without_proc_an_unnamed_file_is_published_through_a_named_copy(data, exports, monkeypatch, replace):
    """In a chroot without /proc, linking /proc/self/fd/N gives ENOENT: not « le dossier n'existe pas »."""
    real_link = os.link

    def link(source, target, **kwargs):
        if str(source).startswith("/proc/self/fd/"):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", source)
        return real_link(source, target, **kwargs)

    monkeypatch.setattr(os, "link", link)
    if replace:
        (exports / "export.csv").write_bytes(OLD)
    write_export(exports / "export.csv", data, replace=replace)
    assert (exports / "export.csv").read_bytes() == b"NOUVEAU"
    assert os.listdir(exports) == ["export.csv"]


@pytest.mark.parametrize("replace", [False, True], ids=["new", "remplacer"])
def test_a_folder_where_a_chart_goes_is_refused_as_not_a_file_never_with_remplacer_suggested(data, exports, replace):
    (exports / "a.svg").mkdir()
    with pytest.raises(OutputError) as raised:
        write_files(str(exports), {"a.svg": b"1"}, data_dir=str(data), replace=replace)
    assert f"« {exports / 'a.svg'} » n'est pas un fichier ordinaire" in str(raised.value)
    assert "ajoutez --remplacer" not in str(raised.value)
