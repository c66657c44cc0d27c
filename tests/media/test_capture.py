from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from callrec.media.capture import (
    RECORD,
    CaptureFormatError,
    CaptureHeader,
    CaptureWriter,
    read_index,
)
from callrec.media.g711 import PT_PCMA, PT_PCMU

HEADER = CaptureHeader(sample_rate=8000, started_at_ms=1_767_225_600_123, legs=("caller", "callé"))
# The same header written out by hand from the format description.
HEADER_BYTES = (
    b"CREC" + b"\x01" + struct.pack("<I", 8000) + struct.pack("<Q", 1_767_225_600_123) + b"\x02"
    + b"\x06caller" + b"\x06call\xc3\xa9"
)  # fmt: skip


def record(leg: int, pt: int, offset: int, payload: bytes) -> bytes:
    return struct.pack("<BBIH", leg, pt, offset, len(payload)) + payload


def test_header_serializes_to_the_documented_bytes() -> None:
    assert HEADER.serialize() == HEADER_BYTES
    assert CaptureHeader.parse(HEADER_BYTES) == HEADER


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"CRAP" + HEADER_BYTES[4:], "bad magic"),
        (b"CREC\x02" + HEADER_BYTES[5:], "unsupported version 2"),
        (HEADER_BYTES[:-3], "truncated header"),
        (HEADER_BYTES[:10], "truncated header"),
        (b"", "truncated header"),
        (HEADER_BYTES + b"\x00", "1 bytes after the header"),
        (HEADER_BYTES[:-7] + b"\x06\xff\xfe\xfd\xfc\xfb\xfa", "not UTF-8"),
        (HEADER_BYTES[:17] + b"\x00", "1 to 255 legs"),
    ],
)
def test_malformed_headers_raise_the_format_error(data: bytes, message: str) -> None:
    with pytest.raises(CaptureFormatError, match=message):
        CaptureHeader.parse(data)


def test_headers_that_cannot_be_written_are_refused_up_front() -> None:
    with pytest.raises(CaptureFormatError, match="over 255 bytes"):
        CaptureHeader(8000, 0, ("x" * 256,))
    with pytest.raises(CaptureFormatError, match="sample_rate"):
        CaptureHeader(0, 0, ("caller",))
    with pytest.raises(CaptureFormatError, match="u64"):
        CaptureHeader(8000, -1, ("caller",))
    assert issubclass(CaptureFormatError, ValueError)


def test_writer_output_is_the_header_then_records_in_arrival_order(tmp_path: Path) -> None:
    path = tmp_path / "call.crec"
    with CaptureWriter(path, HEADER) as writer:
        writer.append(0, PT_PCMU, 0, b"\xff" * 160)
        writer.append(1, PT_PCMA, 8, b"\xd5" * 3)
        writer.append(0, PT_PCMU, 160, b"\x01\x02")
    expected = (
        HEADER_BYTES
        + record(0, 0, 0, b"\xff" * 160)
        + record(1, 8, 8, b"\xd5" * 3)
        + record(0, 0, 160, b"\x01\x02")
    )
    assert path.read_bytes() == expected


def test_index_of_hand_written_bytes(tmp_path: Path) -> None:
    path = tmp_path / "call.crec"
    path.write_bytes(
        HEADER_BYTES
        + record(1, PT_PCMA, 4000, b"\xd5" * 5)
        + record(0, PT_PCMU, 0, b"\x10\x20\x30")
        + record(0, PT_PCMU, 2**32 - 1, b"\x7f")
    )
    index = read_index(path)
    assert index.header == HEADER
    assert len(index) == 3
    assert index.leg.tolist() == [1, 0, 0]
    assert index.payload_type.tolist() == [8, 0, 0]
    assert index.offset.tolist() == [4000, 0, 2**32 - 1]
    assert index.length.tolist() == [5, 3, 1]
    data = path.read_bytes()
    first = len(HEADER_BYTES) + RECORD.size
    assert index.file_pos.tolist() == [first, first + 5 + 8, first + 5 + 8 + 3 + 8]
    assert data[index.file_pos[1] : index.file_pos[1] + 3] == b"\x10\x20\x30"
    assert index.truncated_bytes == 0


def test_round_trip_across_index_blocks(tmp_path: Path) -> None:
    # Over 1 MiB of records of uneven sizes, so records straddle the reader's block boundaries.
    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 700, 4000)
    payloads = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in sizes]
    path = tmp_path / "big.crec"
    with CaptureWriter(path, HEADER) as writer:
        offset = 0
        for i, payload in enumerate(payloads):
            writer.append(i % 2, PT_PCMU if i % 3 else PT_PCMA, offset, payload)
            offset += len(payload)
    assert path.stat().st_size > 1 << 20
    index = read_index(path)
    assert len(index) == len(payloads)
    assert index.length.tolist() == sizes.tolist()
    assert index.leg.tolist() == [i % 2 for i in range(len(payloads))]
    data = path.read_bytes()
    for i in (0, 1, 1234, 2500, 3999):
        pos = int(index.file_pos[i])
        assert data[pos : pos + int(index.length[i])] == payloads[i]


def test_a_crash_mid_record_loses_only_that_record(tmp_path: Path) -> None:
    path = tmp_path / "call.crec"
    complete = HEADER_BYTES + record(0, 0, 0, b"\x01" * 160) + record(1, 8, 0, b"\x02" * 160)
    last = record(0, 0, 160, b"\x03" * 160)
    for cut in (1, 5, RECORD.size, RECORD.size + 1, len(last) - 1):
        path.write_bytes(complete + last[:cut])
        index = read_index(path)
        assert len(index) == 2, cut
        assert index.truncated_bytes == cut
    path.write_bytes(complete + last)
    assert len(read_index(path)) == 3


def test_flushed_records_survive_a_crash_of_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "call.crec"
    writer = CaptureWriter(path, HEADER)
    try:
        writer.append(0, PT_PCMU, 0, b"\xff" * 160)
        writer.flush()
        writer.append(0, PT_PCMU, 160, b"\xff" * 80)  # written in part, never flushed
        snapshot = tmp_path / "after-crash.crec"
        shutil.copyfile(path, snapshot)  # what is on disk if the process dies now
        index = read_index(snapshot)
        assert index.offset.tolist() == [0]
    finally:
        writer.close()
    assert read_index(path).offset.tolist() == [0, 160]


def test_a_header_only_capture_has_an_empty_index(tmp_path: Path) -> None:
    path = tmp_path / "empty.crec"
    CaptureWriter(path, HEADER).close()
    index = read_index(path)
    assert len(index) == 0 and index.header == HEADER and index.truncated_bytes == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (record(2, PT_PCMU, 160, b"\x00" * 4), "leg 2 but the header declares 2 legs"),
        (record(0, 3, 160, b"\x00" * 4), "unknown payload type 3"),
    ],
)
def test_records_that_break_the_format_are_rejected_with_their_position(
    tmp_path: Path, bad: bytes, message: str
) -> None:
    path = tmp_path / "bad.crec"
    good = record(0, PT_PCMU, 0, b"\x00" * 160)
    path.write_bytes(HEADER_BYTES + good + bad + good)
    position = len(HEADER_BYTES) + len(good)
    with pytest.raises(CaptureFormatError, match=f"record at byte {position}: {message}"):
        read_index(path)


def test_bad_magic_in_a_file_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "song.crec"
    path.write_bytes(b"RIFF" + b"\x00" * 100)
    with pytest.raises(CaptureFormatError, match="bad magic"):
        read_index(path)


def test_writer_validates_what_it_appends(tmp_path: Path) -> None:
    with CaptureWriter(tmp_path / "call.crec", HEADER) as writer:
        with pytest.raises(CaptureFormatError, match="leg 2"):
            writer.append(2, PT_PCMU, 0, b"\x00")
        with pytest.raises(CaptureFormatError, match="payload type 3"):
            writer.append(0, 3, 0, b"\x00")
        with pytest.raises(CaptureFormatError, match="u32"):
            writer.append(0, PT_PCMU, 2**32, b"\x00")
        with pytest.raises(CaptureFormatError, match="65535"):
            writer.append(0, PT_PCMU, 0, b"\x00" * 65536)
        with pytest.raises(CaptureFormatError, match="65535"):
            writer.append(0, PT_PCMU, 0, b"")
    assert len(read_index(tmp_path / "call.crec")) == 0


def test_writer_never_overwrites_an_existing_recording(tmp_path: Path) -> None:
    path = tmp_path / "call.crec"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        CaptureWriter(path, HEADER)
    assert path.read_bytes() == b"precious"
