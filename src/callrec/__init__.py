"""callrec: open-source call recording."""

__version__ = "0.1.0"
