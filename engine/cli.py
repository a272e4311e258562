"""Command-line tool: ``python -m engine <command> ...``.

Each command is one entry of :data:`COMMANDS`: a function that adds its arguments to a sub-parser and a function that
runs it and returns an exit code. New commands (chat, eval, train, convert, bench) are added the same way.

Exit codes: 0 success, 2 user error (bad arguments, unreadable raster, unwritable output), 3 model/engine error,
130 interrupted. Errors are one line ``error: ...`` on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .geo.pipeline import SegmentationResult

EXIT_OK = 0
EXIT_USER = 2
EXIT_ENGINE = 3
EXIT_INTERRUPTED = 130

# Builds a model from (name, device); the default loads it through engine.api, tests pass their own.
EngineFactory = Callable[[str, str], object]


class UserError(ValueError):
    """A problem the user can fix by changing the command."""


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, EngineFactory], int]


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one ``error:`` line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER, f"error: {message} (see {self.prog} --help)\n")


def load_engine(model: str, device: str) -> object:
    """The default engine factory: ``engine.api.Engine.load``."""
    from .api import Engine

    return Engine.load(model=model, device=device)


def _configure_segment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("raster", help="raster file GDAL can read (GeoTIFF, COG, JP2, VRT...)")
    parser.add_argument("instruction", help='what to find, e.g. "segment all storage tanks"')
    parser.add_argument("-o", "--output", required=True, metavar="OUT.gpkg", help="GeoPackage to write")
    parser.add_argument("--model", default="demo", help="model name or folder (default: demo)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--window", nargs=4, type=int, metavar=("COL_OFF", "ROW_OFF", "WIDTH", "HEIGHT"), help="pixel window"
    )
    where.add_argument(
        "--bbox", nargs=4, type=float, metavar=("MINX", "MINY", "MAXX", "MAXY"), help="area in the raster's CRS"
    )
    parser.add_argument(
        "--whole",
        action="store_true",
        help="full resolution in overlapping tiles over the raster (or the window/bbox), merged seam-free; "
        "without it the area is one image of at most --max-size pixels",
    )
    parser.add_argument("--tile-size", type=int, default=1024, help="tile side in pixels for --whole (default 1024)")
    parser.add_argument("--overlap", type=int, default=128, help="tile overlap in pixels for --whole (default 128)")
    parser.add_argument("--max-size", type=int, default=2048, help="longest side of a single view (default 2048)")
    parser.add_argument("--gsd", type=float, help="resample to this ground pixel size (raster CRS units)")
    parser.add_argument("--bands", nargs="+", type=int, help="1 (grey) or 3 (R G B) band numbers, 1-based")
    parser.add_argument("--preview", metavar="PNG", help="also write a PNG with the polygons over the image")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--append", action="store_true", help="add a layer to an existing GeoPackage")
    output.add_argument("--overwrite", action="store_true", help="replace an existing GeoPackage")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _run_segment(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    from .geo import write_result
    from .geo.gpkg import check_destination
    from .geo.pipeline import segment_raster
    from .geo.preview import write_preview

    check_destination(args.output, append=args.append, overwrite=args.overwrite)  # before any slow work
    engine = _load(engine_factory, args.model, args.device)
    progress = None if args.quiet else _ProgressBar()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = segment_raster(
                args.raster,
                args.instruction,
                engine,
                window=args.window,
                bbox=args.bbox,
                whole=args.whole,
                tile_size=args.tile_size,
                overlap=args.overlap,
                max_size=args.max_size,
                target_gsd=args.gsd,
                bands=args.bands,
                model_name=args.model,
                on_progress=progress,
            )
    finally:
        if progress is not None:
            progress.close()
    for warning in _unique_messages(caught):
        print(f"warning: {warning}", file=sys.stderr)
    layer = write_result(result, args.output, append=args.append, overwrite=args.overwrite)
    if args.preview:
        write_preview(result, args.preview)
    _print_summary(result, args.output, layer)
    return EXIT_OK


# The sub-commands of ``python -m engine``; others (chat, eval, train, convert, bench) are added here.
COMMANDS: list[Command] = [
    Command("segment", "segment a raster and write the polygons to a GeoPackage", _configure_segment, _run_segment),
]


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m engine", description="Pixel-grounded remote-sensing assistant.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for command in commands:
        configure = sub.add_parser(command.name, help=command.help, description=command.help)
        command.configure(configure)
        configure.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None, *, engine_factory: EngineFactory | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]), run the command and return its exit code."""
    from .geo.errors import EngineError, SegmentationCancelled

    args = build_parser().parse_args(argv)
    try:
        return args.run(args, engine_factory or load_engine)
    except (KeyboardInterrupt, SegmentationCancelled):
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ENGINE
    except ValueError as exc:  # GeoError, ImageryError, UserError: all user-facing, one line
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER


def _load(engine_factory: EngineFactory, model: str, device: str) -> object:
    from .geo.errors import EngineError

    try:
        return engine_factory(model, device)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        raise EngineError(f"cannot load model {model!r} on {device}: {exc}") from exc


class _ProgressBar:
    """A tqdm bar on stderr driven by the pipeline's ``on_progress(done, total)``."""

    def __init__(self) -> None:
        self._bar = None  # created at the first tile, so early errors stay one clean line

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="tile", file=sys.stderr, leave=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _unique_messages(caught: list[warnings.WarningMessage]) -> list[str]:
    """Messages meant for users (UserWarning and subclasses such as a missing CRS), each once."""
    return list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning)))


def _print_summary(result: SegmentationResult, output: str, layer: str) -> None:
    counts = result.counts()
    print(f"{len(result.features)} object(s) -> {output} (layer {layer})")
    for phrase, count in sorted(counts.items()):
        print(f"  {phrase}: {count}")
    if result.crs_wkt is not None:
        print(f"total area: {result.total_area_m2():.1f} m2")
    else:
        print("total area: not measured (raster without CRS)")
