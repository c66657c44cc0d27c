"""The recording side of a proxied call: the current segment's CREC capture, fed with exactly
what each party hears (leg "caller": what we send the callee; leg "callee": what we send the
caller — beeps included), through the same spool, rows and pipeline as the SIPREC server; and
the compliance beep's clock.

A call that is not recorded has no rows at all: they are created when the callee answers (so a
cancelled or busy call leaves nothing) and only when the decision — and the caller's answer to
the ask prompt — is to record.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callrec.kit.logging import get_logger
from callrec.media.beep import BeepMixer, tone
from callrec.telephony import capture_store
from callrec.telephony.capture_store import CaptureRef, Party, Reach
from callrec.telephony.proxy.media import Bridge
from callrec.telephony.recorder import CallRecorder
from callrec.worker.runtime import Runtime

log = get_logger("callrec.proxy")
LEGS = ("caller", "callee")


class CallRecording:
    def __init__(self, rt: Runtime, spool: Path, sip_call_id: str) -> None:
        self.rt, self.spool, self.sip_call_id = rt, spool, sip_call_id
        self.call_ref: CaptureRef | None = None  # the call's first recorded segment
        self.ref: CaptureRef | None = None  # the current segment's recording
        self.recorder: CallRecorder | None = None
        self.sequence = 0
        self.started = 0.0
        self._bridge: Bridge | None = None

    @property
    def active(self) -> bool:
        return self.recorder is not None

    async def start(
        self, reach: Reach, parties: list[Party], bridge: Bridge, evidence: dict[str, Any]
    ) -> None:
        """The callee answered a call to record: the rows, then the capture."""
        now = datetime.now(UTC)
        self.call_ref = self.ref = await asyncio.to_thread(
            capture_store.create_capture, self.rt, reach, f"proxy:{self.sip_call_id}", parties,
            now, evidence,
        )  # fmt: skip
        self.sequence = 1
        self._open(bridge, now)

    async def next_segment(
        self, parties: list[Party], bridge: Bridge, evidence: dict[str, Any]
    ) -> bool:
        """A transfer: this segment ends, the next starts with its own decision. True when the
        new segment is recorded. The old capture keeps recording until the new one takes over,
        so the database round trips lose no audio."""
        now = datetime.now(UTC)
        if self.call_ref is None:
            return False
        self.sequence += 1
        opened = await asyncio.to_thread(
            capture_store.start_segment, self.rt, self.call_ref, self.sequence, parties, None,
            now, evidence,
        )  # fmt: skip
        previous, previous_ref = self.recorder, self.ref
        self.recorder, self.ref = None, opened.ref
        if opened.ref is not None:
            self._open(bridge, now)
        else:
            self.attach(bridge)  # untap
        await self._finish(previous, previous_ref, now, call_ended=False)
        log.info("proxy.segment", call_id=self.sip_call_id, sequence=self.sequence,
                 recorded=opened.ref is not None)  # fmt: skip
        return opened.ref is not None

    def _open(self, bridge: Bridge, now: datetime) -> None:
        assert self.ref is not None
        recorder = CallRecorder(
            self.spool / f"{self.ref.recording_id}.crec", list(LEGS),
            [bridge.b.out.codec.event_pt, bridge.a.out.codec.event_pt],
            started_at_ms=int(now.timestamp() * 1000),
        )  # fmt: skip
        self.recorder = recorder
        self.started = time.monotonic()
        self.attach(bridge)

    def attach(self, bridge: Bridge) -> None:
        """Tap what we send each party (after a transfer the streams carry on in new legs)."""
        self._bridge = bridge
        recorder, started = self.recorder, self.started
        if recorder is None:
            bridge.a.out.tap = bridge.b.out.tap = None
            return
        # Leg 0 "caller": what the callee hears; leg 1 "callee": what the caller hears.
        for out, leg in ((bridge.b.out, 0), (bridge.a.out, 1)):
            out.tap_leg, out.tap_origin = leg, started
            out.tap_beep = leg == 0  # one beep in the mono recording (see Outbound.tap_beep)
            out.tap = recorder.on_packet

    async def close_segment(self, ended: datetime, call_ended: bool) -> None:
        recorder, ref = self.recorder, self.ref
        self.recorder = None
        if self._bridge is not None:
            self.attach(self._bridge)  # untap
        await self._finish(recorder, ref, ended, call_ended)

    async def _finish(
        self, recorder: CallRecorder | None, ref: CaptureRef | None, ended: datetime,
        call_ended: bool,
    ) -> None:  # fmt: skip
        if recorder is None or ref is None:
            return
        recorder.close()
        await asyncio.to_thread(
            capture_store.finish_recorder, self.rt, ref, recorder, ended, call_ended=call_ended
        )
        log.info("proxy.captured", call_id=self.sip_call_id, sequence=self.sequence,
                 recording_id=str(ref.recording_id),
                 stats={k: v._asdict() for k, v in recorder.stats().items()})  # fmt: skip


class BeepClock:
    """Every ``interval_s`` from the bridge: the beep goes into what both parties hear. The
    mixers place it by timestamp in relayed frames; for the few frames of each beep this wakes
    up and sends beep-only frames to a party whose peer is silent."""

    def __init__(self, bridge: Bridge, interval_s: float, hz: float, ms: int) -> None:
        self.bridge = bridge
        self.interval_s = interval_s
        self.ms = ms
        self.pcm = tone(hz, ms)
        self.started = time.monotonic()
        for out in (bridge.a.out, bridge.b.out):
            out.beep = BeepMixer(self.pcm, interval_s, out.expected_ts(self.started))
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        offset = loop.time() - self.started  # loop clock vs time.monotonic
        beep = 1
        frames = self.ms // 20 + 2
        while True:
            due = self.started + beep * self.interval_s + offset
            await asyncio.sleep(max(0.0, due - loop.time() + 0.005))
            for frame in range(frames):
                self.bridge.beep_tick(time.monotonic())
                await asyncio.sleep(max(0.0, due + (frame + 1) * 0.02 + 0.005 - loop.time()))
            beep += 1

    def stop(self) -> None:
        self.task.cancel()
        for out in (self.bridge.a.out, self.bridge.b.out):
            out.beep = None
