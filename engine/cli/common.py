"""What the commands of ``python -m engine`` share: exit codes, common arguments, loading a model, progress and
interrupt handling, and how results and warnings are printed."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..hub.registry import DEFAULT_MODEL

T = TypeVar("T")

if TYPE_CHECKING:
    from ..geo.pipeline import SegmentationResult
    from ..types import Reply

EXIT_OK = 0
EXIT_USER = 2
EXIT_ENGINE = 3
EXIT_INTERRUPTED = 130

# Builds a model from (name, device); the default loads it through engine.api, tests pass their own.
EngineFactory = Callable[[str, str], object]


class UserError(ValueError):
    """A problem the user can fix by changing the command."""


def load_engine(model: str, device: str) -> object:
    """The default engine factory: ``engine.api.Engine.load``."""
    from ..api import Engine

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


def add_whole_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of whole-raster (tiled) and single-view reads, shared by ``segment`` and ``batch``."""
    parser.add_argument(
        "--whole",
        action="store_true",
        help="full resolution in overlapping tiles over the raster (or the window/bbox), merged seam-free; "
        "without it the area is one image of at most --max-size pixels",
    )
    parser.add_argument(
        "--tile-size", type=positive_int, help="tile side in pixels for --whole (default: the model's input size)"
    )
    parser.add_argument("--overlap", type=int, help="tile overlap in pixels for --whole (default: 1/8 of the tile)")
    parser.add_argument(
        "--tile-batch",
        type=positive_int,
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
        help="read at this ground pixel size in metres (measured at the centre of the area), instead of the native "
        "resolution or the model's own max_gsd",
    )
    parser.add_argument("--bands", nargs="+", type=int, help="1 (grey) or 3 (R G B) band numbers, 1-based")


# After Ctrl-C, how long the work may take to reach its next stop check before the command stops without it.
STOP_GRACE_S = 0.5
WORKER_NAME = "engine-work"


def run_stoppable(work: Callable[[Callable[[], bool]], T]) -> T:
    """``work(should_stop)`` in a worker thread, the main thread waiting for it and for Ctrl-C.

    Ctrl-C sets the flag ``should_stop()`` reads between tiles and between tokens. One computation of the model (a
    large tile's image encoding on a busy CPU) cannot be interrupted, so the command does not wait for it: after
    :data:`STOP_GRACE_S` it raises KeyboardInterrupt anyway, and :func:`exit_now` ends the process without waiting
    for the worker. Results are written only after the work returns, so nothing half-written is left behind.
    """
    stop = threading.Event()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work(stop.is_set)
        except BaseException as exc:  # handed to the main thread, which raises it
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=WORKER_NAME, daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.05)
    except KeyboardInterrupt:
        stop.set()
        thread.join(STOP_GRACE_S)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def exit_now(code: int) -> None:
    """Exit with ``code``; when a stopped worker is still inside a computation, without waiting for it (and without
    letting the interpreter tear down modules under it)."""
    if any(t.name == WORKER_NAME and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


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


def load_checked(engine_factory: EngineFactory, model: str, device: str) -> Any:
    """Load a model; an unknown name is the user's error (exit 2), any other failure the engine's (exit 3)."""
    from ..geo.errors import EngineError

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
    from ..geo.errors import EngineError
    from ..types import Cancelled

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
