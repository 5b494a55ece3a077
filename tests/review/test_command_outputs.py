"""Where the commands write the files a reviewer asks for (`export --output`, `stats --graphiques`,
`dump`): never inside the data folder, never over an existing file without `--remplacer`, readable
by the data folder's owner only, durably, and a French line naming the path when it cannot be done."""

from __future__ import annotations

import errno
import os
import stat

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
    def no_link(source, target):
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
