"""Consent jobs: deleting the audio a committed change left behind."""

from __future__ import annotations

from sqlalchemy import select

from callrec.consent.service import PURGE_JOB
from callrec.models import Announcement
from callrec.worker.registry import job
from callrec.worker.runtime import Runtime


@job(PURGE_JOB, retries=5, retry_delay_s=2.0)
def purge_audio(rt: Runtime, *keys: str) -> None:
    """Delete these blobs unless a row names them (never true for the keys the service hands
    over, which are fresh per version; checked anyway, because deleting audio that is still
    named is the one mistake this job must not make). Idempotent: a missing blob is no error."""
    columns = (Announcement.audio_8k_key, Announcement.audio_16k_key, Announcement.original_key)
    with rt.sessionmaker() as session:
        named = {
            key
            for column in columns
            for key in session.scalars(select(column).where(column.in_(keys))).all()
        }
    for key in keys:
        if key not in named:
            rt.blobs.delete(key)
