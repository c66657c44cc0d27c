"""One recording's capture, fed packet by packet: each stream is a leg of a CREC file, placed
on the shared timeline by RTP timestamp, flushed at least every second (a crash of the media
server loses at most that), with RFC 4733 digits kept as events, not audio.

No asyncio here: the RTP sockets call ``on_packet`` from the event loop, and every call is O(1)
with no allocation beyond the payload slice and its record.

The once-a-second flush hands the records to the OS on the calling thread (a kill -9 of the media
server keeps them) and leaves the fsync (power-loss durability) to one background thread: an
fsync takes 0.4 ms typically and 15 ms or more on a busy disk, and a thousand calls each fsyncing
once a second on the event loop would stall every other call's packets for most of that second.
Closing a capture still fsyncs it before ``close`` returns."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from callrec.kit.logging import get_logger
from callrec.media.capture import PAYLOAD_TYPES, CaptureHeader, CaptureWriter
from callrec.media.dtmf import Digit, DtmfDetector, DtmfError
from callrec.media.rtp import RtpError, parse_header
from callrec.media.timeline import LegTimeline, TimelineStats

# What a CREC capture stores: G.711 and G.722. All have an 8000 Hz RTP clock and one payload
# byte per tick, so the timeline places them alike and a leg may change between them.
RECORDED = PAYLOAD_TYPES
FLUSH_EVERY_S = 1.0
log = get_logger("callrec.recorder")


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):
        return None  # not Linux: every capture gets its own fsync
    return syncfs


class _Syncer:
    """One daemon thread that makes the captures recorders have written out durable.

    It gathers what was written out over ``GATHER_S`` and syncs it at once: a few captures get an
    fsync each, many get one ``syncfs`` of the filesystems they are on (a thousand fsyncs a
    second cost a fifth of a core in journal commits; one syncfs covers them all). So a record is
    durable at most ``FLUSH_EVERY_S + GATHER_S`` (plus the disk's time) after it arrived.
    """

    GATHER_S = 0.5
    SYNCFS_FROM = 8  # captures in one batch

    def __init__(self) -> None:
        self._pending: list[CallRecorder] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._syncfs = _load_syncfs()

    def submit(self, recorder: CallRecorder) -> None:
        if recorder.sync_queued:
            return  # still waiting its turn: that sync will cover this write-out too
        recorder.sync_queued = True
        with self._lock:
            self._pending.append(recorder)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="capture-sync", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.GATHER_S)
            with self._lock:
                self._wake.clear()
                batch, self._pending = self._pending, []
            for recorder in batch:
                recorder.sync_queued = False  # before the sync: a later write-out queues again
            if self._syncfs is not None and len(batch) >= self.SYNCFS_FROM:
                self._sync_filesystems(self._syncfs, batch)
            else:
                for recorder in batch:
                    self._fsync(recorder)

    def _sync_filesystems(self, syncfs: Callable[[int], int], batch: list[CallRecorder]) -> None:
        for directory in {recorder.path.parent for recorder in batch}:
            try:
                fd = os.open(directory, os.O_RDONLY)
            except OSError:
                continue  # gone: its captures were closed (and synced) and moved away
            try:
                if syncfs(fd) != 0:
                    error = ctypes.get_errno()
                    log.error(
                        "recorder.syncfs_failed", path=str(directory), error=os.strerror(error)
                    )
                    for recorder in batch:  # fall back: each capture on its own
                        if recorder.path.parent == directory:
                            self._fsync(recorder)
            finally:
                os.close(fd)

    @staticmethod
    def _fsync(recorder: CallRecorder) -> None:
        try:
            recorder.writer.sync()
        except OSError as exc:
            log.error("recorder.fsync_failed", path=str(recorder.path), error=str(exc))


_SYNCER = _Syncer()


@dataclass
class Leg:
    label: str
    dtmf_payload_type: int | None
    timeline: LegTimeline = field(default_factory=LegTimeline)
    dtmf: DtmfDetector = field(default_factory=DtmfDetector)
    digits: list[Digit] = field(default_factory=list)
    anchor: int | None = None  # timeline offset of the first audio packet's timestamp
    first_ts: int | None = None
    ignored: int = 0  # packets of payload types we do not record (e.g. comfort noise)
    place: Callable[[int, int, int, int, float], int | None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.place = self.timeline.place  # bound once: one lookup less per packet


@dataclass(frozen=True, slots=True)
class DigitEvent:
    leg: str
    digit: str
    at_ms: int
    duration_ms: int


class CallRecorder:
    def __init__(
        self, path: Path, labels: list[str], dtmf_payload_types: list[int | None],
        started_at_ms: int,
    ) -> None:  # fmt: skip
        self.path = path
        header = CaptureHeader(sample_rate=8000, started_at_ms=started_at_ms, legs=tuple(labels))
        self.writer = CaptureWriter(path, header)
        self._append = self.writer.append
        self.legs = [Leg(label, pt) for label, pt in zip(labels, dtmf_payload_types, strict=True)]
        self.last_flush = 0.0
        self.closed = False
        self.sync_queued = False  # waiting for the background fsync

    def on_packet(self, leg_index: int, data: bytes, now_s: float) -> None:
        """``now_s``: seconds since the recording started (the injected clock's reading)."""
        if self.closed:
            return
        leg = self.legs[leg_index]
        try:
            pt, seq, ts, ssrc, start, end = parse_header(data)
        except RtpError:
            leg.ignored += 1
            return
        if pt == leg.dtmf_payload_type:
            self._dtmf(leg, ts, bool(data[1] >> 7), data[start:end])
        elif pt in RECORDED:
            offset = leg.place(ssrc, seq, ts, end - start, now_s)
            if offset is not None:
                if leg.anchor is None:
                    leg.anchor, leg.first_ts = offset, ts
                self._append(leg_index, pt, offset, data[start:end])
        else:
            leg.ignored += 1
        if now_s - self.last_flush >= FLUSH_EVERY_S:
            self.flush(now_s)

    def _dtmf(self, leg: Leg, ts: int, marker: bool, payload: bytes) -> None:
        try:
            leg.digits.extend(leg.dtmf.feed(ts, marker, payload))
        except DtmfError:
            leg.ignored += 1

    def flush(self, now_s: float) -> None:
        """Hand what was appended to the OS now; the fsync follows on the background thread."""
        self.writer.write_out()
        self.last_flush = now_s
        _SYNCER.submit(self)

    def close(self) -> None:
        if self.closed:
            return
        for leg in self.legs:
            leg.digits.extend(leg.dtmf.flush())
        self.writer.close()
        self.closed = True

    def events(self) -> list[DigitEvent]:
        """Digits at their place on the recording's timeline (ms from its start)."""
        out = []
        for leg in self.legs:
            for digit in leg.digits:
                at = digit.start_ts
                if leg.anchor is not None and leg.first_ts is not None:
                    at = leg.anchor + ((digit.start_ts - leg.first_ts) & 0xFFFFFFFF)
                out.append(DigitEvent(leg.label, digit.digit, at // 8, digit.duration_samples // 8))
        return sorted(out, key=lambda e: e.at_ms)

    def stats(self) -> dict[str, TimelineStats]:
        return {leg.label: leg.timeline.stats for leg in self.legs}

    def size(self) -> int:
        return os.path.getsize(self.path) if self.path.exists() else 0
