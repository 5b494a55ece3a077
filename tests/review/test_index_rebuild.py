"""`reindex`: the same index whether the files are read by one process or several, and a
rebuild that fails leaves the index in place and no half-written file behind."""

from __future__ import annotations

import os

import pytest

from collector.review.index import Selection
from collector.statuses import change_status
from tests.review.test_index import index_path, open_index, table_rows


@pytest.fixture
def reviewed(data_dir, records):
    """Twelve records, some with a history."""
    for number in (2, 5, 9):
        change_status(data_dir, f"AMI-2021-{number:04d}", "en_instruction", by="alice")
    return records


def test_several_processes_build_the_index_one_process_builds(data_dir, form, reviewed):
    open_index(data_dir, form).rebuild(processes=1)
    alone = table_rows(data_dir)
    open_index(data_dir, form).rebuild(processes=3)
    assert table_rows(data_dir) == alone
    assert len(alone["histories"]) == 3 and len(alone["records"]) == 12


def test_a_failed_rebuild_leaves_the_index_in_place_and_nothing_half_written(data_dir, form, reviewed, monkeypatch):
    index = open_index(data_dir, form)
    index.rebuild()
    before = table_rows(data_dir)

    def failing(self, files):
        raise OSError("disk error while reading")

    monkeypatch.setattr(type(index), "_read_histories", failing)
    with pytest.raises(OSError):
        open_index(data_dir, form).rebuild(processes=1)
    state = os.path.dirname(index_path(data_dir))
    assert sorted(name for name in os.listdir(state) if ".new" in name) == []
    assert table_rows(data_dir) == before
    assert open_index(data_dir, form).total() == 12
    assert {e.status for e in open_index(data_dir, form).select(Selection(status="en_instruction"))} == {
        "en_instruction"}
