"""Where the commands write the files a reviewer asks for (`export --output`, `stats --graphiques`,
`dump`): never inside the data folder, never over an existing file without `--remplacer`, readable
by the data folder's owner only, durably, and a French line naming the path when it cannot be done."""

from __future__ import annotations

import errno
import os
import stat
import uuid

import pytest

from collector.records import record_path

CHARTS = {"arrivees.svg", "departements.svg", "thematiques.svg", "types.svg", "statuts.svg"}


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def said(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_export_refuses_to_write_over_a_record_and_leaves_it_intact(runner, records, data_dir, tmp_path):
    record = record_path(data_dir, "AMI-2021-0001")
    before = open(record, "rb").read()
    through_a_link = tmp_path / "lien"
    through_a_link.symlink_to(os.path.dirname(record))
    for target in (record, str(through_a_link / "AMI-2021-0001.yaml"), os.path.join(data_dir, "export.csv")):
        for extra in ([], ["--remplacer"]):
            result = runner.invoke(args=["export", "--output", target, *extra])
            assert result.exit_code == 1, result.output
            assert f"« {target} » est dans le dossier des données ({data_dir}) : choisissez un chemin en dehors" \
                in said(result)
            assert "Traceback" not in result.output and "exportée" not in result.output
    assert open(record, "rb").read() == before
    assert not os.path.exists(os.path.join(data_dir, "export.csv"))


def test_export_replaces_an_existing_file_only_with_remplacer(runner, records, tmp_path):
    target = tmp_path / "export.csv"
    target.write_text("ancien contenu\n", encoding="utf-8")
    refused = runner.invoke(args=["export", "--output", str(target)])
    assert refused.exit_code == 1
    assert f"« {target} » existe déjà : choisissez un autre nom, ou ajoutez --remplacer pour le remplacer. " \
           "Rien n'a été écrit." in said(refused)
    assert target.read_text(encoding="utf-8") == "ancien contenu\n"
    replaced = runner.invoke(args=["export", "--output", str(target), "--remplacer"])
    assert replaced.exit_code == 0, replaced.output
    assert "12 candidature(s) exportée(s)" in replaced.stderr
    assert "AMI-2021-0012" in target.read_text(encoding="utf-8-sig")


def test_remplacer_replaces_only_a_file_never_a_link_a_pipe_or_a_device(runner, records, tmp_path):
    """`-o /dev/null --remplacer` run as root replaced the device itself, and a link or a pipe the same way
    (a device is not tried here: a regression would replace this machine's)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    pipe, shared, link = folder / "tube", folder / "partage.csv", folder / "dernier.csv"
    os.mkfifo(pipe)
    shared.write_text("ancien contenu\n", encoding="utf-8")
    link.symlink_to(shared)
    for target in (pipe, link):
        refused = runner.invoke(args=["export", "--output", str(target), "--remplacer"])
        assert refused.exit_code == 1, (target, refused.output)
        assert f"« {target} » n'est pas un fichier ordinaire" in said(refused) and "Rien n'a été écrit." in said(refused)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode) and os.path.islink(link)
    assert shared.read_text(encoding="utf-8") == "ancien contenu\n"
    assert sorted(os.listdir(folder)) == ["dernier.csv", "partage.csv", "tube"]  # no temporary file left


def test_an_export_is_readable_by_its_owner_only_whatever_the_umask(runner, records, tmp_path, umask_022):
    new, replaced = tmp_path / "nouveau.xlsx", tmp_path / "remplace.csv"
    replaced.write_text("", encoding="utf-8")
    os.chmod(replaced, 0o644)
    assert runner.invoke(args=["export", "--format", "xlsx", "--output", str(new)]).exit_code == 0
    assert runner.invoke(args=["export", "--output", str(replaced), "--remplacer"]).exit_code == 0
    assert (mode(new), mode(replaced)) == (0o600, 0o600)
    assert sorted(os.listdir(tmp_path)) == ["data", "nouveau.xlsx", "remplace.csv"]  # no temporary file left


@pytest.mark.parametrize("target, why", [
    ("/nonexistent/x.csv", "le dossier qui doit le recevoir n'existe pas (ou n'en accepte pas) : créez-le d'abord"),
    ("/proc/x.csv", "impossible d'écrire « /proc/x.csv » :"),
    ("/etc/hostname/x.csv", "une partie du chemin n'est pas un dossier"),
])
def test_export_to_a_path_it_cannot_write_says_so_in_french(runner, records, target, why):
    result = runner.invoke(args=["export", "--output", target])
    assert result.exit_code == 1
    assert why in said(result) and "Rien n'a été écrit." in said(result)
    assert "Traceback" not in result.output and "FileNotFoundError" not in result.output


def test_an_export_whose_fsync_fails_is_not_written(runner, records, tmp_path, monkeypatch):
    def failing_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    target = tmp_path / "export.csv"
    result = runner.invoke(args=["export", "--output", str(target)])
    assert result.exit_code == 1
    assert f"impossible d'écrire « {target} » : erreur d'entrée-sortie du disque. Rien n'a été écrit." \
        in said(result)
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_an_export_onto_a_disk_without_hard_links_still_never_replaces_a_file(runner, records, tmp_path,
                                                                              monkeypatch):
    """A USB key's FAT has no hard links: the name is claimed with an exclusive create instead."""
    def no_link(source, target, **options):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    target = tmp_path / "export.csv"
    assert runner.invoke(args=["export", "--output", str(target)]).exit_code == 0
    assert "AMI-2021-0012" in target.read_text(encoding="utf-8-sig") and mode(target) == 0o600
    again = runner.invoke(args=["export", "--format", "xlsx", "--output", str(target)])
    assert again.exit_code == 1 and "existe déjà" in again.output
    assert "AMI-2021-0012" in target.read_text(encoding="utf-8-sig")
    assert sorted(os.listdir(tmp_path)) == ["data", "export.csv"]


def test_stats_charts_never_go_into_the_data_folder(runner, records, data_dir):
    result = runner.invoke(args=["stats", "--graphiques", os.path.join(data_dir, "graphiques")])
    assert result.exit_code == 1 and "est dans le dossier des données" in said(result)
    assert not os.path.exists(os.path.join(data_dir, "graphiques"))


def test_stats_charts_replace_earlier_ones_only_with_remplacer(runner, records, tmp_path, umask_022):
    folder = tmp_path / "graphiques"
    folder.mkdir()
    (folder / "departements.svg").write_text("ancien", encoding="utf-8")
    refused = runner.invoke(args=["stats", "--graphiques", str(folder)])
    assert refused.exit_code == 1 and f"« {folder / 'departements.svg'} » existe déjà" in said(refused)
    assert os.listdir(folder) == ["departements.svg"]  # no chart written beside it either
    done = runner.invoke(args=["stats", "--graphiques", str(folder), "--remplacer"])
    assert done.exit_code == 0, done.output
    assert set(os.listdir(folder)) == CHARTS
    assert (folder / "departements.svg").read_text(encoding="utf-8").startswith("<svg")
    assert {mode(folder / name) for name in CHARTS} == {0o600}


def test_stats_charts_into_a_folder_it_cannot_create_say_so_in_french(runner, records):
    result = runner.invoke(args=["stats", "--graphiques", "/proc/x"])
    assert result.exit_code == 1
    assert "impossible d'écrire « /proc/x » :" in said(result) and "Traceback" not in result.output


def test_dump_refuses_a_folder_inside_the_data_folder_or_one_it_cannot_create(runner, records, data_dir):
    inside = runner.invoke(args=["dump", os.path.join(data_dir, "copie")])
    assert inside.exit_code == 1 and "est dans le dossier des données" in said(inside)
    assert not os.path.exists(os.path.join(data_dir, "copie"))
    unwritable = runner.invoke(args=["dump", "/proc/x"])
    assert unwritable.exit_code == 1
    assert "impossible d'écrire « /proc/x » :" in said(unwritable) and "Traceback" not in unwritable.output
    assert "supprimez ce dossier avant de relancer dump" in said(unwritable)


def test_a_parent_swapped_for_a_link_into_the_data_folder_after_the_check_is_still_refused(runner, records, data_dir,
                                                                                          tmp_path, monkeypatch):
    """The path is checked, then a parent of the destination becomes a link into the data folder
    before the first file is opened: the folder actually opened is checked, never the path again."""
    exports, inside = tmp_path / "exports", os.path.join(data_dir, "piege")
    os.makedirs(exports / "piege")
    os.makedirs(inside)
    target = exports / "piege" / "export.csv"
    real_open = os.open

    def swapping_open(path, *args, **kwargs):  # the swap, at the first file opened under exports/
        if str(path).startswith(str(exports)) and not os.path.islink(exports):
            os.rename(exports, tmp_path / "exports-avant")
            os.symlink(data_dir, exports)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", swapping_open)
    result = runner.invoke(args=["export", "--output", str(target)])
    assert os.path.islink(exports), "the swap happened"
    assert result.exit_code == 1, result.output
    assert f"« {target} » est dans le dossier des données ({data_dir})" in said(result)
    assert os.listdir(inside) == [] and os.listdir(tmp_path / "exports-avant" / "piege") == []


def test_a_chart_folder_whose_parent_is_swapped_for_a_link_into_the_data_folder_is_refused(runner, records, data_dir,
                                                                                           tmp_path, monkeypatch):
    exports, inside = tmp_path / "exports", os.path.join(data_dir, "piege")
    os.makedirs(exports / "piege")
    os.makedirs(inside)
    real_open = os.open

    def swapping_open(path, *args, **kwargs):  # after the check by path, at the first folder opened
        if str(path).startswith(str(exports)) and not os.path.islink(exports):
            os.rename(exports, tmp_path / "exports-avant")
            os.symlink(data_dir, exports)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", swapping_open)
    result = runner.invoke(args=["stats", "--graphiques", str(exports / "piege")])
    assert result.exit_code == 1 and "est dans le dossier des données" in said(result), result.output
    assert os.path.islink(exports), "the swap happened"
    assert os.listdir(inside) == []


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_charts_replaced_all_or_none_when_writing_the_third_fails(runner, records, tmp_path, monkeypatch, failing):
    """`stats --graphiques --remplacer`: every chart is written and fsynced before any is published;
    a failure on the third puts back the earlier charts already replaced."""
    folder = tmp_path / "graphiques"
    folder.mkdir()
    for name in CHARTS:
        (folder / name).write_text(f"ancien {name}", encoding="utf-8")
    real, calls = getattr(os, failing), []

    def third_fails(*args, **kwargs):
        if failing == "fsync" and not stat.S_ISREG(os.fstat(args[0]).st_mode):
            return real(*args, **kwargs)  # a folder's fsync: not counted
        calls.append(args)
        if len(calls) == 3:
            raise OSError(errno.EIO, "Input/output error")
        return real(*args, **kwargs)

    monkeypatch.setattr(os, failing, third_fails)
    result = runner.invoke(args=["stats", "--graphiques", str(folder), "--remplacer"])
    assert result.exit_code == 1, result.output
    assert "erreur d'entrée-sortie du disque. Rien n'a été écrit." in said(result)
    assert set(os.listdir(folder)) == CHARTS, "no temporary file left"
    assert {name: (folder / name).read_text(encoding="utf-8") for name in CHARTS} == \
        {name: f"ancien {name}" for name in CHARTS}


@pytest.mark.parametrize("unreadable", ["submissions/AMI-2021-0007.yaml", "versions/AMI-2021-0007"])
def test_a_record_the_system_refuses_to_read_is_named_as_unreadable_and_nothing_is_written(
        runner, records, data_dir, tmp_path, monkeypatch, unreadable):
    """A record file made unreadable after the index saw it (chmod 000; root reads through it,
    hence the refusal injected on the system call): « impossible de lire » that file, not
    « impossible d'écrire » the export, nor a row of blanks."""
    os.makedirs(os.path.join(data_dir, "versions", "AMI-2021-0007"), exist_ok=True)
    assert runner.invoke(args=["export", "--output", str(tmp_path / "avant.csv")]).exit_code == 0  # the index
    refused = os.path.join(data_dir, unreadable)
    real_open, real_scandir, real_listdir = os.open, os.scandir, os.listdir

    def refusing(real):
        def call(path=".", *args, **kwargs):
            if path == refused:
                raise PermissionError(errno.EACCES, "Permission denied", path)
            return real(path, *args, **kwargs)
        return call

    for name, real in (("open", real_open), ("scandir", real_scandir), ("listdir", real_listdir)):
        monkeypatch.setattr(os, name, refusing(real))
    target = tmp_path / "export.csv"
    result = runner.invoke(args=["export", "--output", str(target)])
    assert result.exit_code == 1
    assert f"impossible de lire « {refused} » : vous n'avez pas le droit de le lire" in said(result)
    assert "Rien n'a été écrit." in said(result) and "impossible d'écrire" not in said(result)
    assert sorted(os.listdir(tmp_path)) == ["avant.csv", "data"]


KILLED_EXPORT = """
import os, sys, time
destination, flag = sys.argv[1], sys.argv[2]
real_fsync = os.fsync

def fsync_then_wait(fd):  # the export's file is written, not yet published: the moment it is killed
    if os.readlink(f"/proc/self/fd/{fd}").startswith(destination + os.sep):
        open(flag, "w").close()
        time.sleep(600)
    real_fsync(fd)

os.fsync = fsync_then_wait
from flask.cli import main
sys.argv = ["flask", "--app", "collector", *sys.argv[3:]]
main()
"""


def test_an_export_killed_while_writing_leaves_nothing_in_the_destination(records, review_env, tmp_path):
    """A real `flask … export` process, SIGKILLed once its file is written and before it is published."""
    import signal
    import subprocess
    import sys
    import time

    destination, flag = tmp_path / "exports", tmp_path / "ecrit"
    destination.mkdir()
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    process = subprocess.Popen([sys.executable, "-c", KILLED_EXPORT, str(destination), str(flag), "export",
                                "--format", "xlsx", "--output", str(destination / "export.xlsx")],
                               cwd=repo, env={**os.environ, **review_env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the export never reached its fsync"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert os.listdir(destination) == []


def test_without_unnamed_files_a_named_temporary_stands_in_and_leaves_others_hidden_files(
        runner, records, tmp_path, monkeypatch):
    """Where O_TMPFILE is refused (another filesystem), the hidden temporary has a name, gone once the
    export is written; a younger temporary (maybe a command still running) and anyone else's hidden
    file stay (the age rule: test_output_files_recovery.py)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    young, other = folder / f".encours.csv.4243.{uuid.uuid4().hex}.tmp", folder / ".autre.tmp"
    for path in (young, other):
        path.write_text("reste", encoding="utf-8")
    two_hours_ago = os.path.getmtime(other) - 7200
    os.utime(other, (two_hours_ago, two_hours_ago))
    real_open = os.open

    def no_unnamed_files(path, flags, *args, **kwargs):
        if flags & getattr(os, "O_TMPFILE", 0) == getattr(os, "O_TMPFILE", -1):
            raise OSError(errno.EOPNOTSUPP, "Operation not supported")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_unnamed_files)
    result = runner.invoke(args=["export", "--output", str(folder / "export.csv")])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(folder)) == sorted(["export.csv", young.name, other.name])
    assert mode(folder / "export.csv") == 0o600 and "AMI-2021-0012" in (folder / "export.csv").read_text("utf-8-sig")
