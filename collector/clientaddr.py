"""Which clients anti-abuse counts together: one IPv4 address, or one IPv6 /64.

An IPv6 user usually holds a whole /64 (one customer line, one LAN) and can pick any
address in it, so counting per address would let one client post without limit. The
rate limit, the login throttle and nginx's `limit_req` (deploy/render_nginx.py) all
group by this key. An IPv4 address mapped into IPv6 (`::ffff:192.0.2.1`) counts as
that IPv4 address; something that is not an address is counted as it is.
"""

from __future__ import annotations

import ipaddress

IPV6_PREFIX = 64


def client_group(address: str) -> str:
    """`192.0.2.1` → itself; `2001:db8:1:2:3:4:5:6` → `2001:db8:1:2::/64`."""
    try:
        parsed = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)
