"""``python -m engine``: the command-line tool (see :mod:`engine.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
