"""The answer in July: a letter per outcome, a required motivation, preview then send, once."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys

import pytest

from collector.answers import answer_dates
from collector.letters import DEFAULT_LETTERS_DIR, LetterError, load_letters
from collector.statuses import change_status, read_history
from tests.support.servers import REPO_ROOT

from .conftest import link, outbox, review_post

JULY = "2021-07-02T10:00:00"


@pytest.fixture
def decided(data_dir, records, monkeypatch):
    """AMI-2021-0001 sans suite (motivated), AMI-2021-0002 orienté FEDER (no motivation yet)."""
    monkeypatch.setenv("AMI_NOW", JULY)
    for reference, outcome, note in (("AMI-2021-0001", "sans_suite", "Projet hors du champ de l'AMI."),
                                     ("AMI-2021-0002", "oriente_feder", "")):
        change_status(data_dir, reference, "en_instruction", by="alice")
        change_status(data_dir, reference, outcome, by="alice", note=note)
    return records


def post(reviewer, path, reference="AMI-2021-0002", **fields):
    return review_post(reviewer, reference, path, **fields)


def answers_sent(data_dir, reference):
    return [event for event in read_history(data_dir, reference)["events"] if event["kind"] == "reponse"]


def test_every_outcome_has_a_letter_with_the_motivation():
    letters = load_letters()
    assert set(letters) == {"accompagnement_propose", "oriente_fil_de_l_eau", "oriente_appel_a_projets",
                            "oriente_feder", "sans_suite"}
    assert all("{motivation}" in letter.body for letter in letters.values())


@pytest.mark.parametrize(("change", "message"), [
    (lambda text: text.replace("{structure}", "{structure_nom}"), "sans-suite.md : espace réservé inconnu « {structure_nom} »"),
    (lambda text: text.replace("{motivation}", "motif"), "sans-suite.md : la lettre doit contenir {motivation}"),
    (lambda text: text.replace("Objet:", "Sujet:"), "sans-suite.md : la première ligne doit donner l'objet"),
])
def test_a_broken_letter_stops_the_collector_and_the_build_naming_the_file(tmp_path, change, message):
    folder = tmp_path / "reponses"
    shutil.copytree(DEFAULT_LETTERS_DIR, folder)
    letter = folder / "sans-suite.md"
    letter.write_text(change(letter.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(LetterError, match=re.escape(message)):
        load_letters(str(folder))
    env = {**os.environ, "COLLECTOR_LETTERS_DIR": str(folder), "PYTHONPATH": REPO_ROOT}
    build = subprocess.run([sys.executable, "-c", "import pelicanconf"], cwd=REPO_ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert build.returncode != 0 and message in build.stderr
    start = subprocess.run([sys.executable, "-c", "import collector; collector.create_app()"], cwd=REPO_ROOT,
                           env={**env, "COLLECTOR_DATA_DIR": str(tmp_path / "data")}, capture_output=True,
                           text=True, timeout=120)
    assert start.returncode != 0 and message in start.stderr


def test_an_outcome_needs_a_motivation(reviewer, decided, data_dir):
    reply = post(reviewer, "reponse/apercu", motivation="  ")
    assert reply.status_code == 400 and "La motivation est obligatoire" in reply.text
    reply = post(reviewer, "reponse", motivation="")
    assert reply.status_code == 400 and answers_sent(data_dir, "AMI-2021-0002") == []
    assert outbox(data_dir) == []


def test_the_reviewer_previews_then_sends_the_letter_once(reviewer, client, decided, data_dir):
    preview = post(reviewer, "reponse/apercu", motivation="Projet éligible au FEDER <b>vraiment</b>.")
    assert preview.status_code == 200
    assert "fonds européens (FEDER)" in preview.text and "Structure numéro 2" in preview.text
    assert "Projet éligible au FEDER &lt;b&gt;vraiment&lt;/b&gt;." in preview.text
    assert answers_sent(data_dir, "AMI-2021-0002") == [] and outbox(data_dir) == []
    sent = post(reviewer, "reponse", motivation="Projet éligible au FEDER.")
    assert sent.status_code == 303
    [answer] = answers_sent(data_dir, "AMI-2021-0002")
    assert (answer["outcome"], answer["motivation"]) == ("oriente_feder", "Projet éligible au FEDER.")
    [name] = outbox(data_dir)
    with open(os.path.join(data_dir, "outbox", name), "rb") as handle:
        message = email.message_from_bytes(handle.read())
    assert message["To"] == decided[1]["answers"]["contact_email"]
    body = message.get_payload(decode=True).decode()
    assert "Projet éligible au FEDER." in body and link("AMI-2021-0002") in body
    again = post(reviewer, "reponse", motivation="Autre motivation.")
    assert again.status_code == 400 and "déjà été envoyée" in again.text
    assert len(answers_sent(data_dir, "AMI-2021-0002")) == 1 and len(outbox(data_dir)) == 1
    page = client.get(link("AMI-2021-0002")).text
    assert "La réponse de la Région" in page and "Projet éligible au FEDER." in page
    assert "Où en est votre dossier : <strong class=\"dossier-status\">réponse envoyée</strong>" in page


def test_a_changed_decision_sends_a_corrected_letter_only_on_explicit_request(reviewer, decided, data_dir):
    post(reviewer, "reponse", motivation="Projet éligible au FEDER.")
    change_status(data_dir, "AMI-2021-0002", "en_instruction", by="alice")
    change_status(data_dir, "AMI-2021-0002", "accompagnement_propose", by="alice", note="Revu en comité.")
    refused = post(reviewer, "reponse", motivation="Revu en comité.")
    assert refused.status_code == 400 and "lettre corrigée" in refused.text
    assert 'name="corrigee"' in reviewer.get("/instruction/AMI-2021-0002").text
    assert post(reviewer, "reponse", motivation="Revu en comité.", corrigee="oui").status_code == 303
    first, second = answers_sent(data_dir, "AMI-2021-0002")
    assert (first["outcome"], second["outcome"], second["corrected"]) == ("oriente_feder", "accompagnement_propose", True)


def test_the_answers_command_lists_then_queues_the_letters(app, decided, data_dir):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["answers", "--dry-run"])
    assert listed.exit_code == 0
    assert "AMI-2021-0001  sans suite  lettre à envoyer" in listed.output
    assert "AMI-2021-0002  orienté : FEDER  motivation manquante" in listed.output
    assert outbox(data_dir) == []
    sent = runner.invoke(args=["answers", "--send", "--by", "alice"])
    assert "1 lettre(s) mise(s) en file d'envoi" in sent.output
    assert [name for name in outbox(data_dir) if name.startswith("AMI-2021-0001.reponse-")]
    assert runner.invoke(args=["answers", "--send"]).output.endswith("0 lettre(s) mise(s) en file d'envoi "
                                                                     "(le collecteur les envoie, ou « send-mail »).\n")
    assert len(answers_sent(data_dir, "AMI-2021-0001")) == 1


def test_the_exports_gain_the_date_the_answer_was_sent(app, decided, data_dir):
    runner = app.test_cli_runner()
    runner.invoke(args=["answers", "--send"])
    assert list(answer_dates(data_dir)) == ["AMI-2021-0001"]
    lines = runner.invoke(args=["export", "-o", "-"]).output.lstrip("\ufeff").splitlines()
    header = lines[0].split(";")
    column = header.index("Réponse envoyée le")
    row = [line.split(";") for line in lines if line.startswith("AMI-2021-0001;")][0]
    assert row[column] == "02/07/2021 10:00"
