"""Real SIP messages as they cross the wire, CRLF line ends, Content-Length computed by hand.

The SIPREC INVITE is what an SBC sends a recording server (RFC 7866 §8.1.1, RFC 7865 metadata),
then the responses a recording server sends. Written with ``\\n``, sent with CRLF (:func:`crlf`).
"""

from __future__ import annotations

from callrec.telephony.sip import SipRequest, SipResponse, parse_message


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def parse_request(data: bytes) -> SipRequest:
    message = parse_message(data)
    assert isinstance(message, SipRequest)
    return message


def parse_response(data: bytes) -> SipResponse:
    message = parse_message(data)
    assert isinstance(message, SipResponse)
    return message


SIPREC_SDP = crlf("""\
v=0
o=SBC 2890844526 2890844526 IN IP4 198.51.100.10
s=SIPREC
c=IN IP4 198.51.100.10
t=0 0
m=audio 20000 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=label:1
a=sendonly
m=audio 20002 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=label:2
a=sendonly
""")

SIPREC_METADATA = crlf("""\
<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <group group_id="7+OTCyoxTmqmqyA/1weDAg==">
    <associate-time>2024-05-02T10:15:00Z</associate-time>
  </group>
  <session session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <sipSessionID>ab30317f1a784dc48ff824d0d3715d86;remote=47755a9de7794ba387653f20</sipSessionID>
    <group-ref>7+OTCyoxTmqmqyA/1weDAg==</group-ref>
    <start-time>2024-05-02T10:15:00Z</start-time>
  </session>
  <participant participant_id="srfBElmCRp2QB23b7Mpk0w==">
    <nameID aor="sip:alice@atlanta.example.com">
      <name xml:lang="en">Alice</name>
    </nameID>
  </participant>
  <participant participant_id="zSfPoSvdSDCmU3A3TRDxAw==">
    <nameID aor="tel:+15551234567">
      <name xml:lang="en">Bob</name>
    </nameID>
  </participant>
  <stream stream_id="UAAMm5GRQKSCMVvLyl4rFw==" session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <label>1</label>
  </stream>
  <stream stream_id="i1Pz3to5hGk8fuXl+PbwCw==" session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <label>2</label>
  </stream>
  <sessionrecordingassoc session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <associate-time>2024-05-02T10:15:00Z</associate-time>
  </sessionrecordingassoc>
  <participantsessionassoc participant_id="srfBElmCRp2QB23b7Mpk0w=="
                           session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <associate-time>2024-05-02T10:15:00Z</associate-time>
  </participantsessionassoc>
  <participantsessionassoc participant_id="zSfPoSvdSDCmU3A3TRDxAw=="
                           session_id="hVpd7YQgRW2nD22h7q60JQ==">
    <associate-time>2024-05-02T10:15:00Z</associate-time>
  </participantsessionassoc>
  <participantstreamassoc participant_id="srfBElmCRp2QB23b7Mpk0w==">
    <send>UAAMm5GRQKSCMVvLyl4rFw==</send>
    <recv>i1Pz3to5hGk8fuXl+PbwCw==</recv>
  </participantstreamassoc>
  <participantstreamassoc participant_id="zSfPoSvdSDCmU3A3TRDxAw==">
    <send>i1Pz3to5hGk8fuXl+PbwCw==</send>
    <recv>UAAMm5GRQKSCMVvLyl4rFw==</recv>
  </participantstreamassoc>
</recording>
""")

SIPREC_BODY = (
    crlf("--OSS-unique-boundary-42\nContent-Type: application/sdp\n\n")
    + SIPREC_SDP
    + crlf("\n--OSS-unique-boundary-42\n")
    + crlf("Content-Type: application/rs-metadata+xml\nContent-Disposition: recording-session\n\n")
    + SIPREC_METADATA
    + crlf("\n--OSS-unique-boundary-42--\n")
)

# Content-Length last and every header in canonical form, so serialize() gives these bytes back.
SIPREC_INVITE = (
    crlf("""\
INVITE sip:srs@recorder.example.com:5060;transport=tcp SIP/2.0
Via: SIP/2.0/TCP 198.51.100.10:5060;branch=z9hG4bK-524287-1---7ab3f7a1c2d4e5f6;rport
Max-Forwards: 70
From: "SBC Recording Client" <sip:src@sbc.example.com>;tag=8c7e3f21
To: <sip:srs@recorder.example.com>
Call-ID: 3c2a4e6f-8b1d-4a9c-9e7f-2d5b8c1a0f34@198.51.100.10
CSeq: 101 INVITE
Contact: <sip:src@198.51.100.10:5060;transport=tcp>;+sip.src
Require: siprec
Supported: timer, replaces, 100rel
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO
Accept: application/sdp, application/rs-metadata, application/rs-metadata-request
Session-Expires: 1800;refresher=uac
Min-SE: 90
User-Agent: ExampleSBC/9.1
MIME-Version: 1.0
Content-Type: multipart/mixed;boundary=OSS-unique-boundary-42
Content-Length: 2718

""")
    + SIPREC_BODY
)

SRS_ANSWER_SDP = crlf("""\
v=0
o=SRS 1716 1716 IN IP4 203.0.113.5
s=callrec
c=IN IP4 203.0.113.5
t=0 0
m=audio 40000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=label:1
a=recvonly
m=audio 40002 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=label:2
a=recvonly
""")

OK_WITH_SDP = (
    crlf("""\
SIP/2.0 200 OK
Via: SIP/2.0/TCP 198.51.100.10:5060;branch=z9hG4bK-524287-1---7ab3f7a1c2d4e5f6;rport=5060\
;received=198.51.100.10
From: "SBC Recording Client" <sip:src@sbc.example.com>;tag=8c7e3f21
To: <sip:srs@recorder.example.com>;tag=srs-77c1
Call-ID: 3c2a4e6f-8b1d-4a9c-9e7f-2d5b8c1a0f34@198.51.100.10
CSeq: 101 INVITE
Contact: <sip:srs@203.0.113.5:5060;transport=tcp>
Require: siprec
Content-Type: application/sdp
Content-Length: 299

""")
    + SRS_ANSWER_SDP
)

TRYING = crlf("""\
SIP/2.0 100 Trying
Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds8;received=192.0.2.4
From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
To: Alice <sip:alice@atlanta.example.com>
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Content-Length: 0

""")

TERMINATED = crlf("""\
SIP/2.0 487 Request Terminated
Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds8
From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf
To: Alice <sip:alice@atlanta.example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.example.com
CSeq: 314159 INVITE
Content-Length: 0

""")


# A header block every malformed-message case below starts from (plus its own request line).
MINIMAL_HEADERS = """\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKminimal
Max-Forwards: 70
From: <sip:caller@example.net>;tag=1
To: <sip:user@example.com>
Call-ID: minimal.1@192.0.2.1
CSeq: 1 OPTIONS
"""


def options(request_line: str = "OPTIONS sip:user@example.com SIP/2.0", extra: str = "") -> bytes:
    """A valid OPTIONS to mutate: the request line and extra header lines are the caller's."""
    return crlf(f"{request_line}\n{MINIMAL_HEADERS}{extra}Content-Length: 0\n\n")
