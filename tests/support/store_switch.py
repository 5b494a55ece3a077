"""The `--store` switch: which store the tests that build the app through the shared fixtures use.

`--store=folder` (the default) keeps the data folder; `--store=postgres` gives every test that
relies on tests/conftest.py's `store_kind` a fresh PostgreSQL database instead (its id ends with
`[postgres]`); `--store=both` runs each such test on both. The servers a module shares take their
store from `server_store_kind` (tests/support/server_store.py), which the switch parametrises the
same way at module scope: one server per module and store. A module that parametrises
`store_kind` itself (with a fixture of its own or a `parametrize` mark) keeps its choice, and a
test in FOLDER_ONLY stays on the data folder: it proves a promise of the folder store's files.
Tests that end up on PostgreSQL carry the `on_postgresql` marker; those the switch moved there
also carry `switched_to_postgresql`, so that `pytest --store=postgres -m switched_to_postgresql`
runs only what the default run does not already run on PostgreSQL (`make test`'s second pass)."""

from __future__ import annotations

import pytest

CHOICES = {"folder": ("folder",), "postgres": ("postgres",), "both": ("folder", "postgres")}
MARKER = "on_postgresql"
SWITCHED = "switched_to_postgresql"

# Node id prefixes of the tests that inspect the data folder's files by design, with why.
FOLDER_ONLY: dict[str, str] = {
    "tests/proof/test_hostile_data_folder.py": "edits, corrupts and replaces the data folder's files by hand",
    "tests/proof/test_outbox.py": "tidies the folder outbox's sent/ and failed/ by hand",
    "tests/proof/test_mail_senders.py": "puts a file in place of outbox/ and ages its files",
    "tests/porteur/test_mail_catch_up.py": "makes os.link into the folder's outbox/ fail",
    "tests/review/test_mail.py": "drives the folder outbox (collector.mail.delivery) on the data folder's path",
    "tests/review/test_mail_batches.py": "counts the fsyncs of outbox/ and mail-queued/",
    "tests/review/test_mail_queue_promises.py": "the folder outbox's batch queueing (mail-queued/, outbox/ by hand)",
    "tests/review/test_command_outputs.py::test_export_refuses_to_write_over_a_record_and_leaves_it_intact":
        "exports onto a record file of the data folder",
    "tests/review/test_command_outputs.py::test_a_record_the_system_refuses_to_read_is_named_as_unreadable_and_nothing_is_written":
        "refuses the reading of a record file of the data folder",
    "tests/review/test_command_outputs.py::test_an_export_killed_while_writing_leaves_nothing_in_the_destination":
        "a real export process started on the data folder's environment",
    "tests/review/test_mail_pipeline.py": "watches the folder outbox's mail-queued/ and sent/ files between two batches",
    "tests/review/test_index.py": "the SQLite index derived from the data folder's files, edited by hand",
    "tests/review/test_index_new_process.py": "the SQLite index's trust in the data folder's file signatures",
    "tests/review/test_index_rebuild.py": "reindex reads the data folder's files in several processes",
    "tests/review/test_index_listed.py": "the SQLite index's rendered rows, derived from the data folder's files edited "
                                         "by hand",
    "tests/review/test_mail_connections.py::test_a_bursts_batches_go_through_one_smtp_connection_per_sender_thread":
        "the folder mailer's burst delivery (PostgreSQL's: tests/stores/test_postgres_outbox_promises.py)",
    "tests/review/test_mailer.py::test_new_records_wait_for_a_lull_in_the_posts_before_their_mails_are_composed":
        "the folder mailer's lull is read from submissions/'s mtime",
    "tests/review/test_commands.py::test_bad_records_are_named_by_check_list_and_export": "breaks record files by hand",
    "tests/review/test_commands.py::test_check_validates_every_record_even_one_whose_hash_was_recomputed":
        "edits a record file by hand",
    "tests/review/test_commands.py::test_a_record_named_differently_from_its_reference_is_reported":
        "renames a record file",
    "tests/review/test_commands.py::test_odd_hand_edits_never_crash_a_command": "edits a record file by hand",
    "tests/review/test_commands.py::test_create_user_stores_a_scrypt_hash_never_the_password":
        "reads accounts/users.yaml",
    "tests/review/test_review_pages.py::test_the_throttle_database_holds_no_name_or_address":
        "reads state/login-throttle.sqlite3",
    "tests/review/test_review_pages.py::test_a_deleted_account_loses_access": "deletes accounts/users.yaml",
    "tests/proof/test_load.py::test_5000_submissions_from_32_clients_give_exactly_one_valid_record_each":
        "its PostgreSQL counterpart is tests/stores/test_several_hosts.py (the same 5,000 submissions from 32 "
        "clients, through nginx to two hosts); once more here took over pytest's 600 s limit on a loaded machine",
    "tests/proof/test_faults.py::test_a_full_disk_gives_a_french_503_stores_nothing_partial_and_recovers":
        "fills the data folder's file system (PostgreSQL's equivalent, its database going away: "
        "test_a_database_gone_away_gives_a_french_503_stores_nothing_partial_and_recovers)",
    "tests/proof/test_faults.py::test_healthz_on_a_full_disk_answers_503_and_leaves_nothing_in_tmp":
        "fills the data folder's file system",
}


def add_option(parser: pytest.Parser) -> None:
    parser.addoption("--store", choices=sorted(CHOICES), default="folder",
                     help="store of the tests that build the app through the shared fixtures: "
                          "folder (default), postgres, or both")


def declare_marker(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the test runs on PostgreSQL (by the --store switch or "
                                       "by the module's own parametrisation)")
    config.addinivalue_line("markers", f"{SWITCHED}: the --store switch moved the test to PostgreSQL")


def folder_only_reason(nodeid: str) -> str | None:
    """Why the test of `nodeid` stays on the data folder, or None."""
    for prefix, reason in FOLDER_ONLY.items():
        if nodeid.startswith(prefix):
            return reason
    return None


# The fixture the switch parametrises at module scope, for modules whose servers are shared by
# all their tests (tests/support/server_store.py).
SERVER_STORE_KIND = "server_store_kind"


def parametrise(metafunc: pytest.Metafunc, default_fixture) -> None:
    """Parametrise `store_kind` by the switch, for the tests that use the shared default fixture,
    and `server_store_kind` (at module scope) for those that use a module-shared server's store."""
    kinds = CHOICES[metafunc.config.getoption("--store")]
    if kinds == ("folder",) or folder_only_reason(metafunc.definition.nodeid):
        return
    from tests.support.server_store import server_store_kind

    for name, default, scope in (("store_kind", default_fixture, "function"),
                                 (SERVER_STORE_KIND, server_store_kind, "module")):
        if _uses_default(metafunc, name, default):
            metafunc.parametrize(name, [pytest.param(kind, id=kind, marks=[getattr(pytest.mark, SWITCHED)]
                                                     if kind == "postgres" else []) for kind in kinds], scope=scope)


def _uses_default(metafunc: pytest.Metafunc, name: str, default_fixture) -> bool:
    """True when the test gets `name` from its shared default fixture, not parametrised by its module."""
    if name not in metafunc.fixturenames:
        return False
    definitions = metafunc._arg2fixturedefs.get(name)  # the closest definition is last
    if not definitions or definitions[-1].func is not getattr(default_fixture, "__wrapped__", default_fixture):
        return False
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if name in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return False
    return True


def mark_postgres_items(items: list[pytest.Item]) -> None:
    """Adds the `on_postgresql` marker to every test that runs on PostgreSQL."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgres" in (callspec.params.get("store_kind"),
                                                   callspec.params.get(SERVER_STORE_KIND)):
            item.add_marker(MARKER)
