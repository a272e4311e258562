"""Raster + instruction -> georeferenced polygons, and polygons -> GeoPackage.

The model is anything with ``chat(image, text) -> Reply`` (:class:`ChatModel`), so this module does not depend on
how the model is built or loaded.

Three ways to look at a raster:

* default: the whole raster as one image, decimated (from overviews when present) to at most ``max_size`` pixels
  on its longer side: a coarse view, fast, for large objects;
* ``window=`` / ``bbox=``: that region, at native resolution (or ``target_gsd``) unless larger than ``max_size``;
* ``whole=True``: the raster (or the window/bbox) at native resolution (or ``target_gsd``) in overlapping tiles,
  ``batch_size`` tiles decoded together when the model offers ``chat_batch``, merged seam-free (see :mod:`.merge`);
  memory grows with the batch, not with the raster.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.windows import Window

from ..imagery import ImageryError, to_rgb8
from ..types import Cancelled, Reply, Turn
from .errors import EngineError, RasterError, SegmentationCancelled
from .merge import Instance, Piece, TileMerger
from .raster import global_limits, open_raster, pixel_size, plan_bands, read_rgb, read_scale, resolve_region
from .summary import describe_questions, summary_text
from .tiles import Tile, single_tile, tile_grid
from .vectorize import apply_transform, mask_to_polygons, scored_polygons, simplify_polygonal

if TYPE_CHECKING:
    from .measure import Measurer

# pyproj and pyogrio (imported by .measure and .gpkg) are loaded only where they are used: they bundle their own
# PROJ/GDAL, and merely loading them into QGIS's process makes qgis_process crash at exit. The QGIS plugin uses
# segment_view(measure=False) and QGIS's own writer, so it never loads them.

# GDAL block cache while segmenting, in MB (see _bounded_block_cache).
BLOCK_CACHE_MB = 256
# Whole-raster tile side when neither the caller nor the model (``engine.view_size``) says.
DEFAULT_TILE_SIZE = 1024
# segment_view tiles a view whose longer side exceeds this many model input sizes (one image below it: a model
# resizes its input anyway, and a little downsampling costs less than tile seams and extra answers).
TILE_ABOVE = 1.5
# Largest in-memory view (pixels) that segment_view's upsampling to a model's max_gsd may make (see _zoom).
MAX_ZOOMED_PIXELS = 8192 * 8192


@runtime_checkable
class ChatModel(Protocol):
    """What the pipeline needs from a model: answer an instruction about a uint8 (H, W, 3) image with a Reply whose
    segment masks are (H, W)."""

    def chat(self, image: np.ndarray, conversation: str) -> Reply: ...


@dataclass
class Feature:
    """One object: its polygon in the raster's CRS (pixel coordinates without CRS) and its attributes."""

    geometry: shapely.Geometry
    phrase: str
    score: float
    label: str | None
    area_m2: float
    perimeter_m: float


@dataclass
class SegmentationResult:
    """The objects found for one instruction on one raster, ready to be written or shown."""

    features: list[Feature]
    crs_wkt: str | None
    instruction: str
    model: str
    reply_text: str
    source: str
    transform: Affine
    tiles: int
    pixel_size: float  # side of one pixel the model saw, in CRS units (source pixels without a CRS)
    region: tuple[int, int, int, int] = (0, 0, 0, 0)  # processed pixel window: col_off, row_off, width, height
    asked: list[str] = field(default_factory=list)  # phrases the model grounded, found or not (see .summary)
    created: str = field(default_factory=lambda: _utc_now())

    def counts(self) -> dict[str, int]:
        """Number of objects per phrase."""
        return dict(Counter(f.phrase for f in self.features))

    def total_area_m2(self) -> float:
        return float(sum(f.area_m2 for f in self.features)) if self.features else 0.0

    @property
    def conversation(self) -> list[Turn]:
        return [Turn("user", self.instruction), Turn("assistant", self.reply_text)]


def segment_raster(
    path: str | os.PathLike,
    instruction: str,
    engine: ChatModel,
    *,
    window: Sequence[int] | None = None,
    bbox: Sequence[float] | None = None,
    whole: bool = False,
    tile_size: int | None = None,
    overlap: int | None = None,
    max_size: int = 2048,
    target_gsd: float | None = None,
    bands: Sequence[int] | None = None,
    simplify_px: float = 1.0,
    min_area_px: float = 4.0,
    min_area_m2: float | None = None,
    merge_iou: float = 0.3,
    batch_size: int = 4,
    model_name: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    chat_options: dict | None = None,
    examples: Sequence[shapely.Geometry] | None = None,
    example_phrase: str = "object",
    examples_from: str | os.PathLike | None = None,
) -> SegmentationResult:
    """Ask ``engine`` about a raster and return one polygon feature per object instance.

    ``examples``: geometries in the raster's CRS (pixel coordinates without one), polygons or points on objects;
    the answer is then every object like them (``engine.finder``), named ``example_phrase``, and ``instruction``
    is only recorded. Each example is read at the tiles' ground pixel size (see :mod:`.examples`), from this raster
    or, with ``examples_from``, from that one (the examples then in its CRS).

    ``target_gsd``: read at this many metres per pixel on the ground (measured at the area's centre, as the model's
    ``max_gsd`` is), instead of the native resolution. ``tile_size``/``overlap`` are in model pixels (after that
    resampling); by default the model's own input
    size (``engine.view_size``, else 1024) and an eighth of it. ``simplify_px`` and
    ``min_area_px`` are in model pixels too, so they mean the same at any ground resolution; ``min_area_m2`` also
    drops objects smaller than that on the ground (kept when the area is unknown: no CRS). ``on_progress(done,
    total)`` is called after each tile; ``should_stop()`` is checked before each tile and stops with
    :class:`SegmentationCancelled`. ``batch_size`` tiles are read and answered together (see :func:`_ask_many`).
    ``chat_options`` (``max_new_tokens``...) go to the model with every tile. With ``whole=True`` and no
    ``target_gsd``, a raster coarser on the ground than the model's ``max_gsd`` is read upsampled to it (see
    :func:`_zoom`).
    """
    if not instruction or not instruction.strip():
        raise ValueError("the instruction is empty")
    if not callable(getattr(engine, "chat", None)):
        raise TypeError("engine must have a chat(image, text) method")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    with _bounded_block_cache(), open_raster(path) as dataset:
        region = resolve_region(dataset, window=window, bbox=bbox)
        plan = plan_bands(dataset, bands)
        native = pixel_size(dataset)
        crs_wkt = dataset.crs.to_wkt() if dataset.crs is not None else None
        from .measure import Measurer

        measurer = Measurer(crs_wkt)
        centre = (region.row_off + region.height / 2, region.col_off + region.width / 2)
        ground = measurer.ground_pixel_size(dataset.transform, *centre)  # metres per pixel; NaN without a CRS
        target = None  # pixel size to read at, in CRS units
        if target_gsd is not None:
            if not math.isfinite(ground):
                raise RasterError("a ground pixel size in metres needs a raster with a CRS; this one has none")
            target = native * target_gsd / ground
        elif whole:
            zoom = _zoom(engine, ground)
            target = native / zoom if zoom > 1 else None
        scale = read_scale(region, native, target_gsd=target, max_size=None if whole else max_size)
        if whole:
            size = tile_size or _view_size(engine) or DEFAULT_TILE_SIZE
            tiles = tile_grid(region, size, size // 8 if overlap is None else overlap, scale)
            limits = global_limits(dataset, region, plan)
        else:
            tiles = [single_tile(region, scale)]
            limits = None
        transform = dataset.transform
        if examples is not None:
            from .examples import raster_finder

            model_gsd = ground / scale if math.isfinite(ground) else None
            source = (dataset, plan, limits) if examples_from is None else examples_from
            engine = raster_finder(engine, source, examples, tiles[0], example_phrase, model_gsd)
        merger = TileMerger(tiles, min_iou=merge_iou)
        finish = _Finisher(transform, measurer, simplify_px / scale, min_area_px / scale**2, min_area_m2)
        asked: list[str] = []
        texts = _run_tiles(
            tiles,
            lambda tile: read_rgb(dataset, tile.window, tile.out_shape, plan, limits=limits),
            engine,
            instruction,
            merger,
            finish,
            batch_size=batch_size,
            chat_options=chat_options,
            on_progress=on_progress,
            should_stop=should_stop,
            asked=asked,
        )
        if texts is None:
            raise RasterError(f"{os.path.basename(os.fspath(path))} holds no valid pixels in the requested area")
    name = model_name or getattr(engine, "name", None) or type(engine).__name__
    return SegmentationResult(
        features=finish.sorted(),
        crs_wkt=crs_wkt,
        instruction=instruction,
        model=str(name),
        reply_text=_reply_text(texts, finish.found(), len(tiles), asked, "area" if whole else "view", instruction),
        source=os.fspath(path),
        transform=transform,
        tiles=len(tiles),
        pixel_size=native / scale,
        region=(int(region.col_off), int(region.row_off), int(region.width), int(region.height)),
        asked=asked,
    )


def segment_view(
    image: np.ndarray,
    transform: Affine | Sequence[float],
    crs_wkt: str | None,
    instruction: str,
    engine: ChatModel,
    *,
    nodata: float | None = None,
    bands: Sequence[int] | None = None,
    simplify_px: float = 1.0,
    min_area_px: float = 4.0,
    tile_size: int | None = None,
    overlap: int | None = None,
    batch_size: int = 4,
    model_name: str | None = None,
    source: str = "",
    measure: bool = True,
    ground_gsd: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    examples: Sequence[shapely.Geometry] | None = None,
    example_phrase: str = "object",
    **chat_options,
) -> SegmentationResult:
    """Ask ``engine`` about pixels already in memory: ``image`` as (bands, H, W) (any dtype, see
    :func:`..imagery.to_rgb8`) or uint8 (H, W, 3), with the affine ``transform`` of its pixel grid.

    This is the path of callers that read pixels themselves (the QGIS plugin reads through QGIS's providers).
    A view much larger than the model's input size (``tile_size``, by default ``engine.view_size``) is answered in
    overlapping tiles, merged as in :func:`segment_raster`, so small objects keep their pixels; otherwise it is one
    image. ``chat_options`` (``max_new_tokens``, ``on_text``, ``should_stop``...) are passed to the model
    (``on_text`` streams single-image answers only). ``measure=False`` leaves areas and perimeters NaN for callers
    that measure with their own geodesy library (QGIS measures with its own PROJ; loading pyproj's PROJ in a QGIS
    worker thread is not safe everywhere). ``ground_gsd`` is the view's metres per pixel on the ground (measured
    here from the CRS when None and ``measure``): a view coarser than the model's ``max_gsd`` is upsampled to it
    first (see :func:`_zoom`). ``examples``: geometries in the coordinates ``transform`` maps the view's pixels to
    (its CRS), inside the view; see :func:`segment_raster`.
    """
    if not instruction or not instruction.strip():
        raise ValueError("the instruction is empty")
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8 and nodata is None and bands is None:
        rgb, valid = image, np.ones(image.shape[:2], dtype=bool)
    else:
        if bands is not None:
            image = image[[b - 1 for b in bands]]
        try:
            rgb, valid = to_rgb8(image, nodata=nodata)
        except ImageryError as exc:
            raise RasterError(f"the view cannot be used: {exc}") from exc
    if not valid.any():
        raise RasterError("the view holds no valid pixels")
    transform = transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])
    from .measure import Measurer

    measurer = Measurer(crs_wkt if measure else None)
    height, width = rgb.shape[:2]
    if ground_gsd is None and measure:
        ground_gsd = measurer.ground_pixel_size(transform, height / 2, width / 2)
    zoom, tiles = view_plan(engine, height, width, ground_gsd, tile_size=tile_size, overlap=overlap)
    if zoom > 1:
        rgb, valid, transform = _upsample(rgb, valid, transform, zoom)
        height, width = rgb.shape[:2]

    from .examples import array_reader, bind_examples, to_pixel_geometries

    read = array_reader(rgb, valid)
    if examples is not None:
        pixels = to_pixel_geometries(examples, transform)
        engine = bind_examples(engine, read, (height, width), pixels, tiles[0], example_phrase)

    def crop(tile: Tile) -> tuple[np.ndarray, np.ndarray] | None:
        return read(tile.window, tuple(tile.out_shape))

    merger = TileMerger(tiles)
    finish = _Finisher(transform, measurer, simplify_px, min_area_px)
    asked: list[str] = []
    texts = _run_tiles(
        tiles,
        crop,
        engine,
        instruction,
        merger,
        finish,
        batch_size=batch_size,
        chat_options=chat_options,
        on_progress=on_progress,
        should_stop=chat_options.get("should_stop"),
        asked=asked,
    )
    name = model_name or getattr(engine, "name", None) or type(engine).__name__
    return SegmentationResult(
        features=finish.sorted(),
        crs_wkt=crs_wkt or None,
        instruction=instruction,
        model=str(name),
        reply_text=_reply_text(texts or [], finish.found(), len(tiles), asked, "view", instruction),
        source=source,
        transform=transform,
        tiles=len(tiles),
        pixel_size=abs(transform.a),
        asked=asked,
    )


def view_plan(
    engine: ChatModel,
    height: int,
    width: int,
    ground_gsd: float | None = None,
    *,
    tile_size: int | None = None,
    overlap: int | None = None,
) -> tuple[float, list[Tile]]:
    """How :func:`segment_view` will answer a ``height`` x ``width`` view: the upsampling factor (1.0: none) and the
    tiles of the upsampled view. Cheap (no pixels), so a caller can say how long a run takes before starting it."""
    # In memory, so at most MAX_ZOOMED_PIXELS (segment_raster reads tile by tile and needs no cap).
    zoom = min(_zoom(engine, ground_gsd), math.sqrt(MAX_ZOOMED_PIXELS / (height * width)))
    if zoom > 1:
        height, width = max(1, round(height * zoom)), max(1, round(width * zoom))
    size = tile_size or _view_size(engine)
    whole = Window(0, 0, width, height)
    if size and max(height, width) > TILE_ABOVE * size:
        return zoom, tile_grid(whole, size, size // 8 if overlap is None else overlap)
    return zoom, [single_tile(whole)]


def _run_tiles(
    tiles: list[Tile],
    read: Callable[[Tile], tuple[np.ndarray, np.ndarray] | None],
    engine: ChatModel,
    instruction: str,
    merger: TileMerger,
    finish: _Finisher,
    *,
    batch_size: int,
    chat_options: dict | None,
    on_progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
    asked: list[str] | None = None,
) -> list[str] | None:
    """Read, ask and merge the tiles in order, ``batch_size`` at a time; the distinct answer texts, or None when no
    tile had a valid pixel. ``read(tile)`` gives ``(rgb, valid)`` or None for a tile without data; ``asked``
    collects the phrases the model grounded (also with an empty mask). A request for a description is asked as one
    "segment all" question per class the engine knows (see :func:`.summary.describe_questions`), pass after pass."""
    texts: list[str] = []
    any_valid = False
    done = 0
    questions = describe_questions(instruction) or [instruction]
    total = len(tiles) * len(questions)
    if on_progress is not None:
        on_progress(0, total)  # the count shows before the first (slowest) batch, not after it
    for question, start in ((q, s) for q in questions for s in range(0, len(tiles), batch_size)):
        if should_stop is not None and should_stop():
            raise SegmentationCancelled(f"stopped after {done} of {total} tiles")
        batch = tiles[start : start + batch_size]
        reads = [read(tile) for tile in batch]
        images = [found[0] for found in reads if found is not None]
        replies = iter(_ask_many(engine, images, question, batch_size, chat_options, should_stop))
        for tile, found in zip(batch, reads, strict=True):
            pieces: list[Piece] = []
            if found is not None:
                any_valid = True
                reply = next(replies)
                if reply.text and reply.text not in texts:
                    texts.append(reply.text)
                if asked is not None:
                    asked.extend(s.phrase for s in reply.segments if s.phrase and s.phrase not in asked)
                pieces = _pieces(reply, tile, found[1])
            finish.extend(merger.add(tile, pieces))
            done += 1
            if on_progress is not None:
                on_progress(done, total)
        if start + batch_size >= len(tiles):  # a pass is over: its objects are complete
            finish.extend(merger.flush())
    return texts if any_valid else None


def _zoom(engine: ChatModel, ground_gsd: float | None) -> float:
    """How much to upsample imagery of ``ground_gsd`` metres per pixel for ``engine`` (1.0: not at all).

    A model trained on a range of ground resolutions draws small objects poorly at its coarse end (a plane 10-20 px
    across gets a mask a pixel or two off all round); upsampling to the model's ``max_gsd`` shows it the objects at a
    size it outlines well, at the cost of more tiles.
    """
    limit = getattr(engine, "max_gsd", None)
    if not limit or ground_gsd is None or not math.isfinite(ground_gsd) or ground_gsd <= limit * 1.01:
        return 1.0  # within 1 % (a CRS's rounding, Mercator's scale across a view) is not worth resampling
    return ground_gsd / limit


def _upsample(
    rgb: np.ndarray, valid: np.ndarray, transform: Affine, zoom: float
) -> tuple[np.ndarray, np.ndarray, Affine]:
    """``rgb`` (bilinear) and ``valid`` (nearest) ``zoom`` times larger, and the transform of the finer grid."""
    from PIL import Image

    height, width = rgb.shape[:2]
    size = (max(1, round(width * zoom)), max(1, round(height * zoom)))
    rgb = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize(size, Image.Resampling.BILINEAR))
    valid = np.asarray(Image.fromarray(valid).resize(size, Image.Resampling.NEAREST))
    return rgb, valid, transform * Affine.scale(width / size[0], height / size[1])


def _view_size(engine: ChatModel) -> int | None:
    size = getattr(engine, "view_size", None)
    return int(size) if isinstance(size, int) and size > 0 else None


class _Finisher:
    """Turns merged pixel-space instances into measured map-space features."""

    def __init__(
        self,
        transform: Affine,
        measurer: Measurer,
        tolerance_px: float,
        min_area_px: float,
        min_area_m2: float | None = None,
    ) -> None:
        self.transform = transform
        self.measurer = measurer
        self.tolerance_px = tolerance_px
        self.min_area_px = min_area_px
        self.min_area_m2 = min_area_m2
        self.features: list[tuple[tuple[float, float], Feature]] = []

    def extend(self, instances: list[Instance]) -> None:
        for instance in instances:
            parts = [p for p in simplify_polygonal(instance.geometry, self.tolerance_px) if p.area >= self.min_area_px]
            if not parts:
                continue
            pixel_geometry = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
            minx, miny, _, _ = pixel_geometry.bounds
            geometry = apply_transform(pixel_geometry, self.transform)
            area, perimeter = self.measurer.area_perimeter(geometry)
            if self.min_area_m2 is not None and area < self.min_area_m2:  # False for NaN: unknown areas are kept
                continue
            feature = Feature(geometry, instance.phrase, float(instance.score), instance.label, area, perimeter)
            self.features.append(((miny, minx), feature))

    def found(self) -> list[Feature]:
        """The features in the order they were completed."""
        return [f for _, f in self.features]

    def sorted(self) -> list[Feature]:
        """Features by phrase, then top-to-bottom, left-to-right in the image, whatever order tiles finished in."""
        return [f for _, f in sorted(self.features, key=lambda item: (item[1].phrase, item[0]))]


def _bounded_block_cache() -> rasterio.Env:
    """GDAL keeps decoded blocks in a cache of 5 % of RAM by default; tiles revisit blocks in their overlaps, so on a
    large raster that cache alone would grow to gigabytes. Cap it unless the user configured GDAL_CACHEMAX."""
    if "GDAL_CACHEMAX" in os.environ:
        return rasterio.Env()
    return rasterio.Env(GDAL_CACHEMAX=BLOCK_CACHE_MB)


def _ask(engine: ChatModel, image: np.ndarray, instruction: str, chat_options: dict | None = None) -> Reply:
    try:
        reply = engine.chat(image, instruction, **(chat_options or {}))
    except (KeyboardInterrupt, Cancelled):
        raise
    except Exception as exc:
        raise EngineError(f"the model failed: {type(exc).__name__}: {exc}") from exc
    return _check_reply(reply, image)


def _check_reply(reply: Reply, image: np.ndarray) -> Reply:
    # Checked by shape, not class: a plugin reload in QGIS can leave two copies of engine.types alive.
    if not (isinstance(getattr(reply, "text", None), str) and isinstance(getattr(reply, "segments", None), list)):
        raise EngineError(f"the model returned {type(reply).__name__}, expected a Reply")
    for segment in reply.segments:
        if segment.mask.shape != image.shape[:2]:
            raise EngineError(f"the model returned a {segment.mask.shape} mask for a {image.shape[:2]} image")
    return reply


def _ask_many(
    engine: ChatModel,
    images: list[np.ndarray],
    instruction: str,
    batch_size: int,
    chat_options: dict | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[Reply]:
    """One reply per image: through ``engine.chat_batch`` when the model has it and there are several images (decoded
    together, ``max_new_tokens`` and ``should_stop`` passed on, so a cancel stops mid-batch), else one ``chat`` call
    per image with all ``chat_options``. A cancel inside a batch becomes :class:`SegmentationCancelled`."""
    options = dict(chat_options or {})
    batched = getattr(engine, "chat_batch", None)
    if not callable(batched) or len(images) < 2:
        return [_ask(engine, image, instruction, options) for image in images]
    passed = {"max_new_tokens": options["max_new_tokens"]} if "max_new_tokens" in options else {}
    stop = should_stop or options.get("should_stop")
    if stop is not None:
        passed["should_stop"] = stop
    try:
        replies = batched(images, instruction, batch_size=batch_size, **passed)
    except Cancelled as exc:
        raise SegmentationCancelled(str(exc)) from exc
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        raise EngineError(f"the model failed: {type(exc).__name__}: {exc}") from exc
    if len(replies) != len(images):
        raise EngineError(f"the model answered {len(replies)} of {len(images)} tiles")
    for image, reply in zip(images, replies, strict=True):
        _check_reply(reply, image)
    return replies


def _pieces(reply: Reply, tile: Tile, valid: np.ndarray) -> list[Piece]:
    """The polygons of a tile's answer. Each scores the mean probability of its pixels when the model gives pixel
    probabilities, else its mask's score."""
    pieces = []
    for segment in reply.segments:
        mask = segment.mask & valid  # never draw objects over nodata
        if segment.probability is not None:
            scored = scored_polygons(mask, segment.probability, tile.to_source)
        else:
            scored = [(polygon, float(segment.score)) for polygon in mask_to_polygons(mask, tile.to_source)]
        for polygon, score in scored:
            pieces.append(Piece(polygon, segment.phrase.strip() or "object", score, segment.label))
    return pieces


def _reply_text(
    texts: list[str], features: list, tiles: int, asked: Sequence[str], scope: str, instruction: str
) -> str:
    """What the polygons hold when the model grounded phrases ("9 storage tanks, 31,200 m² in all.", see
    :mod:`.summary`); otherwise one answer's own text, or for a tiled answer the count of what was found: one tile's
    words would describe only that tile, and the tile count is ours, not the user's business."""
    if asked:
        describe = describe_questions(instruction) is not None
        return summary_text(asked, [(f.phrase, f.area_m2) for f in features], scope, describe=describe)
    if tiles == 1:
        return texts[0] if texts else ""
    return count_text([f.phrase for f in features])


def count_text(phrases: Sequence[str]) -> str:
    """ "Found 3 objects: storage tank (2), ship (1)." from the phrases of the found objects; "Nothing found." when
    there are none."""
    if not phrases:
        return "Nothing found."
    counts = Counter(phrases)
    listed = ", ".join(f"{phrase} ({count})" for phrase, count in counts.most_common())
    return f"Found {len(phrases)} object{'s' if len(phrases) != 1 else ''}: {listed}."


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
