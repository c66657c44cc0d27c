"""A minimal SIP user agent over UDP, for the demo and the benchmarks: a caller (UAC) and a
callee (UAS) that stream real-time G.711, send key presses (RFC 4733 or SIP INFO), take early
media, hang up or get hung up on, and keep every RTP packet they receive for analysis."""

from callrec.telephony.ua.audio import FRAME_S, Pcm, conversation, pace, tone
from callrec.telephony.ua.callee import Answer, Callee, CalleeAgent
from callrec.telephony.ua.caller import Caller, CallFailed
from callrec.telephony.ua.media import Codec, Received, RtpLeg
from callrec.telephony.ua.signalling import SipEndpoint

__all__ = [
    "FRAME_S",
    "Answer",
    "CallFailed",
    "Callee",
    "CalleeAgent",
    "Caller",
    "Codec",
    "Pcm",
    "Received",
    "RtpLeg",
    "SipEndpoint",
    "conversation",
    "pace",
    "tone",
]
