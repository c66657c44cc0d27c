"""SIPREC (RFC 7866): the recording server side of a session an SRC (an SBC or PBX) opens to us."""
