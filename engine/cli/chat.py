"""``python -m engine chat RASTER``: a conversation about one raster view, answers streamed as they are written."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .common import (
    EXIT_OK,
    EngineFactory,
    StopOnInterrupt,
    UserError,
    add_area_arguments,
    add_model_arguments,
    add_token_argument,
    call_engine,
    load_checked,
    print_warnings,
)

if TYPE_CHECKING:
    import numpy as np
    from affine import Affine

    from ..geo.pipeline import SegmentationResult
    from ..types import Reply, Turn


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
    from ..geo.errors import RasterError
    from ..geo.raster import open_raster, pixel_size, plan_bands, read_rgb, read_scale, resolve_region, window_transform
    from ..geo.tiles import single_tile

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("raster", help="raster file GDAL can read (GeoTIFF, COG, JP2, VRT...)")
    add_model_arguments(parser)
    add_area_arguments(parser)
    parser.add_argument("--max-size", type=int, default=2048, help="longest side of the view in pixels (default 2048)")
    parser.add_argument("--bands", nargs="+", type=int, help="1 (grey) or 3 (R G B) band numbers, 1-based")
    add_token_argument(parser)


def run(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
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
        from ..types import Cancelled, Turn

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
        from ..geo import write_result
        from ..geo.pipeline import segment_view

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
    from ..geo.pipeline import SegmentationResult  # imported late: the geo stack is not needed for --help

    @dataclass
    class ConversationResult(SegmentationResult):
        turns: list[Turn] = field(default_factory=list)

        @property
        def conversation(self) -> list[Turn]:
            return list(self.turns)

    return ConversationResult
