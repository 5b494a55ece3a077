"""The rate limit on PostgreSQL: ratelimit.py's sliding window, counted in one table that every
worker of every host shares, keyed by hashes (no address), separate per limiter."""

from __future__ import annotations

import psycopg
import pytest

from collector.stores.postgres import PostgresStore

WINDOW = 600
START = 100 * WINDOW + 10


@pytest.fixture
def store(database_url):
    opened = PostgresStore(database_url, timeout=1.0)
    opened.pool.open()
    yield opened
    opened.close()


def limiter(store: PostgresStore, limit: int = 5, name: str = "envoi"):
    return store.rate_limiter(name, limit, WINDOW, "clé de test")


def test_posts_within_the_limit_pass_and_the_next_one_waits(store):
    rate = limiter(store)
    assert [rate.hit("192.0.2.1", START + i) for i in range(5)] == [None] * 5
    wait = rate.hit("192.0.2.1", START + 5)
    assert wait is not None and 0 < wait <= 2 * WINDOW


def test_a_burst_across_the_end_of_a_window_is_still_limited(store):
    rate, boundary = limiter(store), 100 * WINDOW
    assert rate.hit("192.0.2.1", boundary - 0.5) is None
    answers = [rate.hit("192.0.2.1", boundary + 0.5 + i / 10) for i in range(5)]
    assert answers[:4] == [None] * 4 and answers[4] is not None


def test_two_hosts_count_in_the_same_place_clients_and_limiters_apart(store, database_url):
    other_host = PostgresStore(database_url)
    other_host.pool.open()
    try:
        hosts = [limiter(store), limiter(other_host)]
        assert [hosts[i % 2].hit("192.0.2.1", START + i) for i in range(5)] == [None] * 5
        assert hosts[1].hit("192.0.2.1", START + 6) is not None
        assert hosts[0].hit("198.51.100.7", START + 7) is None
        assert limiter(other_host, name="lien-client").hit("192.0.2.1", START + 8) is None  # another limit
    finally:
        other_host.close()


def test_the_same_retry_after_as_the_data_folder(store, data_dir):
    from collector.ratelimit import RateLimiter

    folder = RateLimiter(data_dir, 5, WINDOW, "clé de test")
    shared = limiter(store)
    moments = [START + i * 37.5 for i in range(12)]
    assert [shared.hit("192.0.2.1", t) for t in moments] == [folder.hit("192.0.2.1", t) for t in moments]


def test_the_table_keeps_no_address_and_prunes_old_windows(store, database_url):
    rate = limiter(store)
    rate.hit("192.0.2.1", START)
    rate.hit("192.0.2.1", START + 5 * WINDOW)
    with psycopg.connect(database_url) as connection:
        rows = connection.execute("SELECT client, window_number FROM rate_hits").fetchall()
    assert len(rows) == 1 and "192.0.2" not in rows[0][0]


def test_a_database_out_of_reach_lets_posts_through_uncounted(store, postgres_cluster):
    rate = limiter(store, limit=1)
    postgres_cluster.stop()
    try:
        assert [rate.hit("192.0.2.1", START + i) for i in range(3)] == [None] * 3
    finally:
        postgres_cluster.start()


def test_a_post_taken_back_frees_its_place_in_the_window(store):
    """ClientAndNetworkLimiter takes back a client's post that its network refused (network_limit.py)."""
    rate = limiter(store, limit=1)
    assert rate.hit("192.0.2.1", START) is None
    rate.give_back("192.0.2.1", START)
    assert rate.hit("192.0.2.1", START + 1) is None
    assert rate.hit("192.0.2.1", START + 2) is not None
