"""One limit for a client and a second for its whole network, asked as one.

ratelimit.py counts a client (an IPv4 address, an IPv6 /64). Someone holding an IPv6 /48
has 65,536 /64s, each a fresh client to that count, and an IPv4 /24 has 256 addresses: the
network's own count (clientaddr.network_group), NETWORK_SHARE times the client's limit over
the same window, bounds them too. A post refused for its client is not counted against its
network, so one client over its limit cannot use up its neighbours' share; a post refused for
its network is taken back from its client's count, so that a flood from the neighbours does
not also use up the client's own share.

Only posts that would be stored (a valid token, a valid dossier link, a valid address) count
for the network (`hit`). A post that a robot could send without ever loading a page (a filled
honeypot) counts for its client alone (`hit_client`): otherwise five robots could lock every
porteur of their /24 or /48 out.
"""

from __future__ import annotations

import time
from typing import Protocol

from .clientaddr import NETWORK_SHARE, network_group


class Limiter(Protocol):
    def hit(self, address: str, now: float | None = None) -> int | None: ...

    def give_back(self, address: str, now: float) -> None: ...


class ClientAndNetworkLimiter:
    """`hit` counts the post for its client, then, if allowed, for its network; None when both
    allow it, else the seconds to wait (for Retry-After)."""

    def __init__(self, per_client: Limiter, per_network: Limiter) -> None:
        self.per_client = per_client
        self.per_network = per_network

    def hit(self, address: str, now: float | None = None) -> int | None:
        now = time.time() if now is None else now  # one time for both counts: give_back finds its window
        wait = self.per_client.hit(address, now)
        if wait is not None:
            return wait
        # The network's group is not an address: the limiter's own grouping keeps it as it is.
        wait = self.per_network.hit(network_group(address), now)
        if wait is not None:
            self.per_client.give_back(address, now)  # refused for its network: the client's share stays whole
        return wait

    def hit_client(self, address: str, now: float | None = None) -> int | None:
        """Count a post that would never be stored (a filled honeypot) for its client only."""
        return self.per_client.hit(address, now)


def network_limit(limit: int) -> int:
    """How many posts a network may send within the window in which one client may send `limit`."""
    return NETWORK_SHARE * limit
