"""Who may open calls or recording sessions with us: addresses and networks, loopback by default.
The SIPREC server and the recording proxy both refuse everyone else with 403 (never an open
relay: toll fraud is the first thing attackers try on a SIP port)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


class Allowlist:
    def __init__(self, networks: Iterable[str]) -> None:
        # strict=False: "10.0.0.5/24" means its network, as operators tend to write it.
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def allows(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a name, or garbage: only literal addresses are trusted
        return any(address in network for network in self.networks)
