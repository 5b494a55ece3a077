"""The per-network limit (collector/network_limit.py) keeps its promises beyond the counts: a
network may send exactly five times a client's share, both counts use one time (the real clock
unless given), so that a post its network refuses is taken back from its client's very window,
and the network's wait is what the refused post is told."""

from __future__ import annotations

import os
import sqlite3

from collector.clientaddr import NETWORK_SHARE, network_group
from collector.network_limit import ClientAndNetworkLimiter, network_limit
from collector.ratelimit import RateLimiter

WINDOW = 600
START = 100 * WINDOW


def limiters(data_dir: str, per_client: int, per_network: int, network_window: int = WINDOW
             ) -> tuple[RateLimiter, RateLimiter, ClientAndNetworkLimiter]:
    client = RateLimiter(data_dir, per_client, WINDOW, "clé de test")
    network = RateLimiter(os.path.join(data_dir, "reseau"), per_network, network_window, "clé de test")
    return client, network, ClientAndNetworkLimiter(client, network)


def counts(rate: RateLimiter, address: str) -> list[int]:
    """The counts kept for `address`'s group, window by window."""
    return [count for (count,) in sqlite3.connect(rate.path).execute(
        "SELECT count FROM hits WHERE client = ? ORDER BY window", (rate.client_key(address),))]


def test_a_network_may_send_exactly_five_times_what_one_client_may():
    assert NETWORK_SHARE == 5
    assert [network_limit(limit) for limit in (1, 3, 10, 100)] == [5, 15, 50, 500]


def test_without_a_time_given_a_post_refused_for_its_network_is_taken_back_from_its_clients_window(data_dir):
    client, network, limiter = limiters(data_dir, per_client=3, per_network=1, network_window=3600)
    assert limiter.hit("192.0.2.1") is None  # the real clock, for both counts
    assert limiter.hit("192.0.2.2") is not None  # refused for its network: the first one used its share
    assert counts(client, "192.0.2.1") == [1]
    assert counts(client, "192.0.2.2") == [0], "taken back in the window it was counted in"
    assert counts(network, network_group("192.0.2.1")) == [2]


def test_a_honeypot_post_without_a_time_counts_for_its_client_on_the_real_clock(data_dir):
    client, network, limiter = limiters(data_dir, per_client=1, per_network=1)
    assert limiter.hit_client("192.0.2.1") is None
    assert limiter.hit_client("192.0.2.1") is not None
    assert counts(client, "192.0.2.1") == [2]
    assert not os.path.exists(network.path), "the network counted none of them"


def test_a_post_refused_for_its_client_is_told_the_clients_wait_and_never_reaches_the_network(data_dir):
    client, network, limiter = limiters(data_dir, per_client=1, per_network=5)
    alone = RateLimiter(os.path.join(data_dir, "seul"), 1, WINDOW, "clé de test")
    assert limiter.hit("192.0.2.1", START) is None and alone.hit("192.0.2.1", START) is None
    assert limiter.hit("192.0.2.1", START + 10) == alone.hit("192.0.2.1", START + 10) == 2 * WINDOW - 10 + 1
    assert counts(network, network_group("192.0.2.1")) == [1]


def test_a_post_refused_for_its_network_is_told_the_networks_wait(data_dir):
    client, network, limiter = limiters(data_dir, per_client=5, per_network=1, network_window=60)
    assert limiter.hit("192.0.2.1", START) is None
    assert limiter.hit("192.0.2.2", START + 10) == 2 * 60 - 10 + 1  # the network's minute, not the client's
    assert counts(client, "192.0.2.2") == [0]
