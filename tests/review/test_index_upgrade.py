"""An index left by the previous release (another schema) is rebuilt by the next reader, whoever touches it first.

A web worker started after an upgrade may first use the index as a writer (a porteur's post
indexes the new record): writers never build the index, and they must not write into, nor keep
open, a file of another schema either — the review pages that follow rebuild it and work.
"""

from __future__ import annotations

import sqlite3

import pytest

from collector import appstate, events, sqlite_files
from collector.review.indexing import app_index
from tests.conftest import STORE_KINDS
from tests.review.factory import make_record


def downgrade_to_schema_3(path: str) -> None:
    """The index as the release before the RNA and structure-name keys made it."""
    connection = sqlite3.connect(path, isolation_level=None)
    for statement in ("DROP INDEX records_rna", "DROP INDEX records_nom", "ALTER TABLE records DROP COLUMN rna_key",
                      "ALTER TABLE records DROP COLUMN nom_key", "UPDATE meta SET value = '3' WHERE key = 'schema'"):
        connection.execute(statement)
    connection.close()


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_an_index_of_the_previous_schema_first_touched_by_a_writer_is_rebuilt_by_the_review_pages(
        app, logged_in, records, form, test_store):
    index = app_index(app)
    index.rebuild()
    downgrade_to_schema_3(index.path)
    sqlite_files.close_under(appstate.data_dir(app))  # a worker just started: nothing open yet
    record = make_record(form, 13)
    assert test_store.write_record(record)
    with app.test_request_context():  # what the intake does once a post is stored
        events.record_stored.send(app, record=record, path=test_store.record_file(record["reference"]))
    pages = [logged_in.get("/instruction/") for _ in range(3)] + [logged_in.get("/instruction/AMI-2021-0001")]
    assert [page.status_code for page in pages] == [200] * 4
    assert "AMI-2021-0013" in pages[0].text  # the writer's record is in the rebuilt index
