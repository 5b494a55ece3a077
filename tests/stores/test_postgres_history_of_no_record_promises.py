"""On PostgreSQL, a history or a version is written only while its dossier's record exists, checked under
the history's lock: a dossier purged (or never stored) gets statuses.NoRecord and nothing is stored."""

from __future__ import annotations

import pytest

from collector.statuses import NoRecord
from collector.stores.postgres import PostgresStore
from tests.stores.test_postgres_histories_promises import adding


def test_an_append_or_a_version_for_a_dossier_without_its_record_is_refused_and_stores_nothing(database_url):
    store = PostgresStore.open_checked(database_url)
    try:
        with pytest.raises(NoRecord):
            store.histories.append("AMI-2021-0009", adding("après la purge"))
        with pytest.raises(NoRecord):
            store.versions.write("AMI-2021-0009", 2, b"reference: AMI-2021-0009\n")
        assert store.histories.read("AMI-2021-0009") is None and store.histories.references() == []
        assert store.versions.numbers("AMI-2021-0009") == []
    finally:
        store.close()
