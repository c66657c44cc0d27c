"""The one error of the SIP message layer.

``ValueError``
 └── ``SipParseError``: bytes or text that are not a well-formed SIP message, header value, URI or
     multipart body. The message says what is wrong; ``status`` is the response a server should
     answer a request with when it can still build one (RFC 3261 §21.4: 400 unless a more
     precise code applies, e.g. 505 for another SIP version, 416 for an unknown URI scheme).

Deriving from ``ValueError`` keeps the aiortc convention: callers that only want to drop bad
input catch ``ValueError``; nothing else escapes a parser.
"""

from __future__ import annotations


class SipParseError(ValueError):
    """Malformed SIP input; ``str(error)`` says what and where, ``status`` what to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
