"""Jobs: ``recording.process`` (idempotent, leased, retried with backoff), and the periodic
``recording.recover`` (re-sends work a dead worker lost) and ``recording.sla_watchdog``."""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import timedelta
from pathlib import Path

from callrec.kit.db import session_scope
from callrec.kit.logging import get_logger
from callrec.media.errors import AudioDecodeError, CaptureFormatError
from callrec.models import Org, Recording, RecordingState
from callrec.recordings import metrics
from callrec.recordings.processing import Delivery, Processed, process_audio
from callrec.recordings.repository import RecordingRepository
from callrec.recordings.service import MAX_ATTEMPTS, PROCESS_JOB
from callrec.storage import BlobNotFound
from callrec.worker.registry import job, periodic
from callrec.worker.runtime import Runtime

S = RecordingState
log = get_logger("callrec.recordings")
RECOVER_AFTER_S = 30.0


@job(PROCESS_JOB, retries=MAX_ATTEMPTS, retry_delay_s=2.0)
def process(rt: Runtime, recording_id: str) -> None:
    rid = uuid.UUID(recording_id)
    claimed = _claim(rt, rid)
    if claimed is None:
        return  # already done, failed for good, or another worker holds it
    source_key, source_format, dual = claimed
    workdir = work_dir(rt, rid)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    try:
        started = time.perf_counter()
        source = workdir / f"source.{source_format}"
        rt.blobs.download_to(source_key, source)
        metrics.STAGE.labels("fetch").observe(time.perf_counter() - started)
        started = time.perf_counter()
        delivery = Delivery(
            format=rt.settings.delivery_format,
            bitrate_kbps=rt.settings.mp3_bitrate_kbps,
            quality=rt.settings.mp3_quality,
            dual_channel=dual,
        )
        result = process_audio(source, source_format, workdir, delivery, _LeaseKeeper(rt, rid))
        metrics.STAGE.labels("process").observe(time.perf_counter() - started)
        started = time.perf_counter()
        keys = _store(rt, rid, result)
        metrics.STAGE.labels("store").observe(time.perf_counter() - started)
    except (AudioDecodeError, CaptureFormatError, BlobNotFound) as exc:
        _fail(rt, rid, f"{type(exc).__name__}: {exc}")
        return
    except Exception as exc:
        _release(rt, rid, f"{type(exc).__name__}: {exc}")
        raise  # the queue retries with backoff
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _complete(rt, rid, result, keys)


@periodic("recording.recover", every_minutes=1)
def recover(rt: Runtime) -> None:
    """Huey drops a task its worker was killed in; the database still knows. Re-send it."""
    now = rt.clock.now()
    with session_scope(rt.sessionmaker) as session:
        ids = RecordingRepository(session).stuck(now, now - timedelta(seconds=RECOVER_AFTER_S))
    for rid in ids:
        log.warning("recording.recover", recording_id=str(rid))
        rt.queue.send(PROCESS_JOB, str(rid))


@periodic("recording.sla_watchdog", every_minutes=1)
def sla_watchdog(rt: Runtime) -> None:
    now = rt.clock.now()
    with session_scope(rt.sessionmaker) as session:
        for recording in RecordingRepository(session).overdue(now):
            recording.sla_breached = True
            metrics.SLA_BREACHES.inc()
            log.warning(
                "recording.sla_breached", recording_id=str(recording.id),
                state=recording.state.value, deadline=recording.sla_deadline.isoformat()
                if recording.sla_deadline else None,
            )  # fmt: skip


def work_dir(rt: Runtime, recording_id: uuid.UUID) -> Path:
    return rt.settings.data_dir / "work" / str(recording_id)


def sweep_work_dirs(rt: Runtime) -> int:
    """Remove scratch directories of recordings no live worker holds (left by kill -9)."""
    root = rt.settings.data_dir / "work"
    if not root.is_dir():
        return 0
    now = rt.clock.now()
    removed = 0
    with session_scope(rt.sessionmaker) as session:
        for entry in root.iterdir():
            try:
                recording = session.get(Recording, uuid.UUID(entry.name))
            except ValueError:
                recording = None
            held = (
                recording is not None
                and recording.state is S.PROCESSING
                and recording.lease_until is not None
                and recording.lease_until > now
            )
            if not held:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


def _claim(rt: Runtime, rid: uuid.UUID) -> tuple[str, str, bool] | None:
    now = rt.clock.now()
    with session_scope(rt.sessionmaker) as session:
        recording = session.get(Recording, rid)
        if recording is None or recording.source_key is None or recording.source_format is None:
            return None
        lease = now + timedelta(seconds=rt.settings.processing_lease_s)
        if not RecordingRepository(session).claim(rid, now, lease):
            return None
        org = session.get(Org, recording.org_id)
        return recording.source_key, recording.source_format, bool(org and org.dual_channel)


class _LeaseKeeper:
    """Renews the lease when a third of it has passed: often enough to keep it, rarely enough
    not to write to the database on every window."""

    def __init__(self, rt: Runtime, rid: uuid.UUID) -> None:
        self.rt, self.rid = rt, rid
        self.renewed = time.monotonic()

    def __call__(self) -> None:
        lease = self.rt.settings.processing_lease_s
        if time.monotonic() - self.renewed < lease / 3:
            return
        with session_scope(self.rt.sessionmaker) as session:
            recording = session.get(Recording, self.rid)
            if recording is not None and recording.state is S.PROCESSING:
                recording.lease_until = self.rt.clock.now() + timedelta(seconds=lease)
        self.renewed = time.monotonic()


def _store(rt: Runtime, rid: uuid.UUID, result: Processed) -> dict[str, str]:
    """Fixed keys per recording: a second run overwrites with the same content, never adds."""
    with session_scope(rt.sessionmaker) as session:
        recording = session.get(Recording, rid)
        assert recording is not None
        base = f"recordings/{recording.org_id}/{rid}"
    ext = result.audio_path.suffix  # .mp3 or .ogg
    keys = {"audio": f"{base}/audio{ext}", "peaks": f"{base}/peaks.json"}
    rt.blobs.put_file(keys["audio"], result.audio_path)
    rt.blobs.put_bytes(keys["peaks"], result.peaks_json)
    if result.stereo_path is not None:
        keys["stereo"] = f"{base}/stereo{ext}"
        rt.blobs.put_file(keys["stereo"], result.stereo_path)
    return keys


def _complete(rt: Runtime, rid: uuid.UUID, result: Processed, keys: dict[str, str]) -> None:
    now = rt.clock.now()
    with session_scope(rt.sessionmaker) as session:
        recording = session.get(Recording, rid)
        if recording is None:
            return
        recording.state = S.READY
        recording.ready_at = now
        recording.lease_until = None
        recording.format = result.format
        recording.sample_rate = result.sample_rate
        recording.channels = 1
        recording.duration_ms = result.duration_ms
        recording.size_bytes = result.size_bytes
        recording.sha256 = result.sha256
        recording.storage_key = keys["audio"]
        recording.peaks_key = keys["peaks"]
        recording.stereo_key = keys.get("stereo")
        recording.quality_flags = list(result.quality_flags)
        if recording.sla_deadline is not None and now > recording.sla_deadline:
            if not recording.sla_breached:
                metrics.SLA_BREACHES.inc()
            recording.sla_breached = True
        if recording.captured_at is not None:
            metrics.HANGUP_TO_READY.observe((now - recording.captured_at).total_seconds())
    log.info(
        "recording.ready", recording_id=str(rid), duration_ms=result.duration_ms,
        flags=result.quality_flags,
    )  # fmt: skip


def _fail(rt: Runtime, rid: uuid.UUID, reason: str) -> None:
    """A permanent failure (corrupt or unreadable audio): keep the source for reprocessing."""
    with session_scope(rt.sessionmaker) as session:
        recording = session.get(Recording, rid)
        if recording is None:
            return
        recording.state = S.FAILED
        recording.failed_at = rt.clock.now()
        recording.failure_reason = reason
        recording.lease_until = None
    metrics.FAILED.inc()
    log.warning("recording.failed", recording_id=str(rid), reason=reason)


def _release(rt: Runtime, rid: uuid.UUID, reason: str) -> None:
    """A transient failure: give the recording back for the retry, or give up after the last."""
    with session_scope(rt.sessionmaker) as session:
        recording = session.get(Recording, rid)
        if recording is None:
            return
        if recording.attempts >= MAX_ATTEMPTS:
            recording.state = S.FAILED
            recording.failed_at = rt.clock.now()
            recording.failure_reason = f"gave up after {recording.attempts} attempts: {reason}"
            metrics.FAILED.inc()
        else:
            recording.state = S.CAPTURED
        recording.lease_until = None
    log.warning("recording.retry", recording_id=str(rid), reason=reason)
