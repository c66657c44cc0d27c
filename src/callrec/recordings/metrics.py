"""Pipeline metrics. Jobs record into ``PIPELINE`` (one per process); the API's /metrics and a
worker's metrics port both expose it. The backlog is read from the database at scrape time,
so every node reports the same, true number."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

PIPELINE = CollectorRegistry()

HANGUP_TO_READY = Histogram(
    "callrec_recording_captured_to_ready_seconds",
    "Time from captured (hang-up or upload) to ready",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1500, 3600),
    registry=PIPELINE,
)
STAGE = Histogram(
    "callrec_recording_stage_seconds",
    "Time spent in each processing stage",
    ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
    registry=PIPELINE,
)
FAILED = Counter("callrec_recording_failures", "Recordings that failed", registry=PIPELINE)
SLA_BREACHES = Counter(
    "callrec_recording_sla_breaches", "Recordings that missed their SLA deadline", registry=PIPELINE
)


class BacklogCollector(Collector):
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from callrec.recordings.repository import RecordingRepository

        gauge = GaugeMetricFamily(
            "callrec_recordings",
            "Recordings by state (capturing+captured+processing = backlog)",
            labels=["state"],
        )
        with self.factory() as session:
            counts = RecordingRepository(session).count_by_state()
        for state in ("capturing", "captured", "processing", "ready", "failed"):
            gauge.add_metric([state], counts.get(state, 0))
        yield gauge
