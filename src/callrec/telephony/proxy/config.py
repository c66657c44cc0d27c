"""What the recording proxy is told: where it listens, who may send calls through it, and
where calls go (a table by extension / user part, else the upstream)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from callrec.telephony.sip import SipUri
from callrec.telephony.transport import Address
from callrec.telephony.trust import Allowlist


@dataclass
class ProxyConfig:
    host: str = "127.0.0.1"
    sip_port: int = 5070
    rtp_first: int = 30000
    rtp_last: int = 39999
    upstream: tuple[str, int] | None = None  # where calls to numbers not in the table go
    routes: dict[str, tuple[str, int]] = field(default_factory=dict)  # user part -> (host, port)
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # peers allowed to send calls
    org_slug: str | None = None
    beep_ms: int = 200
    beep_hz: float = 1400.0
    rtp_timeout_s: float = 30.0
    ring_timeout_s: float = 180.0  # RFC 3261 Timer C: a callee that rings forever

    def __post_init__(self) -> None:
        # Fail at start, not on the first call.
        self.trusted = Allowlist(self.allow)
        for host, port in [*self.routes.values(), *([self.upstream] if self.upstream else [])]:
            ipaddress.ip_address(host)
            if not 0 < port < 65536:
                raise ValueError(f"bad port {port} for {host}")

    def allowed(self, host: str) -> bool:
        """Whether a peer at ``host`` may send us calls: never an open relay."""
        return self.trusted.allows(host)

    def route(self, uri: SipUri) -> Address | None:
        """Where a call to ``uri`` goes: the table by its user part, else the upstream."""
        user = (uri.user or "").split(";", 1)[0]
        if user in self.routes:
            return self.routes[user]
        return self.upstream


def parse_hostport(text: str) -> tuple[str, int]:
    """``host:port`` (IPv6 as ``[::1]:5060``) for the CLI and settings; ValueError if not."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected host:port, not {text!r}")
    host = host.strip("[]")
    ipaddress.ip_address(host)
    number = int(port)
    if not 0 < number < 65536:
        raise ValueError(f"port {number} out of range in {text!r}")
    return host, number


def parse_routes(text: str) -> dict[str, tuple[str, int]]:
    """``"201=127.0.0.1:5080,202=10.0.0.7:5060"`` → the routing table; ValueError if bad."""
    routes: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        extension, sep, target = item.partition("=")
        if not sep or not extension.strip():
            raise ValueError(f"a route is EXTENSION=host:port, not {item!r}")
        routes[extension.strip()] = parse_hostport(target)
    return routes
