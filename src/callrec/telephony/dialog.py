"""SIP dialogs (RFC 3261 §12): the state two user agents share after an INVITE — Call-ID, the
two tags, the CSeq each side counts, the remote target (its Contact) and the route set — and
building requests inside one. Pure bookkeeping: sending belongs to the transactions.

Requests in a dialog go to the first Route if there is a route set (loose routing, §12.2.1.1),
else to the remote target's host and port. Hosts must be IP literals (no DNS on the event loop);
a remote target naming a host we cannot use falls back to the address the dialog was made from.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from callrec.telephony.sip import Headers, NameAddr, SipRequest, SipResponse, SipUri
from callrec.telephony.transport import Address


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str | None
    local: NameAddr  # our party (From of our requests), without the tag
    remote: NameAddr  # the peer's party (To of our requests), without the tag
    remote_target: SipUri
    local_cseq: int
    remote_cseq: int | None = None
    route_set: list[str] = field(default_factory=list)
    fallback: Address | None = None  # where the dialog-making message came from / went to

    @classmethod
    def as_uas(cls, request: SipRequest, local_tag: str, local_cseq: int = 1) -> Dialog:
        """The dialog an incoming INVITE makes once we answer it with ``local_tag``."""
        remote = request.from_
        local = request.to
        target = _contact_uri(request.headers.get("Contact")) or remote.uri
        return cls(
            call_id=request.call_id, local_tag=local_tag, remote_tag=remote.tag,
            local=_untagged(local), remote=_untagged(remote), remote_target=target,
            local_cseq=local_cseq, remote_cseq=request.cseq.number,
            route_set=request.headers.get_all("Record-Route"),
        )  # fmt: skip

    @classmethod
    def as_uac(cls, request: SipRequest, response: SipResponse, fallback: Address) -> Dialog:
        """The (early or confirmed) dialog a response with a To tag makes for our INVITE."""
        target = _contact_uri(response.headers.get("Contact")) or request.uri
        return cls(
            call_id=request.call_id, local_tag=request.from_.tag or "",
            remote_tag=response.to.tag, local=_untagged(request.from_),
            remote=_untagged(request.to), remote_target=target,
            local_cseq=request.cseq.number,
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            fallback=fallback,
        )  # fmt: skip

    def update_target(self, message: SipRequest | SipResponse) -> None:
        """A re-INVITE or its 2xx may move the peer (§12.2): take its new Contact."""
        target = _contact_uri(message.headers.get("Contact"))
        if target is not None:
            self.remote_target = target

    def accepts(self, request: SipRequest) -> bool:
        """Whether a request from the peer belongs here: its tags, and a CSeq that moves on
        (an old or repeated CSeq is a stale request, §12.2.2: answer 500)."""
        if request.from_.tag != self.remote_tag or request.to.tag != self.local_tag:
            return False
        if request.method in ("ACK", "CANCEL"):
            return True
        number = request.cseq.number
        if self.remote_cseq is not None and number <= self.remote_cseq:
            return False
        self.remote_cseq = number
        return True

    def request(
        self, method: str, via: str, headers: list[tuple[str, str]] | None = None,
        body: bytes = b"", cseq: int | None = None,
    ) -> SipRequest:  # fmt: skip
        """A request in this dialog. Every method but ACK and CANCEL takes the next CSeq."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        local = NameAddr(self.local.uri, self.local.display_name,
                         {**self.local.params, "tag": self.local_tag})  # fmt: skip
        remote = NameAddr(self.remote.uri, self.remote.display_name, dict(self.remote.params))
        if self.remote_tag is not None:
            remote.params["tag"] = self.remote_tag
        out = Headers([("Via", via)])
        for route in self.route_set:
            out.add("Route", route)
        out.add("Max-Forwards", "70")
        out.add("From", local.serialize())
        out.add("To", remote.serialize())
        out.add("Call-ID", self.call_id)
        out.add("CSeq", f"{cseq} {method}")
        for name, value in headers or []:
            out.add(name, value)
        return SipRequest(method, self.remote_target, out, body)

    def destination(self) -> Address | None:
        """Host and port the next request goes to (first route, else the remote target)."""
        uri = self.remote_target
        if self.route_set:
            try:
                uri = NameAddr.parse(self.route_set[0]).uri
            except ValueError:
                return self.fallback
        host = uri.host.strip("[]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return self.fallback
        return (host, uri.port or 5060)


def _untagged(party: NameAddr) -> NameAddr:
    params = {k: v for k, v in party.params.items() if k != "tag"}
    return NameAddr(party.uri, party.display_name, params)


def _contact_uri(value: str | None) -> SipUri | None:
    if not value or value.strip() == "*":
        return None
    try:
        return NameAddr.parse(value).uri
    except ValueError:
        return None
