"""The per-client post limit: shared by every worker, sliding, and keeping no address."""

from __future__ import annotations

import os
import sqlite3

from hypothesis import HealthCheck, given, settings, strategies as st

from collector.network_limit import ClientAndNetworkLimiter
from collector.ratelimit import RateLimiter

WINDOW = 600


def limiter(data_dir: str, limit: int = 5) -> RateLimiter:
    return RateLimiter(data_dir, limit, WINDOW, "clé de test")


def test_posts_within_the_limit_pass_and_the_next_one_waits(data_dir):
    rate = limiter(data_dir)
    start = 100 * WINDOW + 10
    assert [rate.hit("192.0.2.1", start + i) for i in range(5)] == [None] * 5
    wait = rate.hit("192.0.2.1", start + 5)
    assert wait is not None and 0 < wait <= 2 * WINDOW  # exact value: see below


def test_a_burst_across_the_end_of_a_window_is_still_limited(data_dir):
    rate = limiter(data_dir)
    boundary = 100 * WINDOW
    assert rate.hit("192.0.2.1", boundary - 0.5) is None
    answers = [rate.hit("192.0.2.1", boundary + 0.5 + i / 10) for i in range(5)]
    assert answers[:4] == [None] * 4 and answers[4] is not None


def test_after_a_quiet_window_the_client_may_post_again(data_dir):
    rate = limiter(data_dir)
    start = 100 * WINDOW
    for i in range(6):
        rate.hit("192.0.2.1", start + i)
    assert rate.hit("192.0.2.1", start + 2 * WINDOW + 1) is None


def test_every_worker_counts_in_the_same_place_and_clients_apart(data_dir):
    workers = [limiter(data_dir), limiter(data_dir)]
    start = 100 * WINDOW + 10
    assert [workers[i % 2].hit("192.0.2.1", start + i) for i in range(5)] == [None] * 5
    assert workers[1].hit("192.0.2.1", start + 6) is not None
    assert workers[0].hit("198.51.100.7", start + 7) is None


def test_the_database_keeps_no_address(data_dir):
    rate = limiter(data_dir)
    rate.hit("192.0.2.1")
    rows = sqlite3.connect(rate.path).execute("SELECT client FROM hits").fetchall()
    assert rows and all("192.0.2" not in client for (client,) in rows)
    folder = os.path.dirname(rate.path)
    for name in os.listdir(folder):  # the database and its write-ahead log
        with open(os.path.join(folder, name), "rb") as handle:
            assert b"192.0.2.1" not in handle.read(), name


# --- the promises, pinned with a controllable clock ---------------------------------------

def rows(rate: RateLimiter) -> list[tuple[int, int]]:
    return sorted(sqlite3.connect(rate.path).execute("SELECT window, count FROM hits").fetchall())


def copy_of(rate: RateLimiter, folder: str) -> RateLimiter:
    """Another limiter on a copy of `rate`'s state: to try a moment without changing the original."""
    os.makedirs(folder)
    other = RateLimiter(folder, rate.limit, rate.window, "clé de test")
    with sqlite3.connect(other.path) as target:
        sqlite3.connect(rate.path).backup(target)
    return other


def test_the_retry_after_of_a_first_refusal_is_exact(data_dir):
    rate = limiter(data_dir)
    start = 100 * WINDOW + 10
    for i in range(5):
        rate.hit("192.0.2.1", start + i)
    # Refused at start+5 with 6 posts counted in this window: one more passes in the next
    # window once 1 + 6 × (1 − f) ≤ 5, i.e. f ≥ 1/3: 585 s to the window's end, then 200 s.
    assert rate.hit("192.0.2.1", start + 5) == 786


def test_the_previous_window_weighs_what_still_lies_within_the_last_window(data_dir):
    rate = limiter(data_dir)
    for i in range(4):
        assert rate.hit("192.0.2.1", 101 * WINDOW - 1 + i / 100) is None
    # Half the next window gone: the 4 earlier posts weigh 2, so 3 more pass and the 4th waits.
    half = 101 * WINDOW + WINDOW / 2
    assert [rate.hit("192.0.2.1", half + i / 100) for i in range(4)][:3] == [None] * 3
    assert rate.hit("192.0.2.1", half + 1) is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 6), offsets=st.lists(st.floats(0, 2 * WINDOW, allow_nan=False), min_size=1, max_size=14))
def test_retry_after_is_the_first_second_a_post_passes_again(tmp_path_factory, limit, offsets):
    folder = str(tmp_path_factory.mktemp("rate"))
    rate = RateLimiter(os.path.join(folder, "main"), limit, WINDOW, "clé de test")
    now, wait = 100 * WINDOW + 0.25, None
    for offset in sorted(offsets):
        now = 100 * WINDOW + 0.25 + offset
        wait = rate.hit("192.0.2.1", now)
        if wait is not None:
            break
    if wait is None:
        return
    assert copy_of(rate, os.path.join(folder, "at")).hit("192.0.2.1", now + wait) is None
    assert copy_of(rate, os.path.join(folder, "before")).hit("192.0.2.1", now + wait - 1.001) is not None


def test_windows_older_than_the_previous_one_are_pruned(data_dir):
    rate = limiter(data_dir)
    rate.hit("192.0.2.1", 100 * WINDOW + 1)
    rate.hit("192.0.2.1", 101 * WINDOW + 1)
    assert rows(rate) == [(100, 1), (101, 1)]  # the previous window is kept: it still weighs
    rate.hit("198.51.100.7", 103 * WINDOW + 1)
    assert rows(rate) == [(103, 1)]


def test_a_database_that_cannot_be_opened_lets_posts_through(data_dir, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", broken)
    rate = limiter(data_dir, limit=1)
    assert [rate.hit("192.0.2.1", 100 * WINDOW + i) for i in range(3)] == [None] * 3
    assert "rate limit not counted: OperationalError" in caplog.text


def test_a_corrupt_database_lets_posts_through_and_the_post_is_stored(monkeypatch, data_dir):
    from collector import create_app
    from tests.collector.conftest import OPEN_NOW, fresh_hidden
    from tests.support.payloads import valid_answers

    monkeypatch.setenv("AMI_NOW", OPEN_NOW)
    app = create_app({"DATA_DIR": data_dir, "MIN_FILL_SECONDS": 0, "RATE_LIMIT": (1, 600), "SECRET_KEY": "clé"})
    os.makedirs(os.path.join(data_dir, "state"), exist_ok=True)
    with open(os.path.join(data_dir, "state", "ratelimit.sqlite3"), "wb") as handle:
        handle.write(b"not a database " * 100)
    for _ in range(2):
        client = app.test_client()  # two browsers: the same answers from one browser lead to its dossier
        reply = client.post("/candidater/", json={**fresh_hidden(client), **valid_answers(app.config["FORM"])})
        assert reply.status_code == 201, reply.get_data(as_text=True)
    assert len(os.listdir(os.path.join(data_dir, "submissions"))) == 2


# --- who counts as one client ------------------------------------------------------------

def test_addresses_of_one_ipv6_slash_64_share_one_count(data_dir):
    rate = limiter(data_dir, limit=2)
    start = 100 * WINDOW + 10
    assert rate.hit("2001:db8:1:2::1", start) is None
    assert rate.hit("2001:db8:1:2:ffff:ffff:ffff:fffe", start + 1) is None
    assert rate.hit("2001:db8:1:2:a:b:c:d", start + 2) is not None
    assert rate.hit("2001:db8:1:3::1", start + 3) is None  # the next /64 is another client


def test_an_ipv4_address_mapped_into_ipv6_counts_as_itself(data_dir):
    rate = limiter(data_dir, limit=1)
    assert rate.hit("192.0.2.1", 100 * WINDOW) is None
    assert rate.hit("::ffff:192.0.2.1", 100 * WINDOW + 1) is not None
    assert rate.hit("192.0.2.2", 100 * WINDOW + 2) is None


def test_a_post_refused_for_its_network_leaves_its_client_count_whole(data_dir):
    """A flood from the neighbours refuses a client's post; its own share must still be there later."""
    per_client = RateLimiter(data_dir, 1, WINDOW, "clé de test")
    per_network = RateLimiter(os.path.join(data_dir, "reseau"), 1, 60, "clé de test")
    limiter = ClientAndNetworkLimiter(per_client, per_network)
    start = 100 * WINDOW
    assert limiter.hit("192.0.2.1", start) is None  # the neighbour uses the network's share
    assert limiter.hit("192.0.2.2", start + 1) is not None  # refused for its network
    assert limiter.hit("192.0.2.2", start + 200) is None, "the network's minute is over, the client never posted"
    assert limiter.hit("192.0.2.2", start + 300) is not None  # and now its own share is used


def test_a_honeypot_post_counts_for_its_client_only(data_dir):
    limiter = ClientAndNetworkLimiter(RateLimiter(data_dir, 1, WINDOW, "clé de test"),
                                      RateLimiter(os.path.join(data_dir, "reseau"), 1, WINDOW, "clé de test"))
    assert limiter.hit_client("192.0.2.1", 100 * WINDOW) is None
    assert limiter.hit_client("192.0.2.1", 100 * WINDOW + 1) is not None
    assert limiter.hit("192.0.2.2", 100 * WINDOW + 2) is None, "the network counted none of the robot's posts"
