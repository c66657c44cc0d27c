"""The SIPREC recording server (RFC 7866): accepts recording sessions from allowed SRCs,
decides at INVITE, answers receive-only, captures every stream to one CREC file, and hands it
to the pipeline at BYE (or when the SRC goes silent past the RTP timeout)."""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from callrec.kit.logging import get_logger
from callrec.telephony import capture_store
from callrec.telephony.capture_store import CaptureRef, Party
from callrec.telephony.recorder import CallRecorder
from callrec.telephony.rtp_endpoint import PortPool, RtpEndpoint, open_endpoint
from callrec.telephony.sdp import (
    NegotiatedStream,
    SdpError,
    SessionDescription,
    answer_recording_offer,
)
from callrec.telephony.sip import SipRequest, parse_content_type, parse_multipart
from callrec.telephony.sip.errors import SipParseError
from callrec.telephony.siprec.metadata import MetadataError, RecordingMetadata, merge
from callrec.telephony.transactions import ServerTransaction, TransactionLayer
from callrec.telephony.transport import SipListener
from callrec.telephony.trust import Allowlist
from callrec.worker.runtime import Runtime

log = get_logger("callrec.srs")
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"
SUPPORTED_CODECS = ("PCMU", "PCMA", "G722", "telephone-event")


@dataclass
class SrsConfig:
    host: str = "127.0.0.1"
    sip_port: int = 5060
    rtp_first: int = 20000
    rtp_last: int = 29999
    allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    org_slug: str | None = None
    rtp_timeout_s: float = 30.0


@dataclass
class Session:
    """One recording session (one SIP dialog with the SRC). A transfer ends the current
    segment's recording and starts the next one on the same streams."""

    call_id: str
    call: CaptureRef  # the call, and the first segment's recording
    ref: CaptureRef | None  # the current segment's recording (None: that segment is not recorded)
    recorder: CallRecorder | None
    streams: list[NegotiatedStream]
    endpoints: list[RtpEndpoint]
    port_base: int
    port_count: int
    answer: SessionDescription
    metadata: RecordingMetadata
    user_id: uuid.UUID | None
    sequence: int = 1
    segment_started: float = field(default_factory=time.monotonic)
    done: bool = False

    def on_rtp(self, leg: int, data: bytes, now: float) -> None:
        if self.recorder is not None:
            self.recorder.on_packet(leg, data, now - self.segment_started)


class RecordingServer:
    def __init__(self, runtime: Runtime, config: SrsConfig) -> None:
        self.rt = runtime
        self.config = config
        self.trusted = Allowlist(config.allow)
        self.ports = PortPool(config.rtp_first, config.rtp_last)
        self.sessions: dict[str, Session] = {}
        self.transactions = TransactionLayer(self._handle, lambda: secrets.token_hex(6))
        self.listener = SipListener(self.transactions.on_message, config.host, config.sip_port)
        self.spool = runtime.settings.data_dir / "spool"
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.spool.mkdir(parents=True, exist_ok=True)
        recovered = await asyncio.to_thread(capture_store.recover_spool, self.rt, self.spool)
        if recovered:
            log.warning("srs.recovered_captures", count=recovered)
        await self.listener.start()
        self._watchdog = asyncio.get_running_loop().create_task(self._rtp_timeouts())
        log.info("srs.listening", host=self.config.host, port=self.config.sip_port)

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for session in list(self.sessions.values()):
            await self._finish(session, "shutdown")
        await self.listener.stop()
        await self.transactions.close()

    async def _handle(self, tx: ServerTransaction) -> None:
        request = tx.request
        if request.method == "OPTIONS":
            tx.reply(200, headers=[("Allow", ALLOW), ("Accept", "application/sdp")])
        elif request.method == "INVITE" and request.to.tag is None:
            await self._invite(tx)
        elif request.method in ("INVITE", "UPDATE"):
            await self._reinvite(tx)
        elif request.method == "BYE":
            session = self.sessions.get(request.call_id)
            if session is None:
                tx.reply(481, "Call/Transaction Does Not Exist")
                return
            tx.reply(200)
            await self._finish(session, "bye")
        else:
            tx.reply(405, headers=[("Allow", ALLOW)])

    async def _invite(self, tx: ServerTransaction) -> None:
        request = tx.request
        if not self.trusted.allows(tx.peer.addr[0]):
            log.warning("srs.refused_source", source=tx.peer.addr[0], call_id=request.call_id)
            tx.reply(
                403, "Forbidden", headers=[("Reason", 'SIP;cause=403;text="not an allowed SRC"')]
            )
            return
        try:
            offer, metadata, metadata_xml = _recording_offer(request)
        except (SipParseError, SdpError, MetadataError, ValueError) as exc:
            tx.reply(400, "Bad Request", headers=[("Warning", f'399 callrec "{_quote(exc)}"')])
            return
        tx.reply(100, "Trying")
        started = datetime.now(UTC)
        opened = await asyncio.to_thread(
            capture_store.open_capture, self.rt, self.config.org_slug, request.call_id,
            _parties(metadata), metadata_xml, started,
        )  # fmt: skip
        if tx.cancelled:
            if opened.ref is not None:
                await asyncio.to_thread(capture_store.discard_capture, self.rt, opened.ref)
            return
        if not opened.decision.record or opened.ref is None:
            log.info("srs.not_recorded", call_id=request.call_id,
                     explanation=opened.decision.explain(),
                     trace=[step._asdict() for step in opened.decision.trace])  # fmt: skip
            text = _quote(opened.decision.explain())
            tx.reply(603, "Decline", headers=[("Reason", f'SIP;cause=603;text="{text}"')])
            return
        count = len(offer.media)
        opened_ports = await self._open_ports(count)
        if opened_ports is None:
            await asyncio.to_thread(capture_store.discard_capture, self.rt, opened.ref)
            tx.reply(503, "Service Unavailable", headers=[("Retry-After", "5")])
            log.warning("srs.no_rtp_ports", call_id=request.call_id, streams=count)
            return
        base, endpoints = opened_ports
        ports = [base + 2 * i for i in range(count)]
        answer, streams = answer_recording_offer(
            offer, local_ip=self.config.host, ports=ports, supported=SUPPORTED_CODECS,
            session_id=int(time.time()),
        )  # fmt: skip
        session = Session(
            call_id=request.call_id, call=opened.ref, ref=opened.ref, recorder=None,
            streams=streams, endpoints=[], port_base=base, port_count=count, answer=answer,
            metadata=metadata, user_id=opened.user_id,
        )  # fmt: skip
        session.recorder = self._recorder(session, opened.ref, started)
        for leg, (stream, endpoint) in enumerate(zip(streams, endpoints, strict=True)):
            # Nothing arrives before the SRC has our answer: the sockets learn their stream now.
            endpoint.sink = functools.partial(session.on_rtp, leg)
            endpoint.expected_ip = stream.remote_addr or None
        session.endpoints = endpoints
        self.sessions[request.call_id] = session
        contact = f"<sip:srs@{self.config.host}:{self.config.sip_port}>"
        tx.reply(
            200, "OK",
            headers=[("Contact", contact), ("Require", "siprec"), ("Allow", ALLOW),
                     ("Content-Type", "application/sdp")],
            body=answer.serialize().encode(),
        )  # fmt: skip
        ref = opened.ref
        log.info("srs.recording", call_id=request.call_id, recording_id=str(ref.recording_id),
                 streams=len(streams))  # fmt: skip

    async def _open_ports(self, count: int) -> tuple[int, list[RtpEndpoint]] | None:
        """``count`` bound sockets on consecutive even ports; a port another process holds
        means the next base, not a failed call. None when the range has nothing free."""
        for _ in range(8):
            try:
                base = self.ports.reserve(count)
            except RuntimeError:
                return None  # every port in use
            endpoints: list[RtpEndpoint] = []
            try:
                for i in range(count):
                    endpoint = RtpEndpoint(sink=_drop, started=0.0)
                    endpoints.append(await open_endpoint(self.config.host, base + 2 * i, endpoint))
                return base, endpoints
            except OSError:
                for endpoint in endpoints:
                    endpoint.close()
                self.ports.release(base, count)
        return None

    async def _reinvite(self, tx: ServerTransaction) -> None:
        """Hold/resume keep the streams on their ports: the recording keeps running (a hold is
        silence, not a gap) and the answer stays the same. New metadata in which someone else of
        ours took over the call (a transfer) ends this segment and starts the next."""
        session = self.sessions.get(tx.request.call_id)
        if session is None:
            tx.reply(481, "Call/Transaction Does Not Exist")
            return
        update = _metadata_update(tx.request)
        tx.reply(200, "OK", headers=[("Content-Type", "application/sdp")],
                 body=session.answer.serialize().encode())  # fmt: skip
        if update is not None:
            await self._metadata_changed(session, update[0], update[1])

    async def _metadata_changed(
        self, session: Session, update: RecordingMetadata, xml: str
    ) -> None:
        session.metadata = merge(session.metadata, update)
        present = [p for p in session.metadata.participants.values() if not p.left]
        parties = [Party(p.name or "", tuple(p.aors)) for p in present]
        user_id = await asyncio.to_thread(
            capture_store.recorded_user, self.rt, session.call.org_id, parties
        )
        if user_id is None or user_id == session.user_id:
            return
        now = datetime.now(UTC)
        opened = await asyncio.to_thread(
            capture_store.start_segment, self.rt, session.call, session.sequence + 1, parties,
            xml, now,
        )  # fmt: skip
        # The old segment's capture ran on during that round trip; it is finished (stored and
        # queued, the slow part) only once the new one has taken over: no audio is lost.
        previous = (session.recorder, session.ref, session.sequence)
        session.sequence += 1
        session.user_id, session.ref = opened.user_id, opened.ref
        session.segment_started = time.monotonic()
        session.recorder = self._recorder(session, opened.ref, now)
        await self._finish_capture(session.call_id, *previous, now, call_ended=False)
        log.info("srs.transfer", call_id=session.call_id, sequence=session.sequence,
                 recorded=opened.ref is not None)  # fmt: skip

    def _recorder(
        self, session: Session, ref: CaptureRef | None, started: datetime
    ) -> CallRecorder | None:
        if ref is None:
            return None
        labels = [s.label or str(s.index + 1) for s in session.streams]
        return CallRecorder(
            self.spool / f"{ref.recording_id}.crec", labels,
            [s.dtmf_payload_type for s in session.streams],
            started_at_ms=int(started.timestamp() * 1000),
        )  # fmt: skip

    async def _close_segment(self, session: Session, ended: datetime, call_ended: bool) -> None:
        recorder, ref = session.recorder, session.ref
        session.recorder = None
        await self._finish_capture(session.call_id, recorder, ref, session.sequence, ended,
                                   call_ended=call_ended)  # fmt: skip

    async def _finish_capture(
        self, call_id: str, recorder: CallRecorder | None, ref: CaptureRef | None,
        sequence: int, ended: datetime, *, call_ended: bool,
    ) -> None:  # fmt: skip
        if recorder is None or ref is None:
            return
        recorder.close()
        await asyncio.to_thread(
            capture_store.finish_recorder, self.rt, ref, recorder, ended, call_ended=call_ended
        )
        log.info("srs.captured", call_id=call_id, sequence=sequence,
                 stats={k: v._asdict() for k, v in recorder.stats().items()})  # fmt: skip

    async def _finish(self, session: Session, why: str) -> None:
        if session.done:
            return
        session.done = True
        self.sessions.pop(session.call_id, None)
        for endpoint in session.endpoints:
            endpoint.close()
        self.ports.release(session.port_base, session.port_count)
        await self._close_segment(session, datetime.now(UTC), call_ended=True)
        log.info("srs.ended", call_id=session.call_id, why=why)

    async def _rtp_timeouts(self) -> None:
        """An SRC that vanished (no BYE) ends its recordings after the RTP timeout."""
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                packets = (e.last_packet for e in session.endpoints)
                last = max(packets, default=session.segment_started)
                if now - last > self.config.rtp_timeout_s:
                    await self._finish(session, "rtp_timeout")


def _recording_offer(request: SipRequest) -> tuple[SessionDescription, RecordingMetadata, str]:
    content_type = request.content_type or ""
    mime, _ = parse_content_type(content_type)
    if mime != "multipart/mixed":
        raise ValueError("a recording session needs a multipart/mixed body (SDP + rs-metadata)")
    parts = {
        p.content_type.split(";")[0].strip().lower(): p
        for p in parse_multipart(request.body, content_type)
    }
    if "application/sdp" not in parts or "application/rs-metadata+xml" not in parts:
        raise ValueError("the body needs application/sdp and application/rs-metadata+xml parts")
    offer = SessionDescription.parse(parts["application/sdp"].body)
    xml = parts["application/rs-metadata+xml"].body
    return offer, RecordingMetadata.parse(xml), xml.decode("utf-8", errors="replace")


def _metadata_update(request: SipRequest) -> tuple[RecordingMetadata, str] | None:
    """The rs-metadata part of a re-INVITE/UPDATE, if it carries one (and it parses)."""
    content_type = request.content_type or ""
    if parse_content_type(content_type)[0] != "multipart/mixed":
        return None
    try:
        for part in parse_multipart(request.body, content_type):
            if part.content_type.split(";")[0].strip().lower() == "application/rs-metadata+xml":
                xml = part.body.decode("utf-8", errors="replace")
                return RecordingMetadata.parse(part.body), xml
    except (SipParseError, MetadataError) as exc:
        log.warning("srs.bad_metadata_update", call_id=request.call_id, error=str(exc))
    return None


def _parties(metadata: RecordingMetadata) -> list[Party]:
    return [Party(p.name or "", tuple(p.aors)) for p in metadata.participants.values()]


def _drop(data: bytes, now: float) -> None:
    """A socket's sink until it knows its stream."""


def _quote(value: object) -> str:
    return str(value).replace('"', "'").replace("\r", " ").replace("\n", " ")[:200]
