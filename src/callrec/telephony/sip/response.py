"""Building responses: default reason phrases (RFC 3261 §21) and :func:`response_for` (§8.2.6)."""

from __future__ import annotations

from collections.abc import Iterable

from callrec.telephony.sip.headers import Headers, canonical_name
from callrec.telephony.sip.message import SipRequest, SipResponse

REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

# RFC 3261 §21: an unknown code is treated as the x00 of its class, so its phrase is a safe default.
_CLASS_PHRASES = {1: "Trying", 2: "OK", 3: "Redirection", 4: "Client Error", 5: "Server Error"}


def reason_phrase(status: int) -> str:
    return REASON_PHRASES.get(status) or _CLASS_PHRASES.get(status // 100, "Global Failure")


def response_for(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> SipResponse:
    """A response to ``request`` per RFC 3261 §8.2.6: Vias (in order), From, To, Call-ID, CSeq.

    ``to_tag`` is added unless the request's To already has one (a mid-dialog request); the
    UAS must pass one for every response but 100 (§8.2.6.2). ``headers`` are appended as given.
    """
    out = Headers()
    for name, value in request.headers:
        if canonical_name(name) == "via":
            out.add(name, value)  # each Via line exactly as received: the path back
    out.add("From", request.required("From"))
    to = request.to
    if to_tag is not None and to.tag is None:
        to.params["tag"] = to_tag
        out.add("To", to.serialize())
    else:
        out.add("To", request.required("To"))
    out.add("Call-ID", request.call_id)
    out.add("CSeq", request.required("CSeq"))
    timestamp = request.headers.get("Timestamp")
    if status == 100 and timestamp is not None:
        out.add("Timestamp", timestamp)  # §8.2.6.1: a 100 echoes the request's Timestamp
    for name, value in headers:
        out.add(name, value)
    return SipResponse(status, reason_phrase(status) if reason is None else reason, out, body)
