"""Recording lifecycle: ingest, processing to mono, SLA, status."""
