"""The SIP message layer (RFC 3261): pure value objects, no I/O, no asyncio.

Every parser raises :class:`SipParseError` (a ``ValueError``) and nothing else on bad input.
Transports frame bytes with :func:`parse_message` (datagrams) or :func:`parse_stream` (TCP);
transactions and dialogs build on the accessors and :func:`response_for`.
"""

from callrec.telephony.sip.errors import SipParseError
from callrec.telephony.sip.headers import COMPACT_FORMS, LIST_HEADERS, Headers, canonical_name
from callrec.telephony.sip.message import (
    MAX_HEADERS,
    MAX_MESSAGE_BYTES,
    SipMessage,
    SipRequest,
    SipResponse,
    parse_message,
    parse_stream,
)
from callrec.telephony.sip.multipart import (
    BodyPart,
    build_multipart,
    parse_content_type,
    parse_multipart,
)
from callrec.telephony.sip.response import REASON_PHRASES, reason_phrase, response_for
from callrec.telephony.sip.uri import CSeq, NameAddr, SipUri, Via

__all__ = [
    "COMPACT_FORMS",
    "LIST_HEADERS",
    "MAX_HEADERS",
    "MAX_MESSAGE_BYTES",
    "REASON_PHRASES",
    "BodyPart",
    "CSeq",
    "Headers",
    "NameAddr",
    "SipMessage",
    "SipParseError",
    "SipRequest",
    "SipResponse",
    "SipUri",
    "Via",
    "build_multipart",
    "canonical_name",
    "parse_content_type",
    "parse_message",
    "parse_multipart",
    "parse_stream",
    "reason_phrase",
    "response_for",
]
