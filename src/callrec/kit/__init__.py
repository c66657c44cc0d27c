"""Shared building blocks: settings, errors, clock, ids, database session, base repository."""
