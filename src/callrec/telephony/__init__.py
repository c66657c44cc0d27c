"""Telephony: our asyncio SIP stack, SDP, the media sockets, and the SIPREC recording server."""
