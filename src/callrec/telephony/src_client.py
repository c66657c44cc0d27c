"""A small SIPREC recording client (SRC), as an SBC would be: it opens a recording session with
two streams and metadata, streams real-time G.711 audio of a synthetic conversation, and hangs
up. `callrec run` uses it so the demo's calls come through the real SIPREC path."""

from __future__ import annotations

import asyncio
import secrets
import struct
from dataclasses import dataclass

from callrec.media import g711
from callrec.media.synth import FRAME
from callrec.telephony.sdp import SessionDescription
from callrec.telephony.sip import (
    BodyPart,
    Headers,
    SipRequest,
    SipResponse,
    SipUri,
    build_multipart,
    parse_message,
)
from callrec.telephony.ua.audio import conversation, pace

_METADATA = """<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <session session_id="s1"><sipSessionID>{call_id}</sipSessionID></session>
  <participant participant_id="p1"><nameID aor="{caller}"><name>{caller_name}</name></nameID></participant>
  <participant participant_id="p2"><nameID aor="{callee}"><name>{callee_name}</name></nameID></participant>
  <stream stream_id="st1" session_id="s1"><label>1</label></stream>
  <stream stream_id="st2" session_id="s1"><label>2</label></stream>
  <participantstreamassoc participant_id="p1"><send>st1</send><recv>st2</recv></participantstreamassoc>
  <participantstreamassoc participant_id="p2"><send>st2</send><recv>st1</recv></participantstreamassoc>
</recording>"""  # noqa: E501


@dataclass(frozen=True)
class DemoCall:
    caller: str
    caller_name: str
    callee: str
    callee_name: str
    seconds: float
    seed: int = 1


class _Sip(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.responses: asyncio.Queue[SipResponse] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            message = parse_message(data)
        except ValueError:
            return
        if isinstance(message, SipResponse):
            self.responses.put_nowait(message)


async def place_call(host: str, port: int, call: DemoCall, local: str = "127.0.0.1") -> int:
    """Returns the final status of the INVITE (200 when recorded)."""
    loop = asyncio.get_running_loop()
    sip_transport, sip = await loop.create_datagram_endpoint(_Sip, local_addr=(local, 0))
    rtp = [await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=(local, 0))
           for _ in range(2)]  # fmt: skip
    try:
        sip_port = sip_transport.get_extra_info("sockname")[1]
        rtp_ports = [t.get_extra_info("sockname")[1] for t, _ in rtp]
        call_id, tag = f"{secrets.token_hex(8)}@callrec-demo", secrets.token_hex(4)

        def request(method: str, cseq: int, to_tag: str | None, body: bytes = b"",
                    content_type: str | None = None) -> bytes:  # fmt: skip
            headers = Headers([
                ("Via", f"SIP/2.0/UDP {local}:{sip_port};branch={_branch()};rport"),
                ("From", f"<sip:src@{local}:{sip_port}>;tag={tag}"),
                ("To", f"<sip:srs@{host}:{port}>" + (f";tag={to_tag}" if to_tag else "")),
                ("Call-ID", call_id), ("CSeq", f"{cseq} {method}"), ("Max-Forwards", "70"),
                ("Contact", f"<sip:src@{local}:{sip_port}>;+sip.src"),
            ])  # fmt: skip
            if method == "INVITE":
                headers.add("Require", "siprec")
            if content_type:
                headers.add("Content-Type", content_type)
            uri = SipUri.parse(f"sip:srs@{host}:{port}")
            return SipRequest(method, uri, headers, body).serialize()

        content_type, body = build_multipart(
            [BodyPart("application/sdp", body=_offer(local, rtp_ports).encode()),
             BodyPart("application/rs-metadata+xml", body=_METADATA.format(
                 call_id=call_id, caller=call.caller, caller_name=call.caller_name,
                 callee=call.callee, callee_name=call.callee_name).encode())],
            "callrec-demo-boundary",
        )  # fmt: skip
        sip_transport.sendto(request("INVITE", 1, None, body, content_type), (host, port))
        final = await _final(sip)
        if final.status != 200:
            sip_transport.sendto(request("ACK", 1, final.to.tag), (host, port))
            return final.status
        sip_transport.sendto(request("ACK", 1, final.to.tag), (host, port))
        answer = SessionDescription.parse(final.body)
        targets = [(host, m.port) for m in answer.media]
        await _stream(call, [t for t, _ in rtp], targets)
        sip_transport.sendto(request("BYE", 2, final.to.tag), (host, port))
        await _final(sip)
        return 200
    finally:
        sip_transport.close()
        for transport, _ in rtp:
            transport.close()


def _branch() -> str:
    return f"z9hG4bK{secrets.token_hex(6)}"


async def _final(sip: _Sip) -> SipResponse:
    while True:
        response = await asyncio.wait_for(sip.responses.get(), 10)
        if response.status >= 200:
            return response


def _offer(local: str, ports: list[int]) -> str:
    lines = ["v=0", f"o=src 1 1 IN IP4 {local}", "s=SIPREC", f"c=IN IP4 {local}", "t=0 0"]
    for label, port in enumerate(ports, start=1):
        lines += [f"m=audio {port} RTP/AVP 0", "a=rtpmap:0 PCMU/8000", f"a=label:{label}",
                  "a=sendonly"]  # fmt: skip
    return "\r\n".join(lines) + "\r\n"


async def _stream(
    call: DemoCall, transports: list[asyncio.BaseTransport], targets: list[tuple[str, int]]
) -> None:
    """Real-time 20 ms packets on both streams, paced on the clock (no drift)."""
    legs = [g711.encode(0, track.samples) for track in conversation(call.seconds, call.seed)]
    ssrcs = [int.from_bytes(secrets.token_bytes(4), "big") for _ in legs]

    def tick(f: int) -> None:
        for leg, (transport, target) in enumerate(zip(transports, targets, strict=True)):
            header = struct.pack("!BBHII", 0x80, 0, (f + 1) & 0xFFFF, f * FRAME, ssrcs[leg])
            payload = legs[leg][f * FRAME : (f + 1) * FRAME]
            transport.sendto(header + payload, target)  # type: ignore[attr-defined]

    await pace(len(legs[0]) // FRAME, tick)
