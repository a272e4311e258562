"""Geometry to mask rasterisation and image file reading, both through rasterio (GDAL) so no format is hand-parsed."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import rasterize
from rasterio.transform import Affine
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from ..imagery import to_rgb8
from .sample import DataFormatError


def geometry_mask(geometry: BaseGeometry, shape: tuple[int, int], transform: Affine | None = None) -> np.ndarray:
    """Bool mask of the pixels whose centres fall inside ``geometry``.

    Without ``transform`` the geometry is in pixel coordinates (x = column, y = row, origin at the top-left corner
    of the top-left pixel). Only the geometry's bounding window is rasterised, so many small objects on a large
    canvas stay cheap.
    """
    height, width = shape
    mask = np.zeros((height, width), dtype=bool)
    if geometry.is_empty:
        return mask
    if transform is not None:
        return rasterize([(geometry, 1)], out_shape=(height, width), transform=transform, fill=0, dtype="uint8") > 0
    minx, miny, maxx, maxy = geometry.bounds
    c0, r0 = max(0, math.floor(minx)), max(0, math.floor(miny))
    c1, r1 = min(width, math.ceil(maxx) + 1), min(height, math.ceil(maxy) + 1)
    if c0 >= c1 or r0 >= r1:
        return mask
    window = rasterize(
        [(geometry, 1)], out_shape=(r1 - r0, c1 - c0), transform=Affine.translation(c0, r0), fill=0, dtype="uint8"
    )
    mask[r0:r1, c0:c1] = window > 0
    return mask


def polygons_mask(polygons: Sequence[Sequence[Sequence[float]]], shape: tuple[int, int]) -> np.ndarray:
    """Union of filled pixel-coordinate polygons (each a list of [x, y] vertices) as one bool mask."""
    mask = np.zeros(shape, dtype=bool)
    for points in polygons:
        coords = np.asarray(points, dtype=float)
        if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) < 3:
            raise DataFormatError(f"a polygon needs at least three [x, y] vertices, got shape {coords.shape}")
        # Vertex coordinates are pixel indices (centres), so shift by half a pixel to the rasteriser's corner origin.
        ring = coords + 0.5
        mask |= geometry_mask(Polygon(ring).buffer(0), shape)
        # Like a contour fill, the outline pixels belong to the object too (thin shapes would vanish otherwise).
        mask |= geometry_mask(LineString(np.vstack([ring, ring[:1]])), shape)
    return mask


def read_image_file(path: str | Path) -> np.ndarray:
    """Any image GDAL reads (PNG, JPEG, GeoTIFF...) as uint8 (H, W, 3)."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"image file not found: {path}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            pixels = src.read()
            alpha = any(ci.name == "alpha" for ci in src.colorinterp)
    rgb, _ = to_rgb8(pixels, alpha=alpha if pixels.shape[0] in (2, 4) else None)
    return rgb


def union(masks: Iterable[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    for mask in masks:
        out |= mask
    return out
