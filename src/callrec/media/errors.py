"""The media exception tree, in one place.

``ValueError``
 ├── ``CaptureFormatError``: a CREC capture header or record breaks the format (``capture``).
 └── ``AudioDecodeError``: an uploaded audio file cannot be decoded well enough (``decode``).

Both derive from ``ValueError`` because both mean "this input is malformed"; callers that only
want to reject bad input can catch ``ValueError``.
"""

from __future__ import annotations


class CaptureFormatError(ValueError):
    """A CREC capture does not follow the format; the message says where and why."""


class AudioDecodeError(ValueError):
    """An audio file could not be opened or decoded; the message gives the reason."""
