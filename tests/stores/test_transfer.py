"""`migrate-store --from DIR` (a data folder into an empty PostgreSQL store, once, verified) and
`dump DIR` (the store written back as a data folder): what the reviewers' commands show is
the same before and after the round trip, review histories and corrected versions included."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from collector import appstate, create_app
from tests.support.payloads import encode_form, form_hidden_fields, valid_answers

URLENCODED = "application/x-www-form-urlencoded"
TITLES = ("Tiers-lieu « Les Ateliers »", "Fablab rural", "Médiation numérique — été 2021")


@pytest.fixture(autouse=True)
def previewed_clock(monkeypatch):
    monkeypatch.setenv("AMI_NOW", "2021-04-15T10:00:00")


@pytest.fixture
def apps():
    made = []

    def make(data_dir: str, database_url: str | None = None):
        app = create_app({"DATA_DIR": data_dir, "DATABASE_URL": database_url, "MIN_FILL_SECONDS": 0,
                          "RATE_LIMIT": (10_000, 600), "SECRET_KEY": "k"})
        made.append(app)
        return app

    yield make
    for app in made:
        appstate.store(app).close()


def submit(app, title: str, hidden: dict[str, str] | None = None):
    client = app.test_client()
    hidden = hidden or form_hidden_fields(client.get("/candidater/").text)
    answers = {**valid_answers(app.config["FORM"]), "projet_titre": title}
    reply = client.post("/candidater/", data=encode_form(answers, hidden), content_type=URLENCODED)
    assert reply.status_code == 303
    return reply.headers["Location"]


@pytest.fixture
def single_server(tmp_path, apps):
    """A data folder as a one-server collector leaves it: three dossiers, one sent twice."""
    folder = str(tmp_path / "serveur-unique")
    app = apps(folder)
    for title in TITLES:
        submit(app, title)
    hidden = form_hidden_fields(app.test_client().get("/candidater/").text)
    submit(app, "Envoyé deux fois", hidden)
    submit(app, "Envoyé deux fois", hidden)
    return folder


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_a_data_folder_moves_into_postgresql_byte_for_byte_and_the_counter_goes_on(single_server, database_url,
                                                                                   tmp_path, apps):
    before = appstate.store(apps(single_server))
    app = apps(str(tmp_path / "hote-a"), database_url)
    result = run(app, "migrate-store", "--from", single_server)
    assert result.exit_code == 0, result.output
    assert ("Copié dans PostgreSQL : 4 dossier(s), 4 identifiant(s) d'envoi, compteur de références à 4, "
            "0 historique(s), 0 version(s) corrigée(s), 0 e-mail(s) dont 0 en attente ; nombres et empreintes "
            "(sha256) vérifiés.") in result.output
    store = appstate.store(app)
    assert store.references() == before.references() == [f"AMI-2021-000{n}" for n in range(1, 5)]
    assert [store.record_text(ref) for ref in store.references()] == [before.record_text(ref) for ref in before.references()]
    assert store.submission_links() == before.submission_links()
    assert submit(app, "Après la migration").startswith("/candidater/recu/AMI-2021-0005?")


def test_migrate_store_refuses_to_run_twice_and_changes_nothing(single_server, database_url, tmp_path, apps):
    app = apps(str(tmp_path / "hote-a"), database_url)
    assert run(app, "migrate-store", "--from", single_server).exit_code == 0
    again = run(app, "migrate-store", "--from", single_server)
    assert again.exit_code == 1
    assert "la base contient déjà 8 dossier(s) ou identifiant(s) d'envoi" in again.output
    assert "une seule fois. Rien n'a été copié." in again.output
    assert len(appstate.store(app).references()) == 4


def test_migrate_store_refuses_a_folder_holding_what_postgresql_does_not_keep_yet(single_server, database_url,
                                                                                  tmp_path, apps):
    os.makedirs(os.path.join(single_server, "link-requests"))
    with open(os.path.join(single_server, "link-requests", "a" * 32 + ".json"), "w", encoding="utf-8") as handle:
        handle.write('{"address": "a@example.org", "at": "2021-04-15T08:00:00+00:00"}')
    app = apps(str(tmp_path / "hote-a"), database_url)
    refused = run(app, "migrate-store", "--from", single_server)
    assert refused.exit_code == 1 and "link-requests/ (demandes de lien de dossier en attente" in refused.output
    assert "Rien n'a été copié" in refused.output and appstate.store(app).references() == []


def dossier_life(store) -> None:
    """A status, a note, a message and a correction (a version 2) on AMI-2021-0001 and -0002,
    through the domain functions (the mails these would queue are the outbox's part)."""
    from collector.dossier import write_correction, write_to_porteur
    from collector.records import build_record
    from collector.statuses import add_note, change_status

    change_status(store, "AMI-2021-0001", "en_instruction", by="alice", note="Complet.")
    add_note(store, "AMI-2021-0002", "À rappeler", by="bruno")
    write_to_porteur(store, "AMI-2021-0002", "Pouvez-vous préciser ?", by="bruno")
    first = store.read_record("AMI-2021-0002")
    answers = {**first["answers"], "projet_titre": "Titre corrigé"}
    write_correction(store, build_record("AMI-2021-0002", datetime.now(timezone.utc), first["form_version"], answers))


def files_under(folder: str) -> dict[str, bytes]:
    found = {}
    for root, _folders, names in os.walk(folder):
        for name in names:
            with open(os.path.join(root, name), "rb") as handle:
                found[os.path.relpath(os.path.join(root, name), folder)] = handle.read()
    return found


def test_histories_and_versions_go_into_postgresql_and_come_back_byte_for_byte(single_server, database_url,
                                                                                tmp_path, apps):
    from collector.statuses import read_history

    folder_app = apps(single_server)
    dossier_life(appstate.store(folder_app))
    app = apps(str(tmp_path / "hote-a"), database_url)
    result = run(app, "migrate-store", "--from", single_server)
    assert result.exit_code == 0, result.output
    assert "2 historique(s), 1 version(s) corrigée(s)" in result.output
    store, before = appstate.store(app), appstate.store(folder_app)
    for reference in ("AMI-2021-0001", "AMI-2021-0002"):
        assert read_history(store, reference) == read_history(before, reference)
        assert store.histories.text(reference) == before.histories.text(reference)
    assert store.latest_record("AMI-2021-0002") == before.latest_record("AMI-2021-0002")

    dumped = str(tmp_path / "archive")
    result = run(app, "dump", dumped)
    assert result.exit_code == 0 and "2 historique(s), 1 version(s) corrigée(s)" in result.output, result.output
    for folder in ("reviews", "versions"):
        assert files_under(os.path.join(dumped, folder)) == files_under(os.path.join(single_server, folder))
    original, copy = apps(single_server), apps(dumped)
    for command in (["show", "AMI-2021-0002"], ["list"], ["list", "--status", "en_instruction"]):
        first, second = run(original, *command), run(copy, *command)
        assert first.exit_code == second.exit_code == 0, (command, first.output, second.output)
        assert first.output == second.output, command
    assert "Titre corrigé" in run(copy, "show", "AMI-2021-0002").output


def test_migrate_store_names_an_unreadable_history_and_copies_nothing(single_server, database_url, tmp_path, apps):
    dossier_life(appstate.store(apps(single_server)))
    with open(os.path.join(single_server, "reviews", "AMI-2021-0001.yaml"), "w", encoding="utf-8") as handle:
        handle.write("events: [pas fini")
    app = apps(str(tmp_path / "hote-a"), database_url)
    refused = run(app, "migrate-store", "--from", single_server)
    assert refused.exit_code == 1 and "Historique illisible" in refused.output and "AMI-2021-0001.yaml" in refused.output
    assert "Rien n'a été copié" in refused.output
    assert appstate.store(app).references() == [] and appstate.store(app).histories.references() == []


def test_a_history_written_on_postgresql_reads_the_same_in_its_dump(single_server, database_url, tmp_path, apps):
    from collector.statuses import read_history

    app = apps(str(tmp_path / "hote-a"), database_url)
    assert run(app, "migrate-store", "--from", single_server).exit_code == 0
    dossier_life(appstate.store(app))
    dumped = str(tmp_path / "archive")
    assert run(app, "dump", dumped).exit_code == 0
    copy = appstate.store(apps(dumped))
    store = appstate.store(app)
    for reference in ("AMI-2021-0001", "AMI-2021-0002"):
        assert read_history(copy, reference) == read_history(store, reference)
        assert copy.histories.text(reference) == store.histories.text(reference)
    assert copy.versions.text("AMI-2021-0002", 2) == store.versions.text("AMI-2021-0002", 2)


def test_migrate_store_names_an_unreadable_record_and_copies_nothing(single_server, database_url, tmp_path, apps):
    path = os.path.join(single_server, "submissions", "AMI-2021-0002.yaml")
    os.chmod(path, 0o600)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("answers: [pas fini")
    app = apps(str(tmp_path / "hote-a"), database_url)
    refused = run(app, "migrate-store", "--from", single_server)
    assert refused.exit_code == 1 and "AMI-2021-0002.yaml : illisible" in refused.output
    assert appstate.store(app).references() == []


def test_a_dump_of_postgresql_shows_and_exports_exactly_like_the_original_folder(single_server, database_url,
                                                                                tmp_path, apps):
    app = apps(str(tmp_path / "hote-a"), database_url)
    assert run(app, "migrate-store", "--from", single_server).exit_code == 0
    dumped = str(tmp_path / "archive")
    result = run(app, "dump", dumped)
    assert result.exit_code == 0 and "Écrit dans" in result.output and "4 dossier(s)" in result.output
    original, copy = apps(single_server), apps(dumped)
    for command in (["show", "AMI-2021-0003"], ["list"], ["check"]):
        first, second = run(original, *command), run(copy, *command)
        assert first.exit_code == second.exit_code == 0, (command, first.output, second.output)
        assert first.output == second.output, command
    assert "Médiation numérique — été 2021" in run(copy, "show", "AMI-2021-0003").output
    exports = [str(tmp_path / "original.csv"), str(tmp_path / "copie.csv")]
    for source, path in zip((original, copy), exports):
        assert run(source, "export", "--format", "csv", "-o", path).exit_code == 0
    first, second = (open(path, "rb").read() for path in exports)
    assert first == second and first.count(b"\r\n") == 5  # the header and four dossiers
    assert submit(copy, "Dans l'archive").startswith("/candidater/recu/AMI-2021-0005?")  # its counter came along


def test_dump_never_writes_into_a_folder_that_is_not_empty(database_url, tmp_path, apps):
    app = apps(str(tmp_path / "hote-a"), database_url)
    occupied = tmp_path / "occupe"
    occupied.mkdir()
    (occupied / "autre.txt").write_text("à garder")
    refused = run(app, "dump", str(occupied))
    assert refused.exit_code == 1 and "n'est pas vide" in refused.output
    assert os.listdir(occupied) == ["autre.txt"]


def test_a_copy_that_does_not_read_back_the_same_is_rolled_back(single_server, database_url, tmp_path, apps):
    """Fault injection in the database: a trigger garbles one document as it is inserted."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        connection.execute("""
            CREATE FUNCTION garble() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.reference = 'AMI-2021-0002' THEN NEW.document_sha256 := 'sha256:0'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER garble BEFORE INSERT ON records FOR EACH ROW EXECUTE FUNCTION garble();""")
    app = apps(str(tmp_path / "hote-a"), database_url)
    refused = run(app, "migrate-store", "--from", single_server)
    assert refused.exit_code == 1 and "la copie relue ne correspond pas au dossier de données" in refused.output
    store = appstate.store(app)
    assert store.references() == [] and store.submission_links() == [] and store.last_reference_number("AMI-2021") == 0


@pytest.fixture
def folder_with_mails(single_server, apps):
    """The single server's outbox as a mailer leaves it: of its 8 mails, one sent, one refused for
    good, one claimed by a mailer stopped mid-send (in sending/), one sent whose file was then
    deleted by hand (remembered in mail-queued/ only), four waiting."""
    from collector.mail.delivery import MailSettings

    source = apps(single_server)
    outbox = appstate.store(source).outbox
    assert len(outbox.reconcile(source.config["FACTS"], source.config["FORM"], MailSettings())) == 8  # the mailer's
    (sent, _), (refused, _), (deleted, _), (claimed, _) = outbox.claim(4)
    outbox.mark_sent(sent)
    outbox.mark_failed(refused)
    outbox.mark_sent(deleted)
    os.unlink(os.path.join(single_server, "sent", deleted))
    return single_server, {"sent": sent, "refused": refused, "deleted": deleted, "claimed": claimed}


def test_migrate_store_carries_the_mails_so_none_is_sent_again_and_none_waiting_is_lost(folder_with_mails,
                                                                                        database_url, tmp_path, apps):
    from collector.mail.delivery import MailSettings
    from tests.review.smtp import smtp_server

    folder, names = folder_with_mails
    known = appstate.store(apps(folder)).outbox.known_names()
    app = apps(str(tmp_path / "hote-a"), database_url)
    result = run(app, "migrate-store", "--from", folder)
    assert result.exit_code == 0, result.output
    assert "8 e-mail(s) dont 5 en attente" in result.output  # four waiting and the one left in sending/
    outbox = appstate.store(app).outbox
    assert outbox.known_names() == known and len(known) == 8
    assert outbox.reconcile(app.config["FACTS"], app.config["FORM"], MailSettings()) == []  # nothing queued again
    with smtp_server() as inbox:
        report = outbox.deliver(MailSettings(host="127.0.0.1", port=inbox.port))
        inbox.wait_for(5)
    assert len(report.sent) == 5 and names["claimed"] in report.sent
    assert not {names["sent"], names["refused"], names["deleted"]} & set(report.sent)


def test_migrate_store_refuses_a_database_whose_outbox_holds_mails_and_copies_nothing(folder_with_mails,
                                                                                      database_url, tmp_path, apps):
    from email.message import EmailMessage

    folder, _names = folder_with_mails
    app = apps(str(tmp_path / "hote-a"), database_url)
    assert appstate.store(app).outbox.queue("AMI-2021-0099.accuse.eml", EmailMessage(), "x@example.org")
    refused = run(app, "migrate-store", "--from", folder)
    assert refused.exit_code == 1 and "la base contient déjà 1 e-mail(s)" in refused.output
    assert appstate.store(app).references() == []


def test_a_dump_writes_the_mails_back_so_a_copy_never_sends_one_again_and_restores_those_waiting(
        folder_with_mails, database_url, tmp_path, apps):
    folder, names = folder_with_mails
    app = apps(str(tmp_path / "hote-a"), database_url)
    assert run(app, "migrate-store", "--from", folder).exit_code == 0
    dumped = str(tmp_path / "archive")
    result = run(app, "dump", dumped)
    assert result.exit_code == 0 and "8 e-mail(s) dont 5 en attente" in result.output
    assert "Ne lancez ni mailer ni send-mail sur cette copie" in result.output
    copy = appstate.store(apps(dumped)).outbox
    assert copy.known_names() == appstate.store(app).outbox.known_names()
    assert sorted(os.listdir(os.path.join(dumped, "outbox"))) == sorted(
        name for name in copy.known_names() if name not in {names["sent"], names["refused"], names["deleted"]})
    assert os.listdir(os.path.join(dumped, "failed")) == [names["refused"]]


def test_migrate_store_carries_correction_ids_for_their_dossier_and_skips_links_to_none(single_server, database_url,
                                                                                       tmp_path, apps):
    """A folder written before correction ids were claimed for the reference links them to
    `<REF>-V<N>`: carried for REF (a correction re-posted after the move is recognised), and a
    link pointing at no dossier is named, not counted as an id carried."""
    ids = os.path.join(single_server, "ids")
    os.symlink("AMI-2021-0002-V2", os.path.join(ids, "id-de-correction-ancienne"))
    os.symlink("AMI-2021-0099", os.path.join(ids, "id-sans-dossier"))
    app = apps(str(tmp_path / "hote-a"), database_url)
    result = run(app, "migrate-store", "--from", single_server)
    assert result.exit_code == 0, result.output
    assert "4 dossier(s), 5 identifiant(s) d'envoi" in result.output
    assert "1 identifiant(s) d'envoi sans dossier (ids/) non copié(s)" in result.output
    store = appstate.store(app)
    assert store.dossier_posts.claimed("id-de-correction-ancienne") == "AMI-2021-0002"
    assert store.lookup_submission("id-sans-dossier") is None
    assert {reference for _id, reference in store.submission_links()} == {f"AMI-2021-000{n}" for n in range(1, 5)}
