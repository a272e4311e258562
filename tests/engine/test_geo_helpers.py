"""Shared pieces of the geo tests: synthetic georeferenced rasters and a deterministic model double.

The double answers every instruction by thresholding the image: bright pixels are "disc". It exists only to test the
geo logic (windows, tiles, merge, polygons, measures); it is not a feature of the engine.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning
from shapely import affinity
from shapely.geometry import Point

from engine.types import Reply, Segment

UTM = "EPSG:32616"
WGS84 = "EPSG:4326"
UTM_ORIGIN = (500_000.0, 3_700_000.0)


class ThresholdDouble:
    """Segments pixels brighter than ``threshold`` (mean of R, G, B) as one mask per phrase; records what it saw."""

    name = "threshold-double"

    def __init__(self, threshold: int = 128, phrase: str = "disc") -> None:
        self.threshold = threshold
        self.phrase = phrase
        self.shapes: list[tuple[int, ...]] = []

    def chat(self, image: np.ndarray, conversation: str) -> Reply:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        self.shapes.append(image.shape)
        mask = image.mean(axis=2) > self.threshold
        segments = [Segment(self.phrase, mask, score=0.9)] if mask.any() else []
        return Reply(text=f"Found {self.phrase}s.", segments=segments, raw_text="")


def disc_mask(height: int, width: int, discs: list[tuple[float, float, float]]) -> np.ndarray:
    """Pixels whose centres lie inside any disc (cx, cy, r) given in pixel coordinates."""
    rows, cols = np.mgrid[0:height, 0:width]
    mask = np.zeros((height, width), dtype=bool)
    for cx, cy, r in discs:
        mask |= (cols + 0.5 - cx) ** 2 + (rows + 0.5 - cy) ** 2 <= r * r
    return mask


def disc_image(
    height: int,
    width: int,
    discs: list[tuple[float, float, float]],
    *,
    bands: int = 3,
    dtype: str = "uint8",
    low: float = 30,
    high: float = 220,
) -> np.ndarray:
    """(bands, H, W) image: ``high`` inside the discs, ``low`` elsewhere."""
    mask = disc_mask(height, width, discs)
    band = np.where(mask, high, low).astype(dtype)
    return np.repeat(band[np.newaxis], bands, axis=0)


def utm_transform(resolution: float = 0.5) -> Affine:
    return Affine(resolution, 0, UTM_ORIGIN[0], 0, -resolution, UTM_ORIGIN[1])


def wgs84_transform(resolution_deg: float = 5e-6, origin: tuple[float, float] = (-84.4, 33.75)) -> Affine:
    return Affine(resolution_deg, 0, origin[0], 0, -resolution_deg, origin[1])


def write_raster(
    path: Path,
    array: np.ndarray,
    *,
    crs: str | None = UTM,
    transform: Affine | None = None,
    nodata: float | None = None,
    **profile,
) -> Path:
    """Write a (bands, H, W) array as a GeoTIFF."""
    if array.ndim == 2:
        array = array[np.newaxis]
    count, height, width = array.shape
    kwargs = dict(
        driver="GTiff",
        width=width,
        height=height,
        count=count,
        dtype=array.dtype,
        crs=crs,
        nodata=nodata,
    )
    if transform is not None or crs is not None:  # a raster without CRS gets no geotransform at all
        kwargs["transform"] = transform if transform is not None else utm_transform()
    kwargs.update(profile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # rasters without CRS are written on purpose
        with rasterio.open(path, "w", **kwargs) as dst:
            dst.write(array)
    return path


def world_disc(transform: Affine, cx: float, cy: float, r: float) -> shapely.Geometry:
    """The analytic disc (pixel centre and radius) in map coordinates, for IoU with the traced polygons."""
    circle = Point(cx, cy).buffer(r, quad_segs=64)
    return affinity.affine_transform(
        circle, [transform.a, transform.b, transform.d, transform.e, transform.c, transform.f]
    )


def iou(a: shapely.Geometry, b: shapely.Geometry) -> float:
    return a.intersection(b).area / a.union(b).area
