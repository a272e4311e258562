"""``python -m engine``: the command-line tool (see :mod:`engine.cli`)."""

from .cli import main
from .cli.common import exit_now

if __name__ == "__main__":
    exit_now(main())
