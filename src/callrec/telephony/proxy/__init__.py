"""The recording proxy: a B2BUA between caller and callee that anchors both media legs, so it
can play consent media (announcement, ask-to-record), inject the compliance beep, and record
what both parties hear through the same spool and pipeline as the SIPREC server.

Modules: ``config`` (ProxyConfig, routing, trust), ``server`` (the SIP endpoint and dispatch),
``call`` (one call's setup and teardown), ``in_dialog`` (re-INVITE, INFO, REFER), ``consent``
(prompts and the ask answer), ``media`` (RTP relay, our streams), ``sdp`` (SDP rewriting),
``recording`` (capture, segments, the beep clock), ``legs`` (one party of a call).
"""

from callrec.telephony.proxy.config import ProxyConfig
from callrec.telephony.proxy.server import RecordingProxy

__all__ = ["ProxyConfig", "RecordingProxy"]
