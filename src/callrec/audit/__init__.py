"""The audit log: append-only, hash-chained events (who did what, when, from where)."""
