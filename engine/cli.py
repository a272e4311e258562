"""Command-line tool: ``python -m engine <command> ...``.

Each command is one entry of :data:`COMMANDS`: a function that adds its arguments to a sub-parser and a function that
runs it and returns an exit code. Heavy imports (torch, the model) happen inside the run functions, so ``--help`` and
argument errors stay instant.

Exit codes: 0 success, 2 user error (bad arguments, unreadable raster, unwritable output), 3 model/engine error,
130 interrupted. Errors are one line ``error: ...`` on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from affine import Affine

    from .geo.pipeline import SegmentationResult
    from .types import Reply, Turn
from .registry import DEFAULT_MODEL

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


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_model_arguments(parser: argparse.ArgumentParser, default: str | None = DEFAULT_MODEL) -> None:
    """``--model`` and ``--device``, shared by the commands that load a model."""
    shown = f" (default: {default})" if default else ""
    parser.add_argument("--model", default=default, help=f"model name, folder or hub id{shown}")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")


def add_token_argument(parser: argparse.ArgumentParser, default: int = 256) -> None:
    parser.add_argument(
        "--max-new-tokens", type=positive_int, default=default, help=f"longest answer in tokens (default {default})"
    )


def add_area_arguments(parser: argparse.ArgumentParser) -> None:
    """``--window`` / ``--bbox``: the part of a raster to look at."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--window", nargs=4, type=int, metavar=("COL_OFF", "ROW_OFF", "WIDTH", "HEIGHT"), help="pixel window"
    )
    where.add_argument(
        "--bbox", nargs=4, type=float, metavar=("MINX", "MINY", "MAXX", "MAXY"), help="area in the raster's CRS"
    )


def raster_options(args: argparse.Namespace) -> dict[str, Any]:
    """The segment_raster keywords shared by ``segment`` and ``batch`` (see add_whole_arguments)."""
    return {
        "whole": args.whole,
        "tile_size": args.tile_size,
        "overlap": args.overlap,
        "batch_size": args.tile_batch,
        "chat_options": {"max_new_tokens": args.max_new_tokens},
        "min_area_m2": args.min_area,
        "max_size": args.max_size,
        "target_gsd": args.gsd,
        "bands": args.bands,
        "model_name": args.model,
    }


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_whole_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of whole-raster (tiled) and single-view reads, shared by ``segment`` and ``batch``."""
    parser.add_argument(
        "--whole",
        action="store_true",
        help="full resolution in overlapping tiles over the raster (or the window/bbox), merged seam-free; "
        "without it the area is one image of at most --max-size pixels",
    )
    parser.add_argument(
        "--tile-size", type=_positive_int, help="tile side in pixels for --whole (default: the model's input size)"
    )
    parser.add_argument("--overlap", type=int, help="tile overlap in pixels for --whole (default: 1/8 of the tile)")
    parser.add_argument(
        "--tile-batch",
        type=_positive_int,
        default=4,
        metavar="N",
        help="tiles decoded together for --whole (default 4; lower it if the GPU runs out of memory)",
    )
    parser.add_argument("--max-size", type=int, default=2048, help="longest side of a single view (default 2048)")
    parser.add_argument(
        "--min-area",
        type=float,
        metavar="M2",
        help="drop objects smaller than this on the ground, in m2 (e.g. specks far smaller than what you look for)",
    )
    parser.add_argument(
        "--gsd",
        type=float,
        help="resample to this ground pixel size (raster CRS units), instead of the model's own max_gsd",
    )
    parser.add_argument("--bands", nargs="+", type=int, help="1 (grey) or 3 (R G B) band numbers, 1-based")


def _configure_segment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("raster", help="raster file GDAL can read (GeoTIFF, COG, JP2, VRT...)")
    parser.add_argument("instruction", help='what to find, e.g. "segment all storage tanks"')
    parser.add_argument("-o", "--output", required=True, metavar="OUT.gpkg", help="GeoPackage to write")
    add_model_arguments(parser)
    add_area_arguments(parser)
    add_whole_arguments(parser)
    add_token_argument(parser)
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
    engine = load_checked(engine_factory, args.model, args.device)
    progress = None if args.quiet else ProgressBar()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = segment_raster(
                args.raster,
                args.instruction,
                engine,
                window=args.window,
                bbox=args.bbox,
                on_progress=progress,
                **raster_options(args),
            )
    finally:
        if progress is not None:
            progress.close()
    print_warnings(caught)
    layer = write_result(result, args.output, append=args.append, overwrite=args.overwrite)
    if args.preview:
        write_preview(result, args.preview)
    print_summary(result, args.output, layer)
    return EXIT_OK


# --- chat -------------------------------------------------------------------------------------------------------


@dataclass
class RasterView:
    """One read of a raster area as the model sees it, with the map transform of its pixel grid."""

    rgb: np.ndarray  # uint8 (H, W, 3)
    valid: np.ndarray  # bool (H, W): pixels holding data
    transform: Affine
    crs_wkt: str | None
    source: str


def read_view(
    path: str | os.PathLike,
    *,
    window: Sequence[int] | None = None,
    bbox: Sequence[float] | None = None,
    max_size: int = 2048,
    bands: Sequence[int] | None = None,
) -> RasterView:
    """Read a raster (or its window/bbox) once as one image of at most ``max_size`` pixels on its longer side."""
    from .geo.errors import RasterError
    from .geo.raster import open_raster, pixel_size, plan_bands, read_rgb, read_scale, resolve_region, window_transform
    from .geo.tiles import single_tile

    if max_size < 16:
        raise UserError(f"--max-size must be at least 16 pixels, got {max_size}")
    with open_raster(path) as dataset:
        region = resolve_region(dataset, window=window, bbox=bbox)
        plan = plan_bands(dataset, bands)
        tile = single_tile(region, read_scale(region, pixel_size(dataset), max_size=max_size))
        read = read_rgb(dataset, tile.window, tile.out_shape, plan)
        if read is None:
            raise RasterError(f"{os.path.basename(os.fspath(path))} holds no valid pixels in the requested area")
        transform = window_transform(dataset, tile.window, tile.out_shape)
        crs_wkt = dataset.crs.to_wkt() if dataset.crs is not None else None
    return RasterView(read[0], read[1], transform, crs_wkt, os.fspath(path))


def _configure_chat(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("raster", help="raster file GDAL can read (GeoTIFF, COG, JP2, VRT...)")
    add_model_arguments(parser)
    add_area_arguments(parser)
    parser.add_argument("--max-size", type=int, default=2048, help="longest side of the view in pixels (default 2048)")
    parser.add_argument("--bands", nargs="+", type=int, help="1 (grey) or 3 (R G B) band numbers, 1-based")
    add_token_argument(parser)


def _run_chat(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        view = read_view(args.raster, window=args.window, bbox=args.bbox, max_size=args.max_size, bands=args.bands)
    print_warnings(caught)
    engine = load_checked(engine_factory, args.model, args.device)
    return RasterChat(engine, view, model_name=args.model, max_new_tokens=args.max_new_tokens).run()


CHAT_HELP = "commands: /save OUT.gpkg (polygons of the last answer + the conversation), /help, /quit (or Ctrl-D)"


class RasterChat:
    """The read-answer loop of ``python -m engine chat``: questions from stdin, answers streamed to stdout.

    The image is encoded once (the engine's Conversation caches its features), so follow-up questions only pay for
    the new text. Ctrl-C while an answer is being written stops the generation between two tokens, then the command
    exits with 130.
    """

    def __init__(self, engine: Any, view: RasterView, *, model_name: str, max_new_tokens: int = 256) -> None:
        self.engine = engine
        self.view = view
        self.model_name = model_name
        self.max_new_tokens = max_new_tokens
        self.conversation = engine.new_conversation(view.rgb)
        self.conversation.valid = self.conversation.valid & view.valid  # masks never cover nodata
        self.turns: list[Turn] = []  # what was shown: questions and answers without grounding markup
        self.last: tuple[str, Reply] | None = None
        self._saved_turns: dict[str, int] = {}  # GeoPackage -> turns of this chat already written to it

    def run(self) -> int:
        height, width = self.view.rgb.shape[:2]
        print(f"{os.path.basename(self.view.source)}: {width}x{height} px view; {CHAT_HELP}", file=sys.stderr)
        prompt = "> " if sys.stdin.isatty() else ""
        while True:
            try:
                line = input(prompt).strip()
            except EOFError:
                return EXIT_OK
            if not line:
                continue
            if line.startswith("/"):
                if self._command(line) == "quit":
                    return EXIT_OK
                continue
            self.ask(line)

    def ask(self, question: str) -> Reply:
        """Answer one question, streaming the text; raises KeyboardInterrupt when stopped with Ctrl-C."""
        from .types import Cancelled, Turn

        self.conversation.ask(question)
        with StopOnInterrupt() as stop:
            try:
                reply = call_engine(
                    self.engine.chat,
                    None,
                    self.conversation,
                    max_new_tokens=self.max_new_tokens,
                    on_text=_stream_out,
                    should_stop=stop,
                )
            except Cancelled:
                print(flush=True)
                raise KeyboardInterrupt from None
        print(flush=True)
        if reply.segments:
            counts: dict[str, int] = {}
            for segment in reply.segments:
                name = segment.phrase.strip() or segment.label or "object"
                counts[name] = counts.get(name, 0) + 1
            listed = ", ".join(f"{name} x{count}" for name, count in counts.items())
            print(f"[{len(reply.segments)} segment(s): {listed}; /save OUT.gpkg writes them]", flush=True)
        self.turns += [Turn("user", question), Turn("assistant", reply.text)]
        self.last = (question, reply)
        return reply

    def save(self, path: str) -> str:
        """Write the last answer's segments as a polygon layer and the conversation rows not yet in ``path``."""
        from .geo import write_result
        from .geo.pipeline import segment_view

        if self.last is None:
            raise UserError("nothing to save yet: ask a question first")
        question, reply = self.last
        result = segment_view(
            self.view.rgb,
            self.view.transform,
            self.view.crs_wkt,
            question,
            _Replay(reply),
            model_name=self.model_name,
            source=self.view.source,
        )
        key = os.path.abspath(path)
        exists = os.path.exists(path)
        written = self._saved_turns.get(key, 0) if exists else 0
        turns = self.turns[written:]
        layer = write_result(_with_turns(result, turns), path, append=exists)
        self._saved_turns[key] = len(self.turns)
        print(f"saved {len(result.features)} polygon(s) to {path} (layer {layer})", flush=True)
        return layer

    def _command(self, line: str) -> str | None:
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if name in ("/quit", "/exit", "/q"):
            return "quit"
        try:
            if name == "/save":
                if not rest:
                    raise UserError("usage: /save OUT.gpkg")
                self.save(rest)
            elif name == "/help":
                print(CHAT_HELP, flush=True)
            else:
                raise UserError(f"unknown command {name} ({CHAT_HELP})")
        except ValueError as exc:  # a bad path or an early /save must not end the conversation
            print(f"error: {exc}", file=sys.stderr, flush=True)
        return None


def _stream_out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


class _Replay:
    """Hands an answer already given back to :func:`..geo.pipeline.segment_view`, so saving goes through the same
    polygon, measuring and writing code as ``segment``."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply

    def chat(self, image: np.ndarray, conversation: str) -> Reply:
        return self.reply


def _with_turns(result: SegmentationResult, turns: list[Turn]) -> SegmentationResult:
    """``result`` with ``turns`` as the rows of its conversation table (instead of one question and its answer)."""
    return _conversation_result_class()(**vars(result), turns=turns)


@functools.cache
def _conversation_result_class() -> type:
    from .geo.pipeline import SegmentationResult  # imported late: the geo stack is not needed for --help

    @dataclass
    class ConversationResult(SegmentationResult):
        turns: list[Turn] = field(default_factory=list)

        @property
        def conversation(self) -> list[Turn]:
            return list(self.turns)

    return ConversationResult


class StopOnInterrupt:
    """While active, Ctrl-C (SIGINT) only raises a flag read through ``should_stop()``, so the generation loop stops
    between tokens and leaves the engine in a clean state; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.stopped = False
        self._installed = False
        self._previous: Any = None

    def __call__(self) -> bool:
        return self.stopped

    def __enter__(self) -> StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():  # Python handles signals in the main thread only
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.SIG_DFL)
            self._installed = False

    def _handle(self, signum: int, frame: object) -> None:
        if self.stopped:
            raise KeyboardInterrupt
        self.stopped = True


# --- commands implemented elsewhere -------------------------------------------------------------------------------


def _configure_eval(parser: argparse.ArgumentParser) -> None:
    from .eval.cli import add_arguments

    add_arguments(parser)
    add_model_arguments(parser)
    add_token_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress counter")


def _run_eval(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    """Score a predictions file, or the model named by ``--model`` when no ``--predictions`` is given."""
    import json

    from .eval.cli import run

    predict = None
    progress = None
    if args.predictions is None:
        engine = load_checked(engine_factory, args.model, args.device)
        progress = None if args.quiet else ProgressBar(unit="sample")

        def predict(image: np.ndarray, instruction: str) -> Reply:
            reply = call_engine(engine.chat, image, instruction, max_new_tokens=args.max_new_tokens)
            if progress is not None:
                progress.step()
            return reply

    try:
        metrics = run(args, predict)
    finally:
        if progress is not None:
            progress.close()
    print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}, indent=2))
    return EXIT_OK


def _configure_bench(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "suite",
        choices=["model", "params", "geo"],
        help="model: per-stage latency of a preset; params: parameter counts; geo: the geo pipeline",
    )
    parser.add_argument("options", nargs=argparse.REMAINDER, help="options of that benchmark (see its --help)")


def _run_bench(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    if args.suite == "geo":
        from .geo.bench import main as geo_bench

        geo_bench(args.options)
        return EXIT_OK
    from .bench import main as model_bench

    return model_bench([args.suite, *args.options])


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    from .demo import add_arguments

    add_arguments(parser)


def _run_demo(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    from .demo import run

    return run(args, engine_factory)


def _configure_batch(parser: argparse.ArgumentParser) -> None:
    from .batch import add_arguments

    add_arguments(parser)


def _run_batch(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    from .batch import run

    return run(args, engine_factory)


def _delegated(module: str) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[..., int]]:
    """configure/run of a command whose module (relative to this package) has ``add_arguments`` and ``run(args)``."""

    def configure(parser: argparse.ArgumentParser) -> None:
        importlib.import_module(module, __package__).add_arguments(parser)

    def run(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
        code = importlib.import_module(module, __package__).run(args)
        return EXIT_OK if code is None else int(code)

    return configure, run


# The sub-commands of ``python -m engine``.
COMMANDS: list[Command] = [
    Command("segment", "segment a raster and write the polygons to a GeoPackage", _configure_segment, _run_segment),
    Command("chat", "talk about one raster view, answers streamed as they are written", _configure_chat, _run_chat),
    Command("batch", "segment many rasters, sharded over torchrun ranks, into one GeoPackage", _configure_batch,
            _run_batch),
    Command("demo", "storage tanks on a sample raster -> GeoPackage + preview PNG", _configure_demo, _run_demo),
    Command("eval", "evaluate a model or a predictions file on a grounded dataset", _configure_eval, _run_eval),
    Command("bench", "benchmarks: model latency, parameter counts, geo pipeline", _configure_bench, _run_bench),
    Command("train", "train a model from a recipe (torchrun for several GPUs)", *_delegated(".train.cli")),
    Command("convert", "convert a published checkpoint into a model folder", *_delegated(".convert.cli")),
]  # fmt: skip


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
    from .geo.errors import EngineError
    from .types import Cancelled

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


# --- helpers shared by the commands ---------------------------------------------------------------------------------


def load_checked(engine_factory: EngineFactory, model: str, device: str) -> Any:
    """Load a model; an unknown name is the user's error (exit 2), any other failure the engine's (exit 3)."""
    from .geo.errors import EngineError

    try:
        return engine_factory(model, device)
    except KeyboardInterrupt:
        raise
    except ValueError as exc:  # unknown model name, no CUDA device, bad folder
        raise UserError(f"cannot load model {model!r} on {device}: {exc}") from exc
    except Exception as exc:
        raise EngineError(f"cannot load model {model!r} on {device}: {exc}") from exc


def call_engine(method: Callable[..., Reply], *args: Any, **kwargs: Any) -> Reply:
    """Call the model; its own failures become :class:`EngineError` (exit 3), the caller's stay ValueErrors."""
    from .geo.errors import EngineError
    from .types import Cancelled

    try:
        return method(*args, **kwargs)
    except (KeyboardInterrupt, Cancelled, ValueError):
        raise
    except Exception as exc:
        raise EngineError(f"the model failed: {type(exc).__name__}: {exc}") from exc


class ProgressBar:
    """A tqdm bar on stderr, driven by ``bar(done, total)`` (the pipeline's ``on_progress``) or ``bar.step()``."""

    def __init__(self, unit: str = "tile", total: int | None = None) -> None:
        self.unit = unit
        self.total = total
        self._bar: Any = None  # created at the first update, so early errors stay one clean line

    def __call__(self, done: int, total: int) -> None:
        self._ensure(total).update(done - self._bar.n)

    def step(self, count: int = 1) -> None:
        self._ensure(self.total).update(count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def _ensure(self, total: int | None) -> Any:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=self.unit, file=sys.stderr, leave=False)
        return self._bar


def print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Show warnings meant for users (UserWarning and subclasses such as a missing CRS) once each, one line each."""
    messages = dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    for message in messages:
        print(f"warning: {message}", file=sys.stderr)


def print_summary(result: SegmentationResult, output: str, layer: str) -> None:
    counts = result.counts()
    print(f"{len(result.features)} object(s) -> {output} (layer {layer})")
    for phrase, count in sorted(counts.items()):
        print(f"  {phrase}: {count}")
    if result.crs_wkt is not None:
        print(f"total area: {result.total_area_m2():.1f} m2")
    else:
        print("total area: not measured (raster without CRS)")
