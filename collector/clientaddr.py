"""Which clients anti-abuse counts together: one IPv4 address, or one IPv6 /64; and their networks.

An IPv6 user usually holds a whole /64 (one customer line, one LAN) and can pick any
address in it, so counting per address would let one client post without limit. The
rate limit, the login throttle and nginx's `limit_req` (deploy/render_nginx.py) all
group by this key. An IPv4 address mapped into IPv6 (`::ffff:192.0.2.1`) counts as
that IPv4 address; something that is not an address is counted as it is.

A client's network (`network_group`: an IPv4 /24, an IPv6 /48) is the second count of the
form and of the lost-link page: a /48, the usual allocation of one site or one customer,
holds 65,536 /64s, each of which the per-client count takes for a new client. A network
may send NETWORK_SHARE times what one client may: a public digital space, a school or a
mobile carrier's address pool puts several people on one network, but never five
workshops' worth of posts within the same window (README: COLLECTOR_RATE_LIMIT, the lost link).
"""

from __future__ import annotations

import ipaddress

IPV6_PREFIX = 64
IPV4_NETWORK_PREFIX, IPV6_NETWORK_PREFIX = 24, 48
NETWORK_SHARE = 5  # a network may send five times a client's limit within the same window


def _group(address: str, ipv4_prefix: int, ipv6_prefix: int) -> str:
    try:
        parsed = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is None:
            return str(ipaddress.IPv6Network((parsed, ipv6_prefix), strict=False))
        parsed = parsed.ipv4_mapped
    return str(parsed) if ipv4_prefix == 32 else str(ipaddress.IPv4Network((parsed, ipv4_prefix), strict=False))


def client_group(address: str) -> str:
    """`192.0.2.1` → itself; `2001:db8:1:2:3:4:5:6` → `2001:db8:1:2::/64`."""
    return _group(address, 32, IPV6_PREFIX)


def network_group(address: str) -> str:
    """`192.0.2.1` → `192.0.2.0/24`; `2001:db8:1:2:3:4:5:6` → `2001:db8:1::/48`."""
    return _group(address, IPV4_NETWORK_PREFIX, IPV6_NETWORK_PREFIX)
