"""Call history: calls, segments, participants (and, later, reports over them)."""
