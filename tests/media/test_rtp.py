from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callrec.media.rtp import RtpError, RtpExtension, RtpPacket, parse_header

# One 20 ms PCMA packet as it appears on the wire, header written out field by field (RFC 3550
# §5.1): V=2 P=0 X=0 CC=0 | M=0 PT=8 | seq 0x3039 | ts 0x0001F400 | SSRC 0x5EC0FFEE.
G711_HEADER = "80 08 3039 0001f400 5ec0ffee"
G711_PAYLOAD = bytes.fromhex("d5d4d7d6d1d0d3d2ddc5c4c7c6c1c0c3c2cd" * 9)[:160]
G711_PACKET = bytes.fromhex(G711_HEADER) + G711_PAYLOAD


def header(b0: int, b1: int, seq: int = 1, ts: int = 2, ssrc: int = 3) -> bytes:
    return bytes([b0, b1]) + struct.pack("!HII", seq, ts, ssrc)


def test_a_g711_packet_parses_to_its_header_fields() -> None:
    packet = RtpPacket.parse(G711_PACKET)
    assert packet == RtpPacket(
        payload_type=8, sequence=12345, timestamp=128_000, ssrc=0x5EC0FFEE, payload=G711_PAYLOAD
    )
    assert (packet.version, packet.csrc_count, packet.marker, packet.padding) == (2, 0, False, 0)
    assert packet.extension is None
    assert packet.serialize() == G711_PACKET
    assert parse_header(G711_PACKET) == (8, 12345, 128_000, 0x5EC0FFEE, 12, 172)


def test_marker_and_dynamic_payload_type_share_the_second_byte() -> None:
    data = header(0x80, 0x80 | 101) + b"\x05\x0a\x00\xa0"  # M=1, PT 101 (telephone-event)
    packet = RtpPacket.parse(data)
    assert (packet.marker, packet.payload_type, packet.payload) == (True, 101, b"\x05\x0a\x00\xa0")
    assert packet.serialize() == data


def test_csrc_list_is_read_and_skipped() -> None:
    data = header(0x82, 0) + struct.pack("!II", 0x11111111, 0x22222222) + b"\xff" * 4
    packet = RtpPacket.parse(data)
    assert packet.csrcs == (0x11111111, 0x22222222) and packet.csrc_count == 2
    assert packet.payload == b"\xff" * 4
    assert parse_header(data)[4:] == (20, 24)
    assert packet.serialize() == data


def test_header_extension_is_kept_and_skipped() -> None:
    # Profile 0xBEDE (RFC 8285 one-byte form), 2 words of data.
    ext = bytes.fromhex("bede 0002 10ab0000 22000000")
    data = header(0x90, 0) + ext + b"\x7f" * 3
    packet = RtpPacket.parse(data)
    assert packet.extension == RtpExtension(0xBEDE, bytes.fromhex("10ab000022000000"))
    assert packet.payload == b"\x7f" * 3
    assert packet.serialize() == data


def test_padding_is_stripped_from_the_payload() -> None:
    data = header(0xA0, 0) + b"\x01\x02\x03\x04\x05" + b"\x00\x00\x03"
    packet = RtpPacket.parse(data)
    assert (packet.payload, packet.padding) == (b"\x01\x02\x03\x04\x05", 3)
    assert parse_header(data)[4:] == (12, 17)
    assert packet.serialize() == data


def test_everything_at_once_and_an_empty_payload() -> None:
    data = (
        header(0xB1, 0x80 | 0)
        + struct.pack("!I", 0xCAFE)
        + bytes.fromhex("1000 0001 01020304")  # profile, 1 word, data
        + b"\x00\x00\x00\x04"  # no payload, 4 octets of padding
    )
    packet = RtpPacket.parse(data)
    assert packet == RtpPacket(
        0, 1, 2, 3, b"", True, (0xCAFE,), RtpExtension(0x1000, b"\1\2\3\4"), 4
    )
    assert packet.serialize() == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter than"),
        (G711_PACKET[:11], "shorter than"),
        (header(0x40, 0) + b"\xff" * 160, "version 1"),
        (bytes(172), "version 0"),
        (header(0x80, 200) + b"\x00" * 16, "RTCP"),  # a sender report
        (header(0x81, 201) + b"\x00" * 24, "RTCP"),  # a receiver report with one block
        (header(0x80, 204), "RTCP"),  # APP
        (header(0x83, 0) + b"\x00" * 8, "CSRC"),  # says 3 CSRCs, has 2
        (header(0x90, 0) + b"\xbe\xde", "extension starts past"),
        (header(0x90, 0) + b"\xbe\xde\x00\x02" + b"\x00" * 4, "extension need"),
        (header(0x91, 0) + b"\x00" * 4, "extension starts past"),
        (header(0xA0, 0) + b"\x01\x02\x00", "padding count 0"),
        (header(0xA0, 0) + b"\x01\x02\x04", "padding count 4"),
        (header(0xA0, 0), "padding count"),
    ],
)
def test_malformed_packets_raise_rtp_error(data: bytes, message: str) -> None:
    with pytest.raises(RtpError, match=message):
        RtpPacket.parse(data)
    with pytest.raises(RtpError, match=message):
        parse_header(data)
    assert issubclass(RtpError, ValueError)


@pytest.mark.parametrize(
    "packet",
    [
        RtpPacket(128, 0, 0, 0),
        RtpPacket(0, 1 << 16, 0, 0),
        RtpPacket(0, 0, 1 << 32, 0),
        RtpPacket(0, 0, 0, -1),
        RtpPacket(0, 0, 0, 0, csrcs=tuple(range(16))),
        RtpPacket(0, 0, 0, 0, extension=RtpExtension(1, b"\x00" * 3)),
        RtpPacket(0, 0, 0, 0, padding=256),
    ],
)
def test_values_that_do_not_fit_the_header_refuse_to_serialize(packet: RtpPacket) -> None:
    with pytest.raises(RtpError):
        packet.serialize()


# Arbitrary bytes mostly fail the version check at once; also try headers that pass it.
_RTPISH = st.binary(min_size=12, max_size=80).map(lambda b: bytes([0x80 | (b[0] & 0x3F)]) + b[1:])


@given(st.one_of(st.binary(max_size=80), _RTPISH))
def test_parsing_arbitrary_bytes_raises_only_rtp_error(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RtpError:
        with pytest.raises(RtpError):
            parse_header(data)
        return
    pt, seq, ts, ssrc, start, end = parse_header(data)
    assert (pt, seq, ts, ssrc) == packet[:4]
    assert data[start:end] == packet.payload
    assert RtpPacket.parse(packet.serialize()) == packet


_U32 = st.integers(0, 2**32 - 1)
_PACKETS = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 2**16 - 1),
    timestamp=_U32,
    ssrc=_U32,
    payload=st.binary(max_size=200),
    marker=st.booleans(),
    csrcs=st.lists(_U32, max_size=15).map(tuple),
    extension=st.none()
    | st.builds(
        RtpExtension,
        st.integers(0, 2**16 - 1),
        st.binary(max_size=40).map(lambda b: b[: len(b) & ~3]),
    ),
    padding=st.integers(0, 255),
).filter(lambda p: not (p.marker and 64 <= p.payload_type < 96))  # those bytes mean RTCP


@given(_PACKETS)
def test_generated_packets_round_trip(packet: RtpPacket) -> None:
    data = packet.serialize()
    assert RtpPacket.parse(data) == packet
    start, end = parse_header(data)[4:]
    assert data[start:end] == packet.payload
