"""The answer in July: a letter per outcome, a required motivation, preview then send, once."""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys

import lxml.html
import pytest

from collector.answers import answer_dates
from collector.letters import DEFAULT_LETTERS_DIR, LetterError, load_letters
from collector.statuses import change_status, read_history
from tests.support.servers import REPO_ROOT

from tests.conftest import STORE_KINDS

from .conftest import link, outbox, review_post, waiting_message

ON_BOTH_STORES = pytest.mark.parametrize("store_kind", STORE_KINDS)

JULY = "2021-07-02T10:00:00"


@pytest.fixture
def decided(kept, records, monkeypatch):
    """AMI-2021-0001 sans suite (motivated for the porteur), AMI-2021-0002 orienté FEDER (no motivation yet)."""
    monkeypatch.setenv("AMI_NOW", JULY)
    for reference, outcome, motivation in (("AMI-2021-0001", "sans_suite", "Projet hors du champ de l'AMI."),
                                           ("AMI-2021-0002", "oriente_feder", "")):
        change_status(kept, reference, "en_instruction", by="alice")
        change_status(kept, reference, outcome, by="alice", motivation=motivation)
    return records


def post(reviewer, path, reference="AMI-2021-0002", **fields):
    return review_post(reviewer, reference, path, **fields)


def answers_sent(where, reference):
    return [event for event in read_history(where, reference)["events"] if event["kind"] == "reponse"]


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


@ON_BOTH_STORES
def test_an_outcome_needs_a_motivation(reviewer, decided, kept):
    reply = post(reviewer, "reponse/apercu", motivation="  ")
    assert reply.status_code == 400 and "La motivation est obligatoire" in reply.text
    reply = post(reviewer, "reponse", motivation="")
    assert reply.status_code == 400 and answers_sent(kept, "AMI-2021-0002") == []
    assert outbox(kept) == []


@ON_BOTH_STORES
def test_the_reviewer_previews_then_sends_the_letter_once(reviewer, client, decided, kept):
    preview = post(reviewer, "reponse/apercu", motivation="Projet éligible au FEDER <b>vraiment</b>.")
    assert preview.status_code == 200
    assert "fonds européens (FEDER)" in preview.text and "Structure numéro 2" in preview.text
    assert "Projet éligible au FEDER &lt;b&gt;vraiment&lt;/b&gt;." in preview.text
    assert answers_sent(kept, "AMI-2021-0002") == [] and outbox(kept) == []
    sent = post(reviewer, "reponse", motivation="Projet éligible au FEDER.")
    assert sent.status_code == 303
    [answer] = answers_sent(kept, "AMI-2021-0002")
    assert (answer["outcome"], answer["motivation"]) == ("oriente_feder", "Projet éligible au FEDER.")
    [name] = outbox(kept)
    message = email.message_from_bytes(waiting_message(kept, name))
    assert message["To"] == decided[1]["answers"]["contact_email"]
    body = message.get_payload(0).get_payload(decode=True).decode()  # the text/plain part
    assert "Projet éligible au FEDER." in body and link("AMI-2021-0002") in body
    again = post(reviewer, "reponse", motivation="Autre motivation.")
    assert again.status_code == 400 and "déjà été envoyée" in again.text
    assert len(answers_sent(kept, "AMI-2021-0002")) == 1 and len(outbox(kept)) == 1
    page = client.get(link("AMI-2021-0002")).text
    assert "La réponse de la Région" in page and "Projet éligible au FEDER." in page
    assert "Où en est votre dossier : <strong class=\"dossier-status\">réponse envoyée</strong>" in page


@ON_BOTH_STORES
def test_a_changed_decision_sends_a_corrected_letter_only_on_explicit_request(reviewer, decided, kept):
    post(reviewer, "reponse", motivation="Projet éligible au FEDER.")
    change_status(kept, "AMI-2021-0002", "en_instruction", by="alice")
    change_status(kept, "AMI-2021-0002", "accompagnement_propose", by="alice", note="Revu en comité.")
    refused = post(reviewer, "reponse", motivation="Revu en comité.")
    assert refused.status_code == 400 and "lettre corrigée" in refused.text
    assert 'name="corrigee"' in reviewer.get("/instruction/AMI-2021-0002").text
    assert post(reviewer, "reponse", motivation="Revu en comité.", corrigee="oui").status_code == 303
    first, second = answers_sent(kept, "AMI-2021-0002")
    assert (first["outcome"], second["outcome"], second["corrected"]) == ("oriente_feder", "accompagnement_propose", True)


@ON_BOTH_STORES
@pytest.mark.parametrize("path", ["reponse/apercu", "reponse"])
def test_a_refused_corrected_letter_comes_back_with_its_box_still_ticked(reviewer, decided, kept, path):
    """A preview or a send refused for its motivation keeps « Envoyer une lettre corrigée » ticked, the
    motivation marked invalid: fixing the text and sending again still asks for the corrected letter."""
    post(reviewer, "reponse", motivation="Projet éligible au FEDER.")
    change_status(kept, "AMI-2021-0002", "en_instruction", by="alice")
    change_status(kept, "AMI-2021-0002", "accompagnement_propose", by="alice")
    refused = post(reviewer, path, motivation="x" * 5001, corrigee="oui")
    assert refused.status_code == 400
    page = lxml.html.fromstring(refused.text)
    assert page.xpath("//input[@name='corrigee']/@checked")
    assert page.get_element_by_id("motivation").get("aria-invalid") == "true"
    assert len(answers_sent(kept, "AMI-2021-0002")) == 1


@ON_BOTH_STORES
def test_the_answers_command_lists_then_queues_the_letters(app, decided, kept):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["answers", "--dry-run"])
    assert listed.exit_code == 0
    assert "AMI-2021-0001  sans suite  lettre à envoyer" in listed.output
    assert "AMI-2021-0002  orienté : FEDER  motivation pour le porteur manquante" in listed.output
    assert outbox(kept) == []
    sent = runner.invoke(args=["answers", "--send", "--by", "alice"])
    assert "1 lettre(s) mise(s) en file d'envoi" in sent.output
    assert [name for name in outbox(kept) if name.startswith("AMI-2021-0001.reponse-")]
    assert runner.invoke(args=["answers", "--send"]).output.endswith("0 lettre(s) mise(s) en file d'envoi "
                                                                     "(le collecteur les envoie, ou « send-mail »).\n")
    assert len(answers_sent(kept, "AMI-2021-0001")) == 1


@ON_BOTH_STORES
def test_answers_refuses_a_corriger_reference_that_awaits_no_corrected_letter_before_sending_any(app, decided, kept):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["answers", "--send", "--by", "alice", "--corriger", "AMI-2021-0999",
                                  "--corriger", "AMI-2021-0001", "--corriger", "AMI-2021-0002",
                                  "--corriger", "AMI-2021-0003"])
    assert refused.exit_code == 1
    said = " ".join(refused.output.split())
    assert "AMI-2021-0999 : aucun dossier ne porte cette référence" in said
    assert "AMI-2021-0001 : aucune lettre n'est encore partie : la première part sans --corriger" in said
    assert "AMI-2021-0002 : aucune lettre n'est encore partie, et la motivation pour le porteur manque" in said
    assert "AMI-2021-0003 : pas de décision (statut « reçu »), donc pas de lettre à corriger" in said
    assert "Aucune lettre n'a été envoyée : corrigez la liste puis relancez." in said
    assert outbox(kept) == [] and answers_sent(kept, "AMI-2021-0001") == []  # AMI-2021-0001's letter waits too
    dry_run = runner.invoke(args=["answers", "--corriger", "AMI-2021-0999"])
    assert dry_run.exit_code == 1 and "AMI-2021-0999 : aucun dossier" in dry_run.output


@ON_BOTH_STORES
def test_answers_sends_a_corrected_letter_to_a_changed_decision_named_by_corriger(app, decided, kept):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["answers", "--send", "--by", "alice"]).exit_code == 0
    again = runner.invoke(args=["answers", "--send", "--corriger", "AMI-2021-0001"])
    assert again.exit_code == 1 and "sa lettre est déjà partie et la décision n'a pas changé" in again.output
    change_status(kept, "AMI-2021-0001", "en_instruction", by="alice")
    change_status(kept, "AMI-2021-0001", "accompagnement_propose", by="alice", motivation="Revu en comité.")
    corrected = runner.invoke(args=["answers", "--send", "--by", "alice", "--corriger", "AMI-2021-0001"])
    assert corrected.exit_code == 0, corrected.output
    assert "1 lettre(s) mise(s) en file d'envoi" in corrected.output
    first, second = answers_sent(kept, "AMI-2021-0001")
    assert (second["outcome"], second["corrected"]) == ("accompagnement_propose", True)


@ON_BOTH_STORES
def test_an_internal_status_note_never_becomes_the_letter_the_batch_mails(app, records, kept, data_dir, monkeypatch):
    monkeypatch.setenv("AMI_NOW", JULY)
    note = "Porteur peu fiable, déjà refusé en 2019 : ne pas donner suite."
    change_status(kept, "AMI-2021-0001", "en_instruction", by="alice")
    change_status(kept, "AMI-2021-0001", "sans_suite", by="alice", note=note)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["answers", "--dry-run"])
    assert "AMI-2021-0001  sans suite  motivation pour le porteur manquante" in listed.output
    assert "Porteur peu fiable" not in listed.output
    sent = runner.invoke(args=["answers", "--send", "--by", "alice"])
    assert sent.exit_code == 0 and "0 lettre(s) mise(s) en file d'envoi" in sent.output
    assert outbox(kept) == [] and answers_sent(kept, "AMI-2021-0001") == []


@ON_BOTH_STORES
def test_the_dry_run_shows_each_letters_motivation_before_the_batch_sends_it(app, decided, kept):
    listed = app.test_cli_runner().invoke(args=["answers", "--dry-run"]).output
    assert ("AMI-2021-0001  sans suite  lettre à envoyer\n    Motivation communiquée au porteur :\n"
            "        Projet hors du champ de l'AMI.\n") in listed


@ON_BOTH_STORES
def test_the_status_command_takes_a_motivation_for_the_porteur_apart_from_its_internal_note(app, records, kept,
                                                                                            monkeypatch):
    monkeypatch.setenv("AMI_NOW", JULY)
    runner = app.test_cli_runner()
    runner.invoke(args=["status", "AMI-2021-0001", "en_instruction", "--by", "alice"])
    refused = runner.invoke(args=["status", "AMI-2021-0002", "en_instruction", "--motivation", "Bien."])
    assert refused.exit_code == 1 and "accompagne une décision" in refused.output
    done = runner.invoke(args=["status", "AMI-2021-0001", "oriente_feder", "--by", "alice", "--note", "Vu en comité.",
                               "--motivation", "Projet éligible au FEDER."])
    assert done.exit_code == 0, done.output
    [letter] = [line for line in runner.invoke(args=["answers"]).output.splitlines()[1:] if "Projet" in line]
    assert letter.strip() == "Projet éligible au FEDER."
    shown = runner.invoke(args=["show", "AMI-2021-0001"]).output
    assert "Vu en comité." in shown and "Motivation communiquée au porteur : Projet éligible au FEDER." in shown


@ON_BOTH_STORES
def test_the_status_form_labels_its_note_internal_and_its_motivation_public(reviewer, records, kept, monkeypatch):
    monkeypatch.setenv("AMI_NOW", JULY)
    change_status(kept, "AMI-2021-0002", "en_instruction", by="alice")
    page = reviewer.get("/instruction/AMI-2021-0002").text
    assert "Note interne (facultative)" in page and "jamais montrée ni envoyée au porteur" in page
    assert "Motivation communiquée au porteur" in page
    assert post(reviewer, "statut", statut="sans_suite", statut_actuel="en_instruction", note="Entre nous.",
                motivation_porteur="Projet hors du champ de l'AMI.").status_code == 303
    page = reviewer.get("/instruction/AMI-2021-0002").text
    letter_field = re.search(r'<textarea id="?motivation\b(?!-)[^>]*>([^<]*)</textarea>', page).group(1)
    assert letter_field == "Projet hors du champ de l&#39;AMI."  # the letter's form, prefilled: never the note


@ON_BOTH_STORES
def test_the_exports_gain_the_date_the_answer_was_sent(app, decided, kept):
    runner = app.test_cli_runner()
    runner.invoke(args=["answers", "--send"])
    assert list(answer_dates(kept)) == ["AMI-2021-0001"]
    lines = runner.invoke(args=["export", "-o", "-"]).output.lstrip("\ufeff").splitlines()
    header = lines[0].split(";")
    column = header.index("Réponse envoyée le")
    row = [line.split(";") for line in lines if line.startswith("AMI-2021-0001;")][0]
    assert row[column] == "02/07/2021 10:00"


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_two_hosts_sending_the_same_answer_at_once_record_it_once(decided, database_url):
    """On PostgreSQL, « sent once » holds across hosts: the check runs under the dossier's lock in the database."""
    import threading

    from collector import answers
    from collector.facts import load_facts
    from collector.stores.postgres import PostgresStore

    stores = [PostgresStore(database_url) for _host in range(2)]
    for store in stores:
        store.pool.open()
    change_status(stores[0], "AMI-2021-0003", "en_instruction", by="alice")
    change_status(stores[0], "AMI-2021-0003", "sans_suite", by="alice", note="Hors du champ.")
    letters, facts, start = load_letters(), load_facts(), threading.Barrier(8)
    outcomes: list[str] = []

    def send(store) -> None:
        start.wait()
        try:
            answers.send(store, "AMI-2021-0003", "Hors du champ.", letters, facts, by="alice")
            outcomes.append("envoyée")
        except answers.AnswerError as error:
            outcomes.append(str(error))

    try:
        threads = [threading.Thread(target=send, args=(stores[number % 2],)) for number in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes.count("envoyée") == 1, outcomes
        assert all("déjà été envoyée" in outcome for outcome in outcomes if outcome != "envoyée")
        assert len(answers_sent(stores[1], "AMI-2021-0003")) == 1
    finally:
        for store in stores:
            store.close()


def test_a_motivation_pasted_from_a_word_processor_keeps_its_line_breaks(app, records, kept, monkeypatch):
    monkeypatch.setenv("AMI_NOW", JULY)
    runner = app.test_cli_runner()
    runner.invoke(args=["status", "AMI-2021-0001", "en_instruction", "--by", "alice"])
    done = runner.invoke(args=["status", "AMI-2021-0001", "oriente_feder", "--by", "alice",
                               "--motivation", "Projet éligible.\x0bDossier FEDER à déposer.\u2029Merci."])
    assert done.exit_code == 0, done.output
    [*_, event] = read_history(kept, "AMI-2021-0001")["events"]
    assert event["motivation"] == "Projet éligible.\nDossier FEDER à déposer.\n\nMerci."
