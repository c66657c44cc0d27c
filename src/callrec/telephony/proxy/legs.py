"""One party of a proxied call as the proxy sees it: our dialog with it, our RTP socket facing
it, our SDP towards it, and how to reach it (the TCP connection it came on, else UDP)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from callrec.telephony.client_transactions import ClientTransaction, Destination
from callrec.telephony.dialog import Dialog
from callrec.telephony.proxy.media import MediaLeg
from callrec.telephony.proxy.sdp import AudioOffer, LocalSdp
from callrec.telephony.transport import Address, Peer

Role = Literal["a", "b"]
DatagramSender = Callable[[bytes, Address], None]


@dataclass
class Leg:
    role: Role  # "a": the caller's side (we are its UAS); "b": the callee's (we are its UAC)
    call_id: str  # the SIP Call-ID of this leg (a B2BUA gives the B-leg its own)
    media: MediaLeg
    sdp: LocalSdp
    port_base: int
    address: Address  # where its signalling comes from / goes to
    peer: Peer | None = None  # the connection an incoming TCP call came on
    dialog: Dialog | None = None
    offer: AudioOffer | None = None  # its latest SDP
    invite: ClientTransaction | None = None  # our pending INVITE to it (b-legs)
    party_name: str = ""
    party_aor: str = ""
    ended: bool = False

    def destination(self, send_udp: DatagramSender) -> Destination:
        """Where a request in this leg's dialog goes: the same TCP connection if it came on
        one, else UDP to its Contact (or where it came from)."""
        if self.peer is not None and self.peer.transport == "TCP":
            return Destination(self.peer.addr, self.peer.send, reliable=True, transport="TCP")
        addr = self.dialog.destination() if self.dialog is not None else None
        addr = addr or self.address
        return Destination(addr, lambda data: send_udp(data, addr))

    def close(self) -> None:
        self.media.close()
