"""Identifiers: UUIDv7 (time-ordered, so keyset pagination and B-tree inserts stay cheap)
and opaque secrets."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version, 74 random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def new_secret(prefix: str) -> str:
    """A bearer secret shown once to its owner, e.g. ``crt_…`` for API tokens."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    """Secrets are high-entropy, so a plain SHA-256 is enough to store them (no salt needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()
