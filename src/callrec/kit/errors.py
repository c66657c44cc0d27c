"""The domain error tree. Every error carries its HTTP status and a stable code; one handler
in ``callrec.app`` renders them as ``{"error": {"code", "message", "details"}}``.

CallrecError
├── BadRequest (400)         malformed input that is not a payload-shape problem
├── Unauthenticated (401)    no or bad credentials
├── RateLimited (429)        too many failed logins
├── Forbidden (403)          authenticated, but the scope does not allow it
├── NotFound (404)           absent, or belongs to another org (never say which)
├── Conflict (409)           unique value taken, state does not allow it
└── Unprocessable (422)      well-formed but violates a business rule (licences, bounds)
"""

from __future__ import annotations

from typing import Any


class CallrecError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadRequest(CallrecError):
    status_code = 400
    code = "bad_request"


class Unauthenticated(CallrecError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(CallrecError):
    status_code = 403
    code = "forbidden"


class NotFound(CallrecError):
    status_code = 404
    code = "not_found"


class Conflict(CallrecError):
    status_code = 409
    code = "conflict"


class Unprocessable(CallrecError):
    status_code = 422
    code = "unprocessable"


class LicenceLimitExceeded(Unprocessable):
    code = "licence_limit_exceeded"


class RateLimited(CallrecError):
    status_code = 429
    code = "rate_limited"
