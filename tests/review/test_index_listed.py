"""What `list` prints comes from rows the index rendered when it read each file, and a
one-shot command looks at the files once without setting up a watch.

The index keeps, per record, the list's texts already rendered (the time of receipt as
read, the organisation and the département as shown) so that a row costs no JSON decode
nor date formatting; they must say exactly what the record's entry says, and follow a
hand edit at the next command. A command outside any request sets up no inotify watch
(nobody would read it); a web request's index follows the store.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from collector.review.catalog import format_departement, format_received
from collector.review.folder_watch import WATCH
from collector.review.index import DB_FILE, RecordIndex, Selection
from collector.review.indexing import app_index
from collector.review.validity import record_validator
from collector.statuses import change_status
from tests.review.test_commands import lines_with, make_invalid
from tests.review.test_index import edit_record, known  # noqa: F401 - fixture

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def listed_row(data_dir: str, reference: str) -> tuple:
    with sqlite3.connect(os.path.join(data_dir, "state", DB_FILE)) as db:
        return db.execute("SELECT received, organisation, departement, version FROM listed WHERE name = ?",
                          (reference,)).fetchone()


def open_index(data_dir: str, form, follow: bool = True) -> RecordIndex:
    return RecordIndex(data_dir, record_validator(form, trust_hash=True), follow=follow)


def test_the_index_keeps_each_records_list_row_rendered(data_dir, form, records):
    open_index(data_dir, form).sync()
    received, organisation, departement, version = listed_row(data_dir, "AMI-2021-0001")
    record = records[0]
    assert received == format_received_text(record["received_at"])
    assert organisation == record["answers"]["raison_sociale"]
    assert departement == f"{record['derived']['departement']['name']} ({record['derived']['departement']['code']})"
    assert version == 1


def format_received_text(received_at: str) -> str:
    """`2021-03-29T09:42:00+02:00` → `29/03/2021 09:42`: the time as the record wrote it."""
    return f"{received_at[8:10]}/{received_at[5:7]}/{received_at[:4]} {received_at[11:16]}"


def test_list_rows_say_what_the_entries_say(data_dir, form, known):  # noqa: F811 - fixture
    """Duplicates (same SIRET, same e-mail), a record that no longer validates, a status: the
    rows and the entries agree, in the same order."""
    change_status(data_dir, "AMI-2021-0003", "en_instruction", by="alice")
    make_invalid(data_dir, "AMI-2021-0007")
    index = open_index(data_dir, form)
    for selection in (Selection(), Selection(sort="structure", descending=True), Selection(departement="14")):
        rows = index.listing(selection)
        entries = index.select(selection)
        assert [(row.reference, row.received, row.organisation, row.thematiques, row.departement, row.status,
                 row.flags, row.version) for row in rows] == [
            (e.reference, format_received(e), e.organisation, e.thematiques, format_departement(e), e.status,
             e.flags, e.version) for e in entries]
    flags = {row.reference: row.flags for row in index.listing(Selection())}
    assert "doublon_email" in flags["AMI-2021-0030"] and "doublon_siret" in flags["AMI-2021-0031"]
    assert "a_verifier" in flags["AMI-2021-0007"]


def run_list(env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "collector", "list"], cwd=REPO_ROOT,
                            env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_record_edited_by_hand_shows_its_new_date_and_name_at_the_next_list(review_env, data_dir, records):
    before = lines_with(run_list(review_env), "AMI-2021-0004")[0]
    assert "Tiers-lieu du bocage" not in before

    def change(record):
        record["received_at"] = "2021-05-02T08:15:00+02:00"
        record["answers"]["raison_sociale"] = "Tiers-lieu du bocage"

    edit_record(data_dir, "AMI-2021-0004", change)  # in place: no folder's mtime changes
    after = lines_with(run_list(review_env), "AMI-2021-0004")[0]
    assert "02/05/2021 08:15" in after and "Tiers-lieu du bocage" in after


def test_a_one_shot_index_sets_up_no_watch_and_still_sees_a_hand_edit(data_dir, form, records):
    folder = os.path.join(data_dir, "submissions")
    assert open_index(data_dir, form, follow=False).total() == 12
    assert folder not in WATCH._folders
    edit_record(data_dir, "AMI-2021-0002", lambda r: r["answers"].update(raison_sociale="Fablab renommé"))
    rows = open_index(data_dir, form, follow=False).listing(Selection())
    assert [row.organisation for row in rows if row.reference == "AMI-2021-0002"] == ["Fablab renommé"]
    assert folder not in WATCH._folders
    open_index(data_dir, form).sync()  # a process that will look again watches the folder
    assert folder in WATCH._folders


def test_a_command_looks_once_and_a_request_follows_the_store(app):
    with app.app_context():
        assert app_index().follow is False
        assert app_index(app, follow=True).follow is True  # the mailer's upkeep and look-ups
    with app.test_request_context("/instruction/"):
        assert app_index().follow is True
