"""collector/stores/postgres.py keeps the Store's promises (base.py) on a real PostgreSQL, and
its own: references `AMI-2021-0042` from one sequence that two stores share without reusing a
number, a claim that waits for a concurrent one, each record stored verbatim with its sha256,
the pool's errors surfacing as StoreUnavailable, French reasons when it cannot start, and a
copy (migrate-store) kept only once it reads back the same."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import datetime, timezone

import psycopg
import pytest

from collector.records import RecordError, build_record, serialise_record
from collector.stores.base import StoreConfigError, StoreUnavailable, TransferRefused
from collector.stores.postgres import PostgresStore, describe, document_hash, explain_connection_error
from tests.support.net import free_port
from tests.support.postgres import start_standby, stop_cluster

PREFIX = "AMI-2021"
RECEIVED = datetime(2021, 4, 15, 10, tzinfo=timezone.utc)
WINDOW = 600


@pytest.fixture
def store(database_url):
    opened = PostgresStore.open_checked(database_url, timeout=2.0)
    yield opened
    opened.close()


@pytest.fixture
def closed_port_url():
    """A URL whose port nothing listens on (the server is not there)."""
    return f"postgresql://ami_test:x@127.0.0.1:{free_port()}/ami"


def a_record(reference: str, title: str = "Tiers-lieu « Les Ateliers »", **extra) -> dict:
    return build_record(reference, RECEIVED, 3, {"projet_titre": title}, **extra)


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


# --- what every store promises ---


def test_it_is_the_postgresql_store_and_keeps_the_review_data_elsewhere(store):
    assert (store.kind, store.shares_everything) == ("postgresql", False)


def test_a_new_submission_gets_a_fresh_reference_and_keeps_it_when_posted_again(store, database_url):
    assert store.lookup_submission("envoi-1") is None
    assert store.reference_for("envoi-1", PREFIX) == ("AMI-2021-0001", True)
    assert store.lookup_submission("envoi-1") == "AMI-2021-0001"
    assert store.reference_for("envoi-1", PREFIX) == ("AMI-2021-0001", False)
    assert store.reference_for("envoi-2", PREFIX) == ("AMI-2021-0002", True)  # a repeat takes no number
    assert query(database_url, "SELECT submission_id, reference FROM submission_ids ORDER BY 1") == [
        ("envoi-1", "AMI-2021-0001"), ("envoi-2", "AMI-2021-0002")]


def test_references_have_four_digits_at_least_from_the_sequence(store, database_url):
    query(database_url, "SELECT setval('reference_number', 41)")
    assert store.reference_for("envoi-1", PREFIX) == ("AMI-2021-0042", True)
    query(database_url, "SELECT setval('reference_number', 12344)")
    assert store.reference_for("envoi-2", PREFIX) == ("AMI-2021-12345", True)


def test_two_stores_sharing_one_database_never_hand_out_a_number_twice(store, database_url):
    other = PostgresStore.open_checked(database_url)
    try:
        given = [(store, other)[n % 2].reference_for(f"envoi-{n}", PREFIX) for n in range(8)]
    finally:
        other.close()
    assert given == [(f"AMI-2021-{n:04d}", True) for n in range(1, 9)]
    assert store.last_reference_number(PREFIX) == 8


def test_a_submission_claimed_meanwhile_on_another_host_is_waited_for_and_takes_no_number(store, database_url):
    """The other host holds the submission id's lock in its open transaction: this claim waits,
    then reads the other host's claim once it commits."""
    answer: dict = {}
    with psycopg.connect(database_url) as other_host:
        other_host.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("envoi-1",))
        claiming = threading.Thread(target=lambda: answer.update(given=store.reference_for("envoi-1", PREFIX)))
        claiming.start()
        while claiming.is_alive() and not query(database_url, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                                                              "AND NOT granted"):
            time.sleep(0.05)
        other_host.execute("INSERT INTO submission_ids (submission_id, reference) VALUES ('envoi-1', 'AMI-2021-0007')")
    claiming.join(60)
    assert answer["given"] == ("AMI-2021-0007", False)
    assert store.last_reference_number(PREFIX) == 0


def waiting_backend(url: str) -> int | None:
    """The process id of a backend waiting for a lock, if any."""
    rows = query(url, "SELECT pid FROM pg_locks WHERE NOT granted")
    return rows[0][0] if rows else None


def test_a_connection_lost_in_the_middle_of_a_claim_surfaces_as_store_unavailable(store, database_url):
    """The server ends the claim's connection while it waits (an administrator, a failover)."""
    failure: dict = {}

    def claim() -> None:
        try:
            store.reference_for("envoi-1", PREFIX)
        except Exception as error:  # noqa: BLE001 - the test reads which one
            failure["error"] = error

    with psycopg.connect(database_url) as other_host:
        other_host.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("envoi-1",))
        claiming = threading.Thread(target=claim)
        claiming.start()
        while claiming.is_alive() and (pid := waiting_backend(database_url)) is None:
            time.sleep(0.05)
        query(database_url, "SELECT pg_terminate_backend(%s)", (pid,))
        claiming.join(60)
    assert isinstance(failure.get("error"), StoreUnavailable), failure
    assert store.lookup_submission("envoi-1") is None  # the pool gives a fresh connection: usable again


def test_a_released_submission_forgets_its_reference_and_only_that_one(store):
    reference, _fresh = store.reference_for("envoi-1", PREFIX)
    store.release_submission("envoi-1", "AMI-2021-9999")  # not its reference: kept
    assert store.lookup_submission("envoi-1") == reference
    store.release_submission("envoi-1", reference)
    assert store.lookup_submission("envoi-1") is None and store.submission_links() == []


def test_a_record_is_written_once_and_read_back_as_written(store):
    record = a_record("AMI-2021-0001")
    assert not store.has_record("AMI-2021-0001") and store.read_record("AMI-2021-0001") is None
    assert store.write_record(record) is True
    assert store.has_record("AMI-2021-0001") and store.read_record("AMI-2021-0001") == record
    assert store.write_record(a_record("AMI-2021-0001", "Autre titre")) is False  # a second write changes nothing
    assert store.read_record("AMI-2021-0001") == record
    assert store.record_text("AMI-2021-0001") == serialise_record(record)


def test_a_record_is_stored_verbatim_with_its_sha256_and_the_columns_the_pages_query(store, database_url):
    record = a_record("AMI-2021-0001", flags=["tardif", "doublon"],
                      derived={"departement": {"code": "14", "nom": "Calvados"}})
    bare = a_record("AMI-2021-0002")
    unknown_place = a_record("AMI-2021-0003", derived={"departement": "inconnu"})
    for each in (record, bare, unknown_place):
        store.write_record(each)
    rows = query(database_url, "SELECT reference, received_at, form_version, content_hash, departement, flags, "
                               "document, document_sha256 FROM records ORDER BY reference")
    document = serialise_record(record)
    assert rows[0] == ("AMI-2021-0001", RECEIVED, "3", record["content_hash"], "14", ["tardif", "doublon"],
                       document.decode("utf-8"), "sha256:" + hashlib.sha256(document).hexdigest())
    assert rows[1][4:6] == (None, []) and rows[2][4:6] == (None, [])
    assert document_hash(b"") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_the_latest_record_is_the_first_one_its_only_version(store):
    record = a_record("AMI-2021-0001")
    store.write_record(record)
    assert store.latest_record("AMI-2021-0001") == {**record, "version": 1, "versions": 1}
    with pytest.raises(RecordError, match=r"^AMI-2021-0002\.yaml : enregistrement absent\.$"):
        store.latest_record("AMI-2021-0002")


def test_a_record_text_is_the_stored_document_and_a_missing_one_is_named(store, database_url):
    record = a_record("AMI-2021-0004", "Médiation numérique — été 2021")
    store.write_record(record)
    (stored,), = query(database_url, "SELECT document FROM records")
    assert store.record_text("AMI-2021-0004") == stored.encode("utf-8") == serialise_record(record)
    assert store.record_file("AMI-2021-0004") is None  # no file a reader could open
    with pytest.raises(RecordError, match=r"^AMI-2021-0005\.yaml : enregistrement absent\.$"):
        store.record_text("AMI-2021-0005")


def test_references_and_links_are_listed_in_order(store):
    assert store.references() == [] and store.submission_links() == []
    for submission_id, reference in (("zeta", "AMI-2021-0010"), ("alpha", "AMI-2021-0002"), ("mu", "AMI-2021-0003")):
        store.write_record(a_record(reference))
        store.reference_for(submission_id, PREFIX)
    assert store.references() == ["AMI-2021-0002", "AMI-2021-0003", "AMI-2021-0010"]
    assert store.submission_links() == [("alpha", "AMI-2021-0002"), ("mu", "AMI-2021-0003"), ("zeta", "AMI-2021-0001")]


def test_the_last_reference_number_counts_what_was_handed_out(store):
    assert store.last_reference_number(PREFIX) == 0
    store.reference_for("envoi-1", PREFIX)
    assert store.last_reference_number(PREFIX) == 1
    store.reference_for("envoi-2", PREFIX)
    assert store.last_reference_number(PREFIX) == 2


# --- the rate limit, shared in rate_hits ---


def test_the_rate_limit_counts_as_the_data_folder_does_across_windows_and_clients(store, data_dir):
    from collector.ratelimit import RateLimiter

    folder, shared = RateLimiter(data_dir, 3, WINDOW, "clé"), store.rate_limiter("envoi", 3, WINDOW, "clé")
    moments = [100 * WINDOW + n * 97.0 for n in range(26)]  # four windows and more
    clients = ["192.0.2.1" if n % 3 else "198.51.100.7" for n in range(26)]
    expected = [folder.hit(client, moment) for client, moment in zip(clients, moments)]
    assert [shared.hit(client, moment) for client, moment in zip(clients, moments)] == expected
    assert any(expected) and None in expected


def test_a_client_new_in_a_window_gets_the_limit_exactly_from_its_very_start(store, data_dir):
    from collector.ratelimit import RateLimiter

    folder, shared = RateLimiter(data_dir, 3, WINDOW, "clé"), store.rate_limiter("envoi", 3, WINDOW, "clé")
    start = 100 * WINDOW  # no post in the window before: nothing weighs but this window's posts
    expected = [folder.hit("192.0.2.1", start) for _post in range(4)]
    assert [shared.hit("192.0.2.1", start) for _post in range(4)] == expected == [None, None, None, 901]


def test_rate_hits_keep_the_previous_window_and_drop_older_ones_per_limiter(store, database_url):
    form, links = store.rate_limiter("envoi", 5, WINDOW, "clé"), store.rate_limiter("lien", 5, WINDOW, "clé")
    links.hit("192.0.2.1", 100 * WINDOW)
    form.hit("192.0.2.1", 100 * WINDOW)
    form.hit("198.51.100.7", 101 * WINDOW)
    windows = "SELECT limiter, window_number FROM rate_hits ORDER BY 1, 2"
    assert query(database_url, windows) == [("envoi", 100), ("envoi", 101), ("lien", 100)]
    form.hit("198.51.100.7", 102 * WINDOW)  # the first post of a window drops the windows before the previous
    assert query(database_url, windows) == [("envoi", 101), ("envoi", 102), ("lien", 100)]
    form.hit("198.51.100.7", 102 * WINDOW + 1)
    assert query(database_url, windows) == [("envoi", 101), ("envoi", 102), ("lien", 100)]
    assert query(database_url, "SELECT count FROM rate_hits WHERE window_number = 102") == [(2,)]


# --- when PostgreSQL is not there ---


class _Kept(logging.Handler):
    """Keeps the records a logger emits (attached to that logger itself: what other tests do to
    the root logger's handlers or to propagation cannot hide them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_server_not_there_surfaces_as_store_unavailable_on_every_call(closed_port_url):
    store = PostgresStore(closed_port_url, timeout=0.5)
    store.pool.open(wait=False)
    logger, kept, level = logging.getLogger("collector.stores"), _Kept(), logging.getLogger("collector.stores").level
    # Pelican, once imported in this process (the site's tests), makes every logger created after it drop
    # repeated messages (its LimitFilter); the collector never imports it. This test counts them: no filter meanwhile.
    filters, logger.filters = logger.filters, []
    logger.addHandler(kept)
    logger.setLevel(logging.WARNING)
    try:
        for call in (lambda: store.lookup_submission("envoi-1"), lambda: store.reference_for("envoi-1", PREFIX),
                     lambda: store.write_record(a_record("AMI-2021-0001")), lambda: store.references(),
                     lambda: store.last_reference_number(PREFIX)):
            with pytest.raises(StoreUnavailable, match=r"^PostgreSQL indisponible \(PoolTimeout\)$"):
                call()
        ours = [record.getMessage() for record in kept.records]
        assert ours == ["postgresql unavailable: PoolTimeout"] * 5  # its kind, never the address
        assert store.check() == "base PostgreSQL injoignable"
        assert store.rate_limiter("envoi", 1, WINDOW, "clé").hit("192.0.2.1", 100 * WINDOW) is None  # uncounted
    finally:
        logger.removeHandler(kept)
        logger.setLevel(level)
        logger.filters = filters
        store.close()


@pytest.mark.parametrize("pool_size", [0, 1])
def test_a_pool_of_one_connection_all_lent_out_surfaces_as_store_unavailable(database_url, pool_size):
    store = PostgresStore(database_url, pool_size=pool_size, timeout=0.5)
    store.pool.open(wait=True)
    try:
        with store.pool.connection():  # the only connection, lent to another request
            with pytest.raises(StoreUnavailable, match="PoolTimeout"):
                store.has_record("AMI-2021-0001")
        assert store.has_record("AMI-2021-0001") is False  # given back: usable again
    finally:
        store.close()


def test_the_pool_keeps_one_connection_open_and_close_ends_it(database_url):
    store = PostgresStore(database_url)
    store.pool.open(wait=True)
    ours = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ami-collector' "
            "AND datname = current_database()")
    assert query(database_url, ours) == [(1,)]
    store.close()
    assert query(database_url, ours) == [(0,)]


def test_check_passes_on_a_current_schema_and_names_an_old_one(store, database_url):
    assert store.check() is None
    query(database_url, "DELETE FROM schema_version WHERE version = (SELECT max(version) FROM schema_version)")
    assert "est plus ancien que celui du code" in store.check()


def test_check_reports_a_database_it_cannot_query_instead_of_raising(store, database_url):
    query(database_url, "DROP TABLE schema_version")
    assert store.check() == "base PostgreSQL injoignable"


# --- start-up: French reasons, never the password ---


def test_open_checked_refuses_a_database_without_the_schema(postgres_cluster):
    empty = postgres_cluster.url(postgres_cluster.new_database())
    with pytest.raises(StoreConfigError, match="ne contient pas encore le schéma du collecteur"):
        PostgresStore.open_checked(empty)


def test_open_checked_says_what_to_fix_without_the_password(postgres_cluster, closed_port_url):
    wrong_password = postgres_cluster.url(password="pas-le-bon")
    missing = postgres_cluster.url("ami_absente")
    for url, reason in ((wrong_password, "refuse l'identifiant ou le mot de passe"), (missing, "n'existe pas"),
                        (closed_port_url, "ne répond pas")):
        with pytest.raises(StoreConfigError) as refused:
            PostgresStore.open_checked(url)
        assert reason in str(refused.value) and describe(url) in str(refused.value)
        assert "pas-le-bon" not in str(refused.value) and ":x@" not in str(refused.value)


@pytest.mark.parametrize("error, reason", [
    (psycopg.errors.InvalidPassword("refusé"), "refuse l'identifiant"),
    (psycopg.errors.InvalidAuthorizationSpecification("refusé"), "refuse l'identifiant"),
    (psycopg.OperationalError("password authentication failed"), "refuse l'identifiant"),
    (psycopg.errors.InvalidCatalogName("absente"), "n'existe pas"),
    (psycopg.OperationalError('database "x" does not exist'), "n'existe pas"),
    (psycopg.OperationalError("connection refused"), "ne répond pas"),
])
def test_each_connection_error_is_explained_in_french(error, reason):
    assert reason in explain_connection_error(error, "postgresql://u:secret@h:6543/db")
    assert "u@h:6543/db" in explain_connection_error(error, "postgresql://u:secret@h:6543/db")


@pytest.mark.parametrize("url, shown", [
    ("postgresql://u:secret@h:6543/db", "u@h:6543/db"),
    ("postgresql:///x", "?@localhost:5432/x"),
    ("host=a port=b", "?@a:b/?"),
    ("postgresql://[", "(adresse illisible)"),
])
def test_a_url_is_described_without_its_password(url, shown):
    assert describe(url) == shown


# --- migrate-store's copy: into an empty store, verified, or nothing ---


def documents(*references: str) -> list[tuple[bytes, dict]]:
    return [(serialise_record(a_record(reference)), a_record(reference)) for reference in references]


@pytest.mark.parametrize("last_number, next_reference", [(0, "AMI-2021-0001"), (1, "AMI-2021-0002"),
                                                         (41, "AMI-2021-0042")])
def test_a_copy_sets_the_counter_so_that_numbers_go_on(store, last_number, next_reference):
    store.import_contents([], [], last_number)
    assert store.last_reference_number(PREFIX) == last_number
    assert store.reference_for("envoi-1", PREFIX) == (next_reference, True)


def test_a_copy_keeps_records_and_links_as_given(store, database_url):
    store.import_contents(documents("AMI-2021-0001", "AMI-2021-0002"), [("b", "AMI-2021-0002"), ("a", "AMI-2021-0001")], 2)
    assert store.references() == ["AMI-2021-0001", "AMI-2021-0002"]
    assert store.submission_links() == [("a", "AMI-2021-0001"), ("b", "AMI-2021-0002")]
    assert store.record_text("AMI-2021-0002") == documents("AMI-2021-0002")[0][0]


def test_a_copy_of_hundreds_of_links_reads_back_and_is_kept(store):
    links = [(f"envoi-{n:04d}", f"AMI-2021-{n:04d}") for n in range(1, 301)]  # counts past CPython's cached ints
    store.import_contents([], links, 300)
    assert store.submission_links() == links and store.last_reference_number(PREFIX) == 300


def test_a_copy_into_a_store_holding_anything_is_refused(store):
    store.reference_for("envoi-1", PREFIX)
    with pytest.raises(TransferRefused, match="la base contient déjà 1 dossier"):
        store.import_contents(documents("AMI-2021-0009"), [], 9)
    assert store.references() == [] and store.last_reference_number(PREFIX) == 1


def test_a_copy_started_while_another_writer_holds_the_tables_waits_then_refuses(store, database_url):
    refusal: dict = {}

    def copy() -> None:
        try:
            store.import_contents(documents("AMI-2021-0001"), [("a", "AMI-2021-0001")], 1)
        except TransferRefused as error:
            refusal["error"] = error

    with psycopg.connect(database_url) as other_writer:  # its insert is not committed yet
        other_writer.execute("INSERT INTO submission_ids (submission_id, reference) VALUES ('z', 'AMI-2021-0009')")
        copying = threading.Thread(target=copy)
        copying.start()
        while copying.is_alive() and waiting_backend(database_url) is None:
            time.sleep(0.05)
    copying.join(60)
    assert "la base contient déjà 1 dossier(s) ou identifiant(s)" in str(refusal.get("error"))
    assert store.references() == [] and store.submission_links() == [("z", "AMI-2021-0009")]


@pytest.mark.parametrize("trigger", [
    "IF NEW.submission_id = 'b' THEN RETURN NULL; END IF; RETURN NEW;",  # one link lost
    "IF NEW.submission_id = 'b' THEN INSERT INTO submission_ids VALUES ('b-copie', NEW.reference); END IF; "
    "RETURN NEW;",  # one link more
])
def test_a_copy_whose_links_do_not_read_back_is_rolled_back(store, database_url, trigger):
    """Fault injection in the database: a trigger drops one link, or adds one, as it is inserted."""
    query(database_url, f"""
        CREATE FUNCTION garble_link() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {trigger} END $$;
        CREATE TRIGGER garble_link BEFORE INSERT ON submission_ids FOR EACH ROW
            WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION garble_link();""")
    with pytest.raises(TransferRefused, match="la copie relue ne correspond pas"):
        store.import_contents(documents("AMI-2021-0001", "AMI-2021-0002"),
                              [("a", "AMI-2021-0001"), ("b", "AMI-2021-0002")], 2)
    assert store.references() == [] and store.submission_links() == [] and store.last_reference_number(PREFIX) == 0


# --- a standby server (read-only) ---


@pytest.fixture
def standby_url(postgres_cluster, database_url):
    """The test database on a hot standby of the test cluster (read-only: in recovery)."""
    standby = start_standby(postgres_cluster)
    try:
        yield standby.url(database_url.rsplit("/", 1)[1])
    finally:
        stop_cluster(standby)


def test_check_names_a_standby_server_it_cannot_write_to(standby_url):
    store = PostgresStore.open_checked(standby_url)
    try:
        assert store.check() == "base PostgreSQL en lecture seule (serveur de secours)"
    finally:
        store.close()
