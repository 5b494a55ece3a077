"""Who counts as one client for anti-abuse: an IPv4 address, or an IPv6 /64."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, strategies as st

from collector.clientaddr import client_group, network_group


@pytest.mark.parametrize("address, group", [
    ("192.0.2.1", "192.0.2.1"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::9", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.1", "192.0.2.1"),
    ("fe80::1%eth0", "fe80::/64"),
    ("inconnue", "inconnue"),
])
def test_each_address_belongs_to_its_group(address, group):
    assert client_group(address) == group


@given(st.ip_addresses(v=6), st.ip_addresses(v=6))
def test_two_ipv6_addresses_share_a_group_exactly_when_they_share_a_slash_64(first, second):
    if first.ipv4_mapped or second.ipv4_mapped:
        return
    same_64 = int(first) >> 64 == int(second) >> 64
    assert (client_group(str(first)) == client_group(str(second))) == same_64
    assert ipaddress.ip_network(client_group(str(first))).prefixlen == 64


@pytest.mark.parametrize("address, network", [
    ("192.0.2.1", "192.0.2.0/24"),
    ("192.0.2.255", "192.0.2.0/24"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"),
    ("2001:DB8:1:ffff::9", "2001:db8:1::/48"),
    ("::ffff:192.0.2.1", "192.0.2.0/24"),
    ("inconnue", "inconnue"),
])
def test_each_address_belongs_to_its_network(address, network):
    assert network_group(address) == network


@given(st.ip_addresses(v=6), st.ip_addresses(v=6))
def test_two_ipv6_addresses_share_a_network_exactly_when_they_share_a_slash_48(first, second):
    if first.ipv4_mapped or second.ipv4_mapped:
        return
    assert (network_group(str(first)) == network_group(str(second))) == (int(first) >> 80 == int(second) >> 80)
