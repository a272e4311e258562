"""Masks to polygons: one valid shapely polygon per connected instance, holes kept.

Everything here takes numpy arrays and an affine transform, never a file, so the QGIS plugin can use it on pixels it
reads through QGIS. Polygons are traced in pixel space (where simplification tolerances and minimum areas are in
pixels, whatever the ground resolution) and only then mapped through the transform.
"""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine
from rasterio import features
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, shape


def mask_to_polygons(
    mask: np.ndarray,
    transform: Affine | None = None,
    *,
    simplify_px: float = 0.0,
    min_area_px: float = 0.0,
) -> list[Polygon]:
    """Trace each 4-connected region of a bool ``(H, W)`` mask as a polygon with its holes.

    ``transform`` maps pixel (col, row) to output coordinates (a window's ``rasterio`` transform for map
    coordinates; None keeps pixel coordinates). ``simplify_px`` is the Douglas-Peucker tolerance in pixels (0 keeps
    the exact pixel outline); regions smaller than ``min_area_px`` pixels are dropped.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be 2-D, got shape {mask.shape}")
    mask = mask.astype(bool, copy=False)
    if not mask.any():
        return []
    polygons = []
    # connectivity 4: diagonal neighbours are separate regions, so every ring is simple and the polygon is valid.
    for geojson, _ in features.shapes(mask.view(np.uint8), mask=mask, connectivity=4):
        polygon = shape(geojson)
        if polygon.area < min_area_px:
            continue
        polygons.extend(_polish(polygon, simplify_px))
    if transform is not None and not transform.is_identity:
        polygons = [apply_transform(p, transform) for p in polygons]
    return polygons


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
