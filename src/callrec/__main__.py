"""``python -m callrec`` is the ``callrec`` command."""

from callrec.cli import main

main()
