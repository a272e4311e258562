"""Command-line tool: ``python -m engine <command> ...``.

Each command is one entry of :data:`COMMANDS`: a function that adds its arguments to a sub-parser and a function that
runs it and returns an exit code. Heavy imports (torch, the model) happen inside the run functions, so ``--help`` and
argument errors stay instant.

Exit codes: 0 success, 2 user error (bad arguments, unreadable raster, unwritable output), 3 model/engine error,
130 interrupted. Errors are one line ``error: ...`` on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .common import EXIT_ENGINE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USER, EngineFactory, load_engine

__all__ = ["COMMANDS", "Command", "build_parser", "command", "main"]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, EngineFactory], int]


def command(name: str, help: str, module: str, with_engine: bool = True) -> Command:
    """A sub-command whose module (relative to ``engine``) has ``add_arguments(parser)`` and ``run(args)`` (or
    ``run(args, engine_factory)`` with ``with_engine``: commands that load a model through the factory). The module
    is imported only when the command is used, so ``--help`` and argument errors stay instant."""

    def configure(parser: argparse.ArgumentParser) -> None:
        importlib.import_module(module, "engine").add_arguments(parser)

    def run(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
        entry: Callable[..., int | None] = importlib.import_module(module, "engine").run
        code = entry(args, engine_factory) if with_engine else entry(args)
        return EXIT_OK if code is None else int(code)

    return Command(name, help, configure, run)


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one ``error:`` line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER, f"error: {message} (see {self.prog} --help)\n")


# The sub-commands of ``python -m engine``.
COMMANDS: list[Command] = [
    command("segment", "segment a raster and write the polygons to a GeoPackage", ".cli.segment"),
    command("chat", "talk about one raster view, answers streamed as they are written", ".cli.chat"),
    command("batch", "segment many rasters, sharded over torchrun ranks, into one GeoPackage", ".cli.batch"),
    command("demo", "storage tanks on a sample raster -> GeoPackage + preview PNG", ".cli.demo"),
    command("eval", "evaluate a model or a predictions file on a grounded dataset", ".cli.evaluate"),
    command("dataset", "build a training set from a raster and a polygon layer", ".cli.dataset"),
    command("bench", "benchmarks: model latency, parameter counts, geo pipeline", ".cli.bench"),
    command("finetune", "fine-tune a model on training sets from your layers", ".cli.finetune", with_engine=False),
    command("train", "train a model from a recipe (torchrun for several GPUs)", ".train.cli", with_engine=False),
    command("convert", "convert a published checkpoint into a model folder", ".convert.cli", with_engine=False),
]


def build_parser(commands: Sequence[Command] = COMMANDS, only: str | None = None) -> argparse.ArgumentParser:
    """The parser of all ``commands``; with ``only``, the other commands' arguments are not set up (setting up some
    of them imports torch, which would make every call slower)."""
    parser = _Parser(prog="python -m engine", description="Pixel-grounded remote-sensing assistant.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for command in commands:
        configure = sub.add_parser(command.name, help=command.help, description=command.help)
        if only is None or command.name == only:
            command.configure(configure)
        configure.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None, *, engine_factory: EngineFactory | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run the command and return its exit code."""
    from ..geo.errors import EngineError
    from ..types import Cancelled

    argv = list(sys.argv[1:] if argv is None else argv)
    named = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(only=named if named in {c.name for c in COMMANDS} else "")  # "": set up none
    args, extra = parser.parse_known_args(argv)
    if extra:
        # A command may take positionals on both sides of its options (``batch A.tif B.tif -o OUT "instruction"``);
        # argparse leaves the ones after the options over, so they are added back here.
        trailing = getattr(args, "trailing_positionals", None)
        if trailing is None or any(item.startswith("-") for item in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        setattr(args, trailing, [*getattr(args, trailing), *extra])
    try:
        return args.run(args, engine_factory or load_engine)
    except (KeyboardInterrupt, Cancelled):
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ENGINE
    except ValueError as exc:  # GeoError, ImageryError, UserError, ModelNotFoundError: all user-facing, one line
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER
