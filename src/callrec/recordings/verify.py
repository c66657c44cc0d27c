"""`callrec verify`: every ready recording's blob exists and still hashes to its sha256."""

from __future__ import annotations

from dataclasses import dataclass, field

from callrec.recordings.repository import RecordingRepository
from callrec.storage import BlobNotFound
from callrec.worker.runtime import Runtime


@dataclass
class VerifyReport:
    checked: int = 0
    problems: list[str] = field(default_factory=list)


def verify_all(rt: Runtime) -> VerifyReport:
    report = VerifyReport()
    with rt.sessionmaker() as session:
        rows = [(r.id, r.storage_key, r.sha256) for r in RecordingRepository(session).all_stored()]
    for rid, key, expected in rows:
        report.checked += 1
        if key is None:
            report.problems.append(f"recording {rid}: ready but has no storage key")
            continue
        try:
            actual = rt.blobs.sha256(key)
        except BlobNotFound:
            report.problems.append(f"recording {rid}: blob {key} is missing")
            continue
        if actual != expected:
            report.problems.append(
                f"recording {rid}: {key} hashes to {actual[:12]}…, expected {str(expected)[:12]}…"
            )
    return report
