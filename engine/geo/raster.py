"""Reading raster pixels for the model: opening with clear errors, windows, band choice and decimated reads.

Nothing here reads a raster whole unless asked for a region that small: a region is read at the size the model
needs (``out_shape``), and GDAL then serves downsampled reads from the file's overviews when it has them.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window, from_bounds

from ..errors import error_reason
from ..imagery import MULTISPECTRAL_RGB, ImageryError, looks_like_alpha, stretch_limits, to_rgb8
from .errors import NoCRSWarning, RasterError

# Side of the decimated read used for whole-raster statistics (stretch limits, alpha detection).
STATS_SIZE = 1024


@dataclass(frozen=True)
class BandPlan:
    """Which bands to read (1-based) and whether the last of them is an alpha band."""

    indexes: tuple[int, ...]
    alpha: bool = False


@contextmanager
def open_raster(path: str | os.PathLike) -> Iterator[rasterio.io.DatasetReader]:
    """Open a raster for reading, turning rasterio's errors into :class:`RasterError` with the file name.

    A raster without a CRS is accepted with a :class:`NoCRSWarning`: its geometries come out in pixel coordinates.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise RasterError(f"raster not found: {path}")
    if os.path.isdir(path):
        raise RasterError(f"not a raster file but a folder: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            dataset = rasterio.open(path)
    except RasterioError as exc:
        raise RasterError(f"cannot open {path} as a raster: {error_reason(exc)}") from exc
    with dataset:
        if dataset.count == 0 or dataset.width == 0 or dataset.height == 0:
            raise RasterError(f"{path} has no pixels ({dataset.count} bands, {dataset.width}x{dataset.height})")
        if dataset.crs is None:
            warnings.warn(
                f"{os.path.basename(path)} has no CRS: polygons are in pixel coordinates and areas are not measured",
                NoCRSWarning,
                stacklevel=3,
            )
        yield dataset


def resolve_region(
    dataset: rasterio.io.DatasetReader,
    *,
    window: Sequence[int] | None = None,
    bbox: Sequence[float] | None = None,
) -> Window:
    """The integer pixel window to process: ``window`` (col_off, row_off, width, height), ``bbox`` (minx, miny,
    maxx, maxy in the raster's CRS) or the whole raster; clipped to the raster, an error when outside it."""
    full = Window(0, 0, dataset.width, dataset.height)
    if window is not None and bbox is not None:
        raise RasterError("give either a pixel window or a bbox, not both")
    if window is not None:
        if len(window) != 4:
            raise RasterError(f"a window is COL_OFF ROW_OFF WIDTH HEIGHT, got {list(window)}")
        col_off, row_off, width, height = (int(v) for v in window)
        if width <= 0 or height <= 0:
            raise RasterError(f"window width and height must be positive, got {width}x{height}")
        region = Window(col_off, row_off, width, height)
        what = f"window {list(window)}"
    elif bbox is not None:
        if len(bbox) != 4:
            raise RasterError(f"a bbox is MINX MINY MAXX MAXY, got {list(bbox)}")
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        if not (minx < maxx and miny < maxy):
            raise RasterError(f"bbox needs MINX < MAXX and MINY < MAXY, got {list(bbox)}")
        exact = from_bounds(minx, miny, maxx, maxy, transform=dataset.transform)
        # every pixel the bbox touches, tolerant to floating-point noise on pixel edges
        col0, row0 = math.floor(exact.col_off + 1e-6), math.floor(exact.row_off + 1e-6)
        col1 = math.ceil(exact.col_off + exact.width - 1e-6)
        row1 = math.ceil(exact.row_off + exact.height - 1e-6)
        region = Window(col0, row0, col1 - col0, row1 - row0)
        what = f"bbox {list(bbox)}"
    else:
        return full
    try:
        clipped = region.intersection(full)
    except rasterio.errors.WindowError:
        clipped = None
    if clipped is None or clipped.width < 1 or clipped.height < 1:
        bounds = ", ".join(f"{v:g}" for v in dataset.bounds)
        raise RasterError(f"{what} does not overlap the raster ({dataset.width}x{dataset.height} px, bounds {bounds})")
    return Window(int(clipped.col_off), int(clipped.row_off), int(clipped.width), int(clipped.height))


def plan_bands(dataset: rasterio.io.DatasetReader, bands: Sequence[int] | None = None) -> BandPlan:
    """Choose the bands to read once per raster, following :mod:`engine.imagery`'s documented mapping.

    Alpha is decided here, once, so that all tiles of a raster agree: a uint8 2nd/4th band is alpha when a decimated
    read of it holds only 0 and 255; a band of another type when the file declares it alpha. (GDAL's own nodata and
    alpha masks are applied to every read anyway.)
    """
    count = dataset.count
    if bands is not None:
        picked = tuple(int(b) for b in bands)
        if len(picked) not in (1, 3):
            raise RasterError(f"bands takes 1 (grey) or 3 (R G B) band numbers, got {len(picked)}")
        bad = [b for b in picked if not 1 <= b <= count]
        if bad:
            raise RasterError(f"band number(s) {bad} out of range: the raster has bands 1..{count}")
        return BandPlan(picked)
    if count == 1:
        return BandPlan((1,))
    if count == 3:
        return BandPlan((1, 2, 3))
    if count in (2, 4):
        colour = (1,) if count == 2 else (1, 2, 3)
        return BandPlan((*colour, count), alpha=True) if _is_alpha_band(dataset, count) else BandPlan(colour)
    return BandPlan(MULTISPECTRAL_RGB)


def read_scale(
    region: Window,
    pixel_size: float,
    *,
    target_gsd: float | None = None,
    max_size: int | None = None,
) -> float:
    """Output pixels per source pixel: from a target ground sample distance, then capped so the longer side of the
    read is at most ``max_size``. 1.0 means native resolution."""
    scale = 1.0
    if target_gsd is not None:
        if target_gsd <= 0:
            raise RasterError(f"target ground sample distance must be positive, got {target_gsd}")
        scale = pixel_size / target_gsd
    if max_size is not None:
        longest = max(region.width, region.height) * scale
        if longest > max_size:
            scale *= max_size / longest
    return scale


def pixel_size(dataset: rasterio.io.DatasetReader) -> float:
    """Side of a square pixel of the same area, in CRS units (pixels when there is no CRS)."""
    transform = dataset.transform
    return math.sqrt(abs(transform.a * transform.e - transform.b * transform.d))


def read_rgb(
    dataset: rasterio.io.DatasetReader,
    region: Window,
    out_shape: tuple[int, int],
    plan: BandPlan,
    *,
    limits: Sequence[tuple[float, float]] | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Read ``region`` resampled to ``out_shape`` (rows, cols) as uint8 RGB and a valid mask; None when the region
    holds no valid pixel (all nodata or transparent), so callers can skip it without asking the model."""
    pixels = read_masked(dataset, region, out_shape, plan.indexes)
    if np.ma.getmaskarray(pixels).all():
        return None
    try:
        return to_rgb8(pixels, nodata=dataset.nodata, alpha=plan.alpha, limits=limits)
    except ImageryError as exc:
        if "no valid pixels" in str(exc):
            return None
        raise


def global_limits(
    dataset: rasterio.io.DatasetReader, region: Window, plan: BandPlan
) -> list[tuple[float, float]] | None:
    """Stretch limits of a whole region from one decimated read, so every tile shares one stretch; None for uint8
    rasters, which are shown as they are."""
    if all(dataset.dtypes[i - 1] == "uint8" for i in plan.indexes):
        return None
    scale = min(1.0, STATS_SIZE / max(region.width, region.height))
    shape = (max(1, round(region.height * scale)), max(1, round(region.width * scale)))
    pixels = read_masked(dataset, region, shape, plan.indexes, resampling=Resampling.nearest)
    try:
        return stretch_limits(pixels, nodata=dataset.nodata, alpha=plan.alpha)
    except ImageryError as exc:
        if "no valid pixels" in str(exc):
            raise RasterError("the raster holds no valid pixels (all nodata, NaN or transparent)") from exc
        raise


def read_masked(
    dataset: rasterio.io.DatasetReader,
    region: Window,
    out_shape: tuple[int, int],
    indexes: Sequence[int],
    *,
    resampling: Resampling | None = None,
) -> np.ma.MaskedArray:
    """``(len(indexes), rows, cols)`` masked pixels (GDAL's nodata/alpha/internal masks), corrupt data reported."""
    rows, cols = out_shape
    if resampling is None:
        shrinking = rows < region.height or cols < region.width
        growing = rows > region.height or cols > region.width
        resampling = Resampling.average if shrinking else Resampling.bilinear if growing else Resampling.nearest
    try:
        return dataset.read(
            list(indexes), window=region, out_shape=(len(indexes), rows, cols), masked=True, resampling=resampling
        )
    except RasterioError as exc:
        raise RasterError(f"cannot read pixels of {dataset.name} (corrupt file?): {error_reason(exc)}") from exc


def window_transform(dataset: rasterio.io.DatasetReader, region: Window, out_shape: tuple[int, int]) -> Affine:
    """Map transform of a region read at ``out_shape``."""
    rows, cols = out_shape
    return dataset.window_transform(region) @ Affine.scale(region.width / cols, region.height / rows)


def _is_alpha_band(dataset: rasterio.io.DatasetReader, band: int) -> bool:
    # GDAL declares the 4th band of any 4-band uint8 GeoTIFF it writes as alpha, NAIP-style RGB+NIR included, so
    # for uint8 the values decide (imagery's 0/255 test); other types are only alpha when declared so.
    if dataset.dtypes[band - 1] != "uint8":
        return dataset.colorinterp[band - 1] == ColorInterp.alpha
    scale = min(1.0, 256 / max(dataset.width, dataset.height))
    shape = (max(1, round(dataset.height * scale)), max(1, round(dataset.width * scale)))
    try:
        sample = dataset.read(band, out_shape=shape, resampling=Resampling.nearest)
    except RasterioError as exc:
        raise RasterError(f"cannot read pixels of {dataset.name} (corrupt file?): {error_reason(exc)}") from exc
    return looks_like_alpha(sample)
