"""Masks to polygons: one valid shapely polygon per connected instance, holes kept.

Everything here takes numpy arrays and an affine transform, never a file, so the QGIS plugin can use it on pixels it
reads through QGIS. Polygons are traced in pixel space (where simplification tolerances and minimum areas are in
pixels, whatever the ground resolution) and only then mapped through the transform.
"""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, shape

from .regions import region_labels, region_outlines, traced_regions


def mask_to_polygons(
    mask: np.ndarray,
    transform: Affine | None = None,
    *,
    simplify_px: float = 0.0,
    min_area_px: float = 0.0,
) -> list[Polygon]:
    """Trace each region of a bool ``(H, W)`` mask (:mod:`.regions`: 4-connected) as a polygon with its holes.

    ``transform`` maps pixel (col, row) to output coordinates (a window's ``rasterio`` transform for map
    coordinates; None keeps pixel coordinates). ``simplify_px`` is the Douglas-Peucker tolerance in pixels (0 keeps
    the exact pixel outline); regions smaller than ``min_area_px`` pixels are dropped.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D, got shape {mask.shape}")
    polygons = []
    for geojson in region_outlines(mask):
        polygon = shape(geojson)
        if polygon.area < min_area_px:
            continue
        polygons.extend(_polish(polygon, simplify_px))
    if transform is not None and not transform.is_identity:
        polygons = [apply_transform(p, transform) for p in polygons]
    return polygons


def scored_polygons(
    mask: np.ndarray, probability: np.ndarray, transform: Affine | None = None
) -> list[tuple[Polygon, float]]:
    """Each 4-connected region of ``mask`` as in :func:`mask_to_polygons`, with the mean ``probability`` of its
    pixels: a confidence per object where the model gives one score per mask."""
    labels, outlines = traced_regions(mask)
    means = _region_means(labels, len(outlines), probability)
    scored = []
    for label, geojson in enumerate(outlines, start=1):
        for polygon in _polish(shape(geojson), 0.0):
            if transform is not None and not transform.is_identity:
                polygon = apply_transform(polygon, transform)
            scored.append((polygon, float(means[label])))
    return scored


def _region_means(labels: np.ndarray, count: int, probability: np.ndarray) -> np.ndarray:
    weights = np.asarray(probability, dtype=np.float64).ravel()
    sums = np.bincount(labels.ravel(), weights=weights, minlength=count + 1)
    return sums / np.maximum(np.bincount(labels.ravel(), minlength=count + 1), 1)


def drop_weak_regions(mask: np.ndarray, probability: np.ndarray, min_score: float) -> np.ndarray:
    """``mask`` without the 4-connected regions whose mean ``probability`` is below ``min_score``.

    A region's mean probability separates confident objects from the faint specks a small model leaves around
    them, which a per-mask score (one per [SEG]) cannot do.
    """
    if min_score <= 0:
        return mask
    labels, count = region_labels(mask)
    if count == 0:
        return mask
    keep = _region_means(labels, count, probability) >= min_score
    keep[0] = False
    return keep[labels]


def apply_transform(geometry: shapely.Geometry, transform: Affine) -> shapely.Geometry:
    """Map a geometry from pixel to map coordinates with a rasterio/affine transform."""
    return affinity.affine_transform(
        geometry, [transform.a, transform.b, transform.d, transform.e, transform.c, transform.f]
    )


def simplify_polygonal(geometry: shapely.Geometry, tolerance: float) -> list[Polygon]:
    """Simplify a (multi)polygon and return its valid polygon parts (simplification may split or empty it)."""
    return _polish(geometry, tolerance)


def polygonal_parts(geometry: shapely.Geometry) -> list[Polygon]:
    """The non-empty polygons of any geometry, repaired when invalid; lines and points are dropped."""
    if geometry.is_empty:
        return []
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    if isinstance(geometry, Polygon):
        return [geometry]
    if isinstance(geometry, MultiPolygon):
        return [g for g in geometry.geoms if not g.is_empty]
    if hasattr(geometry, "geoms"):
        return [p for g in geometry.geoms for p in polygonal_parts(g)]
    return []


def _polish(geometry: shapely.Geometry, tolerance: float) -> list[Polygon]:
    if tolerance > 0:
        geometry = geometry.simplify(tolerance, preserve_topology=True)
    return [p for p in polygonal_parts(geometry) if p.area > 0]
