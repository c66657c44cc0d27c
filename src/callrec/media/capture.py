"""The CREC v1 capture format: every leg's RTP payloads of one recording, in arrival order.

The SIP recorder appends records as RTP arrives and fsyncs at least once a second; the processing
job indexes the file in one sequential pass and then reads only the payload bytes it needs.

Layout, little-endian::

    header  b"CREC" | u8 version=1 | u32 sample_rate | u64 started_at_ms | u8 leg count
            then per leg: u8 label length | UTF-8 label
    record  u8 leg | u8 payload_type | u32 offset | u16 length | payload (length bytes)

``payload_type`` is the static RTP payload type: 0 (PCMU), 8 (PCMA) or 9 (G.722 at 64 kbit/s).
``offset`` is the position of the record's first sample on the shared timeline (zero at
``started_at_ms``), in ticks of ``sample_rate`` (8000 for the SIP recorder); for G.711 one
payload byte is one tick. G.722 is timed in the same 8 kHz ticks although it samples at 16 kHz
(its RTP clock is 8000 Hz, RFC 3551), and one of its payload bytes is also one tick (two 16 kHz
samples), so ``offset`` and ``length`` mean the same for every payload type.

G.722 records came after the first files were written and kept version 1: the layout did not
change, only the set of payload types a record may carry. Every earlier file still reads as it
did; a reader from before G.722 refuses a file with G.722 records with "unknown payload type 9"
rather than misreading it.

A truncated final record is what a crash mid-write leaves behind, so readers ignore it rather
than reject the recording.
"""

from __future__ import annotations

import io
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final, Self, TypeVar

import numpy as np
from numpy.typing import NDArray

from callrec.media.errors import CaptureFormatError
from callrec.media.g711 import PT_PCMA, PT_PCMU
from callrec.media.g722 import PT_G722

__all__ = [
    "MAGIC",
    "PAYLOAD_TYPES",
    "RECORD",
    "VERSION",
    "CaptureFormatError",
    "CaptureHeader",
    "CaptureIndex",
    "CaptureWriter",
    "read_index",
]

MAGIC: Final = b"CREC"
VERSION: Final = 1
PAYLOAD_TYPES: Final = frozenset({PT_PCMU, PT_PCMA, PT_G722})
RECORD: Final = struct.Struct("<BBIH")
_pack_record: Final = RECORD.pack
_FIXED: Final = struct.Struct("<4sBIQB")
_RECORD_DTYPE: Final = np.dtype([("leg", "u1"), ("pt", "u1"), ("offset", "<u4"), ("len", "<u2")])
_FIELDS: Final = ("leg", "pt", "offset", "len")
_T = TypeVar("_T", bound=np.generic)
# Index in 1 MiB blocks: big enough that numpy's per-call cost vanishes, small enough to not
# matter for memory. A record (at most 8 + 65535 bytes) always fits in one block.
_BLOCK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    sample_rate: int
    started_at_ms: int
    legs: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 0 < self.sample_rate < 1 << 32:
            raise CaptureFormatError(f"sample_rate {self.sample_rate} does not fit a u32 > 0")
        if not 0 <= self.started_at_ms < 1 << 64:
            raise CaptureFormatError(f"started_at_ms {self.started_at_ms} does not fit a u64")
        if not 1 <= len(self.legs) <= 255:
            raise CaptureFormatError(f"a capture has 1 to 255 legs, not {len(self.legs)}")
        for label in self.legs:
            if len(label.encode()) > 255:
                raise CaptureFormatError(f"leg label {label[:20]!r}… is over 255 bytes")

    def serialize(self) -> bytes:
        fixed = _FIXED.pack(MAGIC, VERSION, self.sample_rate, self.started_at_ms, len(self.legs))
        labels = b"".join(bytes([len(b)]) + b for b in (label.encode() for label in self.legs))
        return fixed + labels

    @classmethod
    def parse(cls, data: bytes) -> CaptureHeader:
        """Parse exactly one serialized header; trailing bytes are an error."""
        stream = io.BytesIO(data)
        header = cls.read(stream)
        if stream.tell() != len(data):
            raise CaptureFormatError(f"{len(data) - stream.tell()} bytes after the header")
        return header

    @classmethod
    def read(cls, stream: BinaryIO) -> CaptureHeader:
        """Read one header from the start of ``stream``, leaving it at the first record."""
        magic, version, rate, started, count = _FIXED.unpack(_read_exact(stream, _FIXED.size))
        if magic != MAGIC:
            raise CaptureFormatError(f"bad magic {magic!r}, expected {MAGIC!r}")
        if version != VERSION:
            raise CaptureFormatError(f"unsupported version {version}, this reader knows {VERSION}")
        labels = []
        for _ in range(count):
            raw = _read_exact(stream, _read_exact(stream, 1)[0])
            try:
                labels.append(raw.decode())
            except UnicodeDecodeError as exc:
                raise CaptureFormatError(f"leg label {raw!r} is not UTF-8") from exc
        return cls(sample_rate=rate, started_at_ms=started, legs=tuple(labels))


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise CaptureFormatError("truncated header")
    return data


class CaptureWriter:
    """Appends records to a new capture file. An existing file is never overwritten.

    ``flush`` makes everything appended durable before it returns. A caller that must not wait
    for the disk (the live recorder, on its event loop) splits that in two: ``write_out`` hands
    the records to the OS, which keeps them if the process is killed, and ``sync``, which may run
    on another thread, then makes them survive a crash of the machine too.
    """

    def __init__(self, path: str | os.PathLike[str], header: CaptureHeader) -> None:
        self.header = header
        self._legs = len(header.legs)
        self._file = open(path, "xb", buffering=1 << 16)  # noqa: SIM115 - closed in close()
        self._write = self._file.write
        # Held by sync and close, so a sync on another thread never fsyncs a closed (or, worse,
        # reused) file descriptor.
        self._lock = threading.Lock()
        self._write(header.serialize())
        self.flush()
        # The directory entry must be durable too, or a crash can lose the whole (fsynced) file.
        directory = os.open(Path(path).resolve().parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def append(self, leg: int, payload_type: int, offset: int, payload: bytes) -> None:
        size = len(payload)
        # One chained test on the hot path; the error says which bound was broken.
        if (
            0 <= leg < self._legs
            and payload_type in PAYLOAD_TYPES
            and 0 <= offset <= 0xFFFFFFFF
            and 0 < size <= 0xFFFF
        ):
            # One buffered write per record: the header and payload joined are cheaper than two.
            self._write(_pack_record(leg, payload_type, offset, size) + payload)
            return
        if not 0 <= leg < self._legs:
            raise CaptureFormatError(f"leg {leg} not in the header's {self._legs}")
        if payload_type not in PAYLOAD_TYPES:
            raise CaptureFormatError(
                f"payload type {payload_type} is not PCMU (0), PCMA (8) or G.722 (9)"
            )
        if not 0 <= offset < 1 << 32:
            raise CaptureFormatError(f"offset {offset} does not fit a u32")
        raise CaptureFormatError(f"payload of {size} bytes; 1 to 65535 allowed")

    def flush(self) -> None:
        """Make everything appended so far durable (the recorder calls this at least every 1 s)."""
        self._file.flush()
        self.sync()

    def write_out(self) -> None:
        """Hand everything appended so far to the OS: it survives the process, not the machine."""
        self._file.flush()

    def sync(self) -> None:
        """Make what ``write_out`` handed over durable; safe to call from another thread, and a
        no-op once the writer is closed (``close`` syncs itself)."""
        with self._lock:
            if not self._file.closed:
                os.fsync(self._file.fileno())

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                try:
                    self._file.flush()
                    os.fsync(self._file.fileno())
                finally:
                    self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True, eq=False)
class CaptureIndex:
    """Every complete record of a capture, one array element per record, in file order."""

    header: CaptureHeader
    leg: NDArray[np.uint8]
    payload_type: NDArray[np.uint8]
    offset: NDArray[np.uint32]
    length: NDArray[np.uint16]
    file_pos: NDArray[np.int64]  # where the record's payload starts in the file
    truncated_bytes: int  # size of the incomplete final record that was ignored (0 if none)

    def __len__(self) -> int:
        return len(self.leg)


def read_index(path: str | os.PathLike[str]) -> CaptureIndex:
    """Index a capture in one sequential pass, holding only one block of it in memory at a time."""
    columns: dict[str, list[NDArray[Any]]] = {name: [] for name in (*_FIELDS, "file_pos")}
    with open(path, "rb") as f:
        header = CaptureHeader.read(f)
        block = bytearray(_BLOCK)
        view = memoryview(block)
        base = f.tell()  # file position of block[0]
        filled = 0
        while n := f.readinto(view[filled:]):
            filled += n
            starts, used = _scan(block, filled)
            fields = _gather(block, starts)
            _validate(header, fields, base + starts)
            for name in _FIELDS:
                columns[name].append(np.ascontiguousarray(fields[name]))
            columns["file_pos"].append(base + starts + RECORD.size)
            # Keep the incomplete record at the end for the next block.
            block[: filled - used] = block[used:filled]
            base += used
            filled -= used
    return CaptureIndex(
        header=header,
        leg=_join(columns, "leg", np.uint8),
        payload_type=_join(columns, "pt", np.uint8),
        offset=_join(columns, "offset", np.uint32),
        length=_join(columns, "len", np.uint16),
        file_pos=_join(columns, "file_pos", np.int64),
        truncated_bytes=filled,
    )


def _join(columns: dict[str, list[NDArray[Any]]], name: str, dtype: type[_T]) -> NDArray[_T]:
    # Joined and dropped one column at a time, so the peak is the index plus one column.
    parts = columns.pop(name)
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _scan(block: bytearray, end: int) -> tuple[NDArray[np.int64], int]:
    """Start positions of the complete records in ``block[:end]`` and where the next one begins.

    Records chain by their length field, so finding them is inherently sequential; this loop is
    the only per-record Python work in the whole read path, hence kept this bare.
    """
    starts: list[int] = []
    append = starts.append
    pos = 0
    while pos + 8 <= end:
        nxt = pos + 8 + (block[pos + 6] | block[pos + 7] << 8)
        if nxt > end:
            break
        append(pos)
        pos = nxt
    return np.array(starts, dtype=np.int64), pos


def _gather(block: bytearray, starts: NDArray[np.int64]) -> NDArray[np.void]:
    data = np.frombuffer(block, dtype=np.uint8)
    rows = data[starts[:, None] + np.arange(RECORD.size)]
    fields: NDArray[np.void] = rows.view(_RECORD_DTYPE).reshape(-1)
    return fields


def _validate(
    header: CaptureHeader, fields: NDArray[np.void], record_pos: NDArray[np.int64]
) -> None:
    bad_leg = np.flatnonzero(fields["leg"] >= len(header.legs))
    if bad_leg.size:
        i = bad_leg[0]
        raise CaptureFormatError(
            f"record at byte {record_pos[i]}: leg {fields['leg'][i]} but the header declares "
            f"{len(header.legs)} legs"
        )
    bad_pt = np.flatnonzero(~np.isin(fields["pt"], list(PAYLOAD_TYPES)))
    if bad_pt.size:
        i = bad_pt[0]
        raise CaptureFormatError(
            f"record at byte {record_pos[i]}: unknown payload type {fields['pt'][i]}"
        )
