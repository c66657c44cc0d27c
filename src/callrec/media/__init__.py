"""The audio library: G.711, the CREC capture format, mixdown, decoding, MP3, peaks, quality.

Pure-ish by rule: only the standard library, numpy, PyAV and lameenc; no asyncio, no database, no
web framework, so the worker processes can run it off the event loop. Every failure on bad input
is one of the two errors in ``callrec.media.errors``.
"""
