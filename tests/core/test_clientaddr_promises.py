"""The client grouping (collector/clientaddr.py) keeps its promise beyond the well-formed
addresses: a zone suffix (`%eth0`) is never part of a client, whatever the family, so that
writing one after an address cannot make a fresh client of it."""

from __future__ import annotations

import pytest

from collector.clientaddr import client_group, network_group


@pytest.mark.parametrize("address, client, network", [
    ("192.0.2.1%eth0", "192.0.2.1", "192.0.2.0/24"),
    ("192.0.2.1%1%2", "192.0.2.1", "192.0.2.0/24"),
    ("fe80::1%eth0", "fe80::/64", "fe80::/48"),
    (" ::ffff:192.0.2.1%lo ", "192.0.2.1", "192.0.2.0/24"),
])
def test_a_zone_suffix_is_never_part_of_a_client_or_its_network(address, client, network):
    assert (client_group(address), network_group(address)) == (client, network)
