"""The reviewers' commands: `flask --app collector list|show|stats|status|note|check|purge|create-user`
(create-user and purge on both stores)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from collector import appstate
from collector.records import record_path
from collector.statuses import add_note, read_history
from collector.review.users import read_users
from tests.conftest import STORE_KINDS
from tests.review.conftest import PASSWORD
from tests.review.factory import make_record
from tests.support.stores import break_history

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def lines_with(text: str, reference: str) -> list[str]:
    return [line for line in text.splitlines() if reference in line]


def break_yaml(data_dir: str, reference: str) -> None:
    with open(record_path(data_dir, reference), "a", encoding="utf-8") as handle:
        handle.write("answers: [unclosed\n")


def make_invalid(data_dir: str, reference: str) -> None:
    """A hand edit that still parses but no longer passes the form's validation."""
    path = record_path(data_dir, reference)
    with open(path, encoding="utf-8") as handle:
        record = yaml.safe_load(handle)
    record["answers"]["contact_email"] = "pas-une-adresse"
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(record, handle, allow_unicode=True, sort_keys=False)


@ON_BOTH_STORES
def test_list_prints_one_row_per_submission_with_its_facts(runner, records):
    result = runner.invoke(args=["list"])
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0]
    for title in ("Référence", "Reçue le", "Structure", "Thématiques", "Dépt", "Statut", "Signalements"):
        assert title in header
    first = records[0]
    row = lines_with(result.stdout, first["reference"])[0]
    assert first["answers"]["raison_sociale"] in row and "reçu" in row
    assert first["derived"]["departement"]["code"] in row
    assert "12 candidature(s) sur 12." in result.stdout
    assert result.stderr == ""


@ON_BOTH_STORES
@pytest.mark.parametrize("option, expected", [
    (["--departement", "14"], lambda r: r["derived"]["departement"]["code"] == "14"),
    (["--thematique", "teletravail"], lambda r: "teletravail" in r["answers"]["thematiques"]),
    (["--type", "association"], lambda r: r["answers"]["type_structure"] == "association"),
    (["--status", "en_instruction"], lambda r: r["reference"] == "AMI-2021-0003"),
])
def test_list_filters(runner, records, option, expected):
    assert runner.invoke(args=["status", "AMI-2021-0003", "en_instruction", "--by", "alice"]).exit_code == 0
    result = runner.invoke(args=["list", *option])
    assert result.exit_code == 0, result.output
    wanted = sorted(r["reference"] for r in records if expected(r))
    assert wanted, "the sample must contain matching records"
    listed = sorted(line.split()[0] for line in result.stdout.splitlines() if line.startswith("AMI-"))
    assert listed == wanted


@ON_BOTH_STORES
def test_show_prints_labels_choice_labels_and_history(runner, records, form):
    runner.invoke(args=["status", "AMI-2021-0002", "en_instruction", "--note", "Complet.", "--by", "alice"])
    runner.invoke(args=["note", "AMI-2021-0002", "Rappeler mardi.", "--by", "bruno"])
    result = runner.invoke(args=["show", "AMI-2021-0002"])
    assert result.exit_code == 0, result.output
    answers = records[1]["answers"]
    assert "statut : en instruction" in result.stdout
    assert f"{form.field('type_structure').label} :" in result.stdout
    assert form.choice_label("type_structure", answers["type_structure"]) in result.stdout
    assert "alice  reçu → en instruction : Complet." in result.stdout
    assert "bruno  note : Rappeler mardi." in result.stdout


@ON_BOTH_STORES
def test_show_unknown_reference_is_a_clear_error(runner, records):
    result = runner.invoke(args=["show", "AMI-2021-0999"])
    assert result.exit_code == 1
    assert "Aucune candidature lisible ne porte la référence « AMI-2021-0999 »." in result.output


@ON_BOTH_STORES
@pytest.mark.parametrize("args, message", [
    (["status", "AMI-2021-0001", "oriente_feder", "--by", "a"], "Passage impossible de « reçu » à « orienté : FEDER »"),
    (["status", "AMI-2021-0001", "valide", "--by", "a"], "Statut inconnu : « valide »"),
    (["status", "AMI-2021-0404", "en_instruction", "--by", "a"], "Aucune candidature ne porte la référence AMI-2021-0404."),
    (["note", "AMI-2021-0001", "   ", "--by", "a"], "La note est vide : écrivez quelque chose."),
])
def test_status_and_note_refusals(runner, records, test_store, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert read_history(test_store, "AMI-2021-0001")["events"] == []


@ON_BOTH_STORES
def test_status_command_records_the_change(runner, records, test_store):
    result = runner.invoke(args=["status", "AMI-2021-0001", "en_instruction", "--note", "Vu", "--by", "chloe"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "AMI-2021-0001 : en instruction."
    event = read_history(test_store, "AMI-2021-0001")["events"][0]
    assert (event["by"], event["from"], event["to"], event["note"]) == ("chloe", "recu", "en_instruction", "Vu")


@ON_BOTH_STORES
def test_stats_counts_by_theme_departement_type_and_week(runner, records, form):
    result = runner.invoke(args=["stats"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "12 candidature(s)." in out
    teletravail = sum("teletravail" in r["answers"]["thematiques"] for r in records)
    assert f"{form.choice_label('thematiques', 'teletravail')}" in out
    row = [line for line in out.splitlines() if line.startswith("Télétravail")][0]
    assert row.split()[-1] == str(teletravail)
    assert "Semaine de réception" in out and "2021-S13" in out
    calvados = sum(r["derived"]["departement"]["code"] == "14" for r in records)
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("14 ")] == [str(calvados)]
    assert "Type de structure" in out and "Association" in out


@ON_BOTH_STORES
def test_check_passes_on_clean_records(runner, records):
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0
    assert "12 enregistrement(s) vérifié(s), 0 fichier(s) en erreur." in result.stdout


def test_bad_records_are_named_by_check_list_and_export(runner, records, data_dir, tmp_path):
    break_yaml(data_dir, "AMI-2021-0004")
    make_invalid(data_dir, "AMI-2021-0007")

    check = runner.invoke(args=["check"])
    assert check.exit_code == 1
    assert "ILLISIBLE  AMI-2021-0004.yaml" in check.stdout
    assert "INVALIDE   AMI-2021-0007.yaml : contact_email" in check.stdout
    assert "12 enregistrement(s) vérifié(s), 2 fichier(s) en erreur." in check.stdout

    listing = runner.invoke(args=["list"])
    assert listing.exit_code == 0
    assert "AMI-2021-0004.yaml" in listing.stderr and "AMI-2021-0007.yaml" in listing.stderr
    assert "ne valide plus le formulaire" in lines_with(listing.stdout, "AMI-2021-0007")[0]
    assert "11 candidature(s) sur 11." in listing.stdout

    output = tmp_path / "out.csv"
    export = runner.invoke(args=["export", "--format", "csv", "--output", str(output)])
    assert export.exit_code == 0
    assert "AMI-2021-0004.yaml" in export.stderr and "AMI-2021-0007.yaml" in export.stderr
    assert "AMI-2021-0007" in output.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_purge_removes_only_what_is_older_than_the_retention(runner, app, form):
    from collector.mail import delivery
    from collector.stores.outbox import record_mails

    kept = appstate.store(app)
    records = [make_record(form, number) for number in range(1, 5)]
    assert all(kept.write_record(record) for record in records)
    runner.invoke(args=["status", "AMI-2021-0001", "en_instruction", "--by", "alice"])
    for outgoing in record_mails(records[0], app.config["FACTS"], form, delivery.MailSettings.from_env()):
        assert kept.outbox.queue(outgoing.name, outgoing.message, outgoing.recipient)
    months = app.config["FACTS"]["legal"]["retention_months"]
    # Records were received from 29/03/2021 09:00 every 7 hours; AMI-2021-0004 on 30/03/2021 13:00.
    today = f"{2021 + (3 + months) // 12}-{(3 + months) % 12 or 12:02d}-30"

    dry = runner.invoke(args=["purge", "--dry-run", "--today", today])
    assert dry.exit_code == 0
    assert [line.split()[0] for line in dry.stdout.splitlines() if line.startswith("AMI-")] == [
        "AMI-2021-0001", "AMI-2021-0002"]
    assert "simulation : rien n'a été supprimé" in dry.stdout
    assert kept.has_record("AMI-2021-0001")

    real = runner.invoke(args=["purge", "--today", today])
    assert real.exit_code == 0
    assert not kept.has_record("AMI-2021-0001") and not kept.has_record("AMI-2021-0002")
    assert kept.has_record("AMI-2021-0003")
    assert kept.histories.read("AMI-2021-0001") is None
    assert not [name for name in kept.outbox.known_names() if "AMI-2021-0001" in name]


def test_create_user_stores_a_scrypt_hash_never_the_password(runner, data_dir):
    result = runner.invoke(args=["create-user", "bruno", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0 and "Compte « bruno » créé." in result.stdout
    stored = read_users(data_dir)["bruno"]["password_hash"]
    assert stored.startswith("scrypt:")
    path = os.path.join(data_dir, "accounts", "users.yaml")
    assert PASSWORD not in open(path, encoding="utf-8").read()
    assert os.stat(path).st_mode & 0o077 == 0


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_create_user_creates_then_updates_the_account_in_the_apps_store(app, runner):
    first = runner.invoke(args=["create-user", "bruno", "--password-stdin"], input=PASSWORD + "\n")
    again = runner.invoke(args=["create-user", "bruno", "--password-stdin"], input="un autre mot de passe\n")
    assert first.exit_code == again.exit_code == 0, first.output + again.output
    assert "Compte « bruno » créé." in first.stdout and "Compte « bruno » mis à jour." in again.stdout
    reviewers = appstate.store(app).reviewers
    assert reviewers.authenticate("bruno", "un autre mot de passe") and not reviewers.authenticate("bruno", PASSWORD)


@pytest.mark.parametrize("store_kind", STORE_KINDS)
@pytest.mark.parametrize("name, password, message", [
    ("bruno", "court", "Mot de passe trop court : 12 caractères au moins."),
    ("Bruno Dupont", PASSWORD, "Nom de compte invalide"),
])
def test_create_user_refusals(app, runner, name, password, message):
    result = runner.invoke(args=["create-user", name, "--password-stdin"], input=password + "\n")
    assert result.exit_code == 1
    assert message in result.output
    assert appstate.store(app).reviewers.accounts() == {}


def test_the_real_flask_command_lists_the_records(review_env, store_env, records):
    """The documented command line, in a real process."""
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "collector", "list",
                             "--departement", "14"], cwd=REPO, env={**os.environ, **review_env, **store_env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "1 candidature(s) sur 12." in result.stdout


def test_check_validates_every_record_even_one_whose_hash_was_recomputed(runner, records, data_dir):
    from collector.records import content_hash

    path = record_path(data_dir, "AMI-2021-0005")
    with open(path, encoding="utf-8") as handle:
        record = yaml.safe_load(handle)
    record["answers"]["code_postal"] = "1400"
    record["content_hash"] = content_hash(record["answers"])
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(record, handle, allow_unicode=True, sort_keys=False)
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert "INVALIDE   AMI-2021-0005.yaml : code_postal" in result.stdout


def test_a_record_named_differently_from_its_reference_is_reported(runner, records, data_dir):
    os.rename(record_path(data_dir, "AMI-2021-0008"), record_path(data_dir, "AMI-2021-0080"))
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert "AMI-2021-0080.yaml : la référence inscrite (AMI-2021-0008) ne correspond pas au nom du fichier." in result.stdout


def test_create_user_prompts_twice_for_the_password(runner, reviewers):
    result = runner.invoke(args=["create-user", "chloe"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert reviewers.authenticate("chloe", PASSWORD)
    assert not reviewers.authenticate("chloe", PASSWORD + "x")


def test_an_unreadable_history_is_reported_and_refuses_changes(runner, records, test_store):
    add_note(test_store, "AMI-2021-0009", "Une note.", by="alice")
    break_history(test_store, "AMI-2021-0009")
    check = runner.invoke(args=["check"])
    assert check.exit_code == 1
    assert "ILLISIBLE  reviews/AMI-2021-0009.yaml : historique des décisions illisible." in check.stdout
    listing = runner.invoke(args=["list"])
    assert listing.exit_code == 0 and "reviews/AMI-2021-0009.yaml" in listing.stderr
    change = runner.invoke(args=["status", "AMI-2021-0009", "en_instruction", "--by", "alice"])
    assert change.exit_code == 1 and "Historique illisible" in change.output


@pytest.mark.parametrize("edit, message", [
    (lambda r: r.update(flags=3), "AMI-2021-0006.yaml : les signalements (flags) ne sont pas une liste de textes."),
    (lambda r: r.update(derived=[1]), "AMI-2021-0006.yaml : les données déduites (derived) ne sont pas un tableau"),
    (lambda r: r.update(received_at="hier"), "AMI-2021-0006.yaml : la date de réception (received_at) est illisible."),
    (lambda r: r.update(reference=6), "AMI-2021-0006.yaml : la référence n'est pas un texte."),
    (lambda r: r.update(answers=["a", "b"]), "AMI-2021-0006.yaml : les réponses ne sont pas un tableau de champs."),
    (lambda r: r["answers"].update(thematiques="fablab", raison_sociale=42), "AMI-2021-0006.yaml : "),
    (lambda r: r["answers"].pop("description"), "AMI-2021-0006.yaml : description"),
])
def test_odd_hand_edits_never_crash_a_command(runner, records, data_dir, tmp_path, edit, message):
    path = record_path(data_dir, "AMI-2021-0006")
    with open(path, encoding="utf-8") as handle:
        record = yaml.safe_load(handle)
    edit(record)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(record, handle, allow_unicode=True, sort_keys=False)
    check = runner.invoke(args=["check"])
    assert check.exit_code == 1 and message in check.stdout
    for args in (["list"], ["stats"], ["export", "--format", "csv", "-o", str(tmp_path / "a.csv")],
                 ["export", "--format", "xlsx", "-o", str(tmp_path / "a.xlsx")], ["purge", "--dry-run"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
        assert "AMI-2021-0006.yaml" in result.stderr, args


@ON_BOTH_STORES
def test_list_shows_labels_not_codes(runner, records, form):
    result = runner.invoke(args=["list"])
    first = records[0]
    row = lines_with(result.stdout, first["reference"])[0]
    label = form.choice_label("thematiques", first["answers"]["thematiques"][0])
    assert label in row and first["answers"]["thematiques"][0] not in row.split()
    assert f"{first['derived']['departement']['name']} ({first['derived']['departement']['code']})" in row


@ON_BOTH_STORES
@pytest.mark.parametrize("given", ["14", "Calvados", "calvados", " CALVADOS "])
def test_list_takes_a_departement_by_number_or_name(runner, records, given):
    result = runner.invoke(args=["list", "--departement", given])
    assert result.exit_code == 0, result.output
    wanted = sorted(r["reference"] for r in records if r["derived"]["departement"]["code"] == "14")
    assert sorted(line.split()[0] for line in result.stdout.splitlines() if line.startswith("AMI-")) == wanted


@ON_BOTH_STORES
@pytest.mark.parametrize("args, message", [
    (["--departement", "Calvadosse"], "département inconnu : « Calvadosse ». Donnez son numéro (14) ou son nom (Calvados)."),
    (["--departement", "99"], "département inconnu : « 99 »"),
    (["--thematique", "jardinage"], "« jardinage » n'est pas connu. Valeurs possibles :"),
    (["--type", "particulier"], "« particulier » n'est pas connu. Valeurs possibles :"),
])
def test_an_unknown_filter_is_refused_in_french_rather_than_listing_nothing(runner, records, args, message):
    for command in (["list"], ["export", "-o", "-"]):
        result = runner.invoke(args=[*command, *args])
        assert result.exit_code == 2
        assert message in " ".join(result.output.split())


@ON_BOTH_STORES
def test_stats_writes_the_dashboard_charts_as_svg_files(runner, records, tmp_path):
    folder = tmp_path / "graphiques"
    result = runner.invoke(args=["stats", "--graphiques", str(folder)])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in folder.iterdir()) == [
        "arrivees.svg", "departements.svg", "statuts.svg", "thematiques.svg", "types.svg"]
    assert "<script" not in (folder / "departements.svg").read_text(encoding="utf-8")
    assert "Calvados (14)" in (folder / "departements.svg").read_text(encoding="utf-8")


@ON_BOTH_STORES
def test_export_writes_the_chosen_records_with_every_answer(runner, records):
    result = runner.invoke(args=["export", "--format", "csv", "-o", "-", "--departement", "14"])
    assert result.exit_code == 0, result.output
    csv_text = result.stdout_bytes.decode("utf-8-sig")
    chosen = [r for r in records if r["derived"]["departement"]["code"] == "14"]
    assert chosen and csv_text.count("\r\nAMI-2021-") == len(chosen)
    assert all(r["answers"]["projet_titre"] in csv_text for r in chosen)


@ON_BOTH_STORES
def test_reindex_rebuilds_the_index_from_the_store_and_list_reads_it(runner, records):
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "Index reconstruit : 12 " in result.output
    listed = runner.invoke(args=["list"])
    assert "12 candidature(s) sur 12." in listed.stdout


@ON_BOTH_STORES
def test_a_record_stored_after_the_index_was_made_is_listed_and_shown(runner, records, put_records):
    assert "12 candidature(s) sur 12." in runner.invoke(args=["list"]).stdout
    late = put_records(1, start=13)[0]
    assert "13 candidature(s) sur 13." in runner.invoke(args=["list"]).stdout
    shown = runner.invoke(args=["show", late["reference"]])
    assert shown.exit_code == 0 and late["answers"]["projet_titre"].splitlines()[0] in shown.stdout


@ON_BOTH_STORES
def test_a_dossier_corrected_after_the_index_was_made_is_listed_and_shown_at_its_newest_version(
        runner, records, test_store, form):
    from collector.dossier import write_correction
    from tests.review.factory import make_record

    assert lines_with(runner.invoke(args=["list"]).stdout, "AMI-2021-0004")[0].split()[-1] == "1"
    corrected = make_record(form, 4, projet_titre="Titre corrigé par le porteur")
    write_correction(test_store, corrected)
    assert lines_with(runner.invoke(args=["list"]).stdout, "AMI-2021-0004")[0].split()[-1] == "2"
    shown = runner.invoke(args=["show", "AMI-2021-0004"]).stdout
    assert "Version 2 (corrigée par le porteur" in shown and "Titre corrigé par le porteur" in shown
